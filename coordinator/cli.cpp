// Subcommand implementations (see cli.hpp).
#include "coordinator/cli.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <new>
#include <optional>
#include <iostream>
#include <memory>
#include <sstream>

#include "common/checkpoint.hpp"
#include "common/csv.hpp"
#include "common/error.hpp"
#include "common/grid.hpp"
#include "common/idx.hpp"
#include "common/io.hpp"
#include "common/load_data.hpp"
#include "coordinator/memory_plan.hpp"
#include "coordinator/mpi_cleanup.hpp"
#include "coordinator/run_output.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/trainer.hpp"
#include "coordinator/watchdog.hpp"
#ifdef RADMM_MPI
#include "common/mpi_comm.hpp"
#include "coordinator/mpi_launch.hpp"
#endif

namespace po = boost::program_options;

namespace radmm {

/// True for a live process; a zombie (dead, not yet reaped by its parent) counts as gone.
static bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;  // no /proc: trust kill()
  const auto paren = text.rfind(')');         // the command name may hold spaces and parentheses
  return !(paren != std::string::npos && paren + 2 < text.size() && (text[paren + 2] == 'Z' || text[paren + 2] == 'X'));
}

int sweep_stale_ipc(bool verbose) {
  const std::string mine = "radmm_" + std::to_string(::getuid()) + "_";
  DIR* dir = ::opendir("/dev/shm");
  if (!dir) return 0;
  int removed = 0;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind(mine, 0) != 0) continue;
    const long pid = std::atol(name.c_str() + mine.size());
    if (pid > 0 && process_alive(static_cast<pid_t>(pid))) continue;
    if (::unlink(("/dev/shm/" + name).c_str()) == 0) {
      ++removed;
      if (verbose) std::printf("removed /dev/shm/%s (coordinator %ld is gone)\n", name.c_str(), pid);
    }
  }
  ::closedir(dir);
  return removed;
}

int run_cleanup(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("usage: radmm cleanup\n\nRemoves /dev/shm objects left by this user's radmm runs whose coordinator "
                "process no longer exists (e.g. after kill -9), and Open MPI segments (/dev/shm/vader_segment.*) of this user that no live process "
                "maps and mpirun session folders ($TMPDIR/ompi.*/pid.N) whose mpirun is gone (both left when mpirun itself was "
                "killed). Live runs are not touched.\n");
    return 0;
  }
  if (!args.empty()) throw Error(ExitCode::kUsage, "unexpected argument '" + args[0] + "'", "radmm cleanup", "");
  const int n = sweep_stale_ipc(true) + sweep_stale_vader_segments(true) + sweep_stale_mpirun_sessions(true);
  std::printf("radmm cleanup: %d stale object%s removed\n", n, n == 1 ? "" : "s");
  return 0;
}

int run_train(const std::vector<std::string>& args) {
  ParsedCommand cmd = parse_train_command(args);
  if (cmd.help) {
    std::cout << cmd.help_text << "\nSettings can also come from --config FILE (INI: key = value per line).\n"
              << "Exit codes: 0 ok, 3 diverged, 4 worker failed, 5 phase deadline, 64 usage, 65 bad data,\n"
              << "66 missing input, 70 internal, 71 OS/IPC, 73 output not creatable, 74 write error,\n"
              << "129/130/143 SIGHUP/SIGINT/SIGTERM (after a checkpoint).\n";
    return 0;
  }
#ifdef RADMM_MPI
  if (cmd.settings.transport == "mpi" && !mpi::world()) return run_train_over_mpi(args);
#endif
  // The transport and the MPI worker count come from this command line, never from a checkpoint.
  const std::string transport = cmd.settings.transport;
  const int asked_workers = cmd.settings.workers;
  // Resume: the checkpoint's settings, overridden by what the command line says explicitly;
  // only settings that leave the iterates unchanged may differ.
  std::unique_ptr<Checkpoint> resume;
  std::string resume_path;
  std::optional<RunFolder> folder;  // locked from here to the end of the run
  if (!cmd.settings.resume.empty()) {
    const std::string dir = cmd.settings.resume;
    folder.emplace(RunFolder::open_existing(dir));
    resume = std::make_unique<Checkpoint>(load_latest_checkpoint(*folder, &resume_path));
    const Settings stored = parse_train_command({}, resume->settings_ini).settings;
    cmd = parse_train_command(args, resume->settings_ini);
    cmd.settings.out = dir;
    // Another --workers without a --grid: the checkpoint's grid no longer applies (the iterates
    // do not depend on it), so choose again.
    auto given = [&](const std::string& opt) {
      return std::any_of(args.begin(), args.end(), [&](const std::string& a) { return a == opt || a.rfind(opt + "=", 0) == 0; });
    };
    if (given("--workers") && !given("--grid")) cmd.settings.grid = "auto";
    if (const std::string key = first_math_difference(cmd.settings, stored); !key.empty())
      throw Error(ExitCode::kUsage, "--" + key + " differs from the checkpoint's settings", "--resume " + dir,
                  "a resumed run keeps its settings; start a new run to change --" + key);
  }
  cmd.settings.transport = transport;
#ifdef RADMM_MPI
  if (mpi::world()) adopt_mpi_world(cmd.settings, asked_workers);
#else
  (void)asked_workers;
#endif
  const Settings& s = cmd.settings;
  s.validate();
  if (cmd.print_config) {
    write_stdout(settings_to_ini(s));
    return 0;
  }
  // Validate everything before any allocation, fork or output.
  const Dataset ds = load_dataset(s);
  const Grid grid = resolve_grid(s, dims_of(s, ds));  // exit 64 now if the samples cannot fill it
  const int workers_used = s.resolved_workers() > 0 ? grid.workers() : 0;
  check_memory(s, ds);  // before the run folder, the state and the fork
  if (resume && resume->fingerprint != ds.fingerprint)
    throw Error(ExitCode::kDataErr, "the checkpoint was made with other data or another split", resume_path,
                "resume with the data of the original run");
  if (resume && resume->iteration > s.iterations)
    throw Error(ExitCode::kUsage, "the checkpoint is at iteration " + std::to_string(resume->iteration) +
                " but --iterations is " + std::to_string(s.iterations), "--iterations", "raise --iterations");
  install_signal_handlers();
  sweep_stale_ipc(false);
  if (!folder) folder.emplace(RunFolder::create(RunOutput::folder_for(s)));
  RunOutput out(std::move(*folder), s.classification(), resume ? resume->iteration : -1);
  std::printf("radmm: run folder %s\n", out.dir().c_str());
  if (resume)
    std::printf("radmm: resuming from %s (iteration %lld, phase %d)\n", resume_path.c_str(),
                static_cast<long long>(resume->iteration), resume->next_phase);
  std::printf("radmm: %s, %lld train / %lld validation / %lld test rows (%s split, %zu duplicate rows), %lld features; "
              "depth %d, width %d, %s schedule, %d worker%s%s\n",
              s.data.c_str(), static_cast<long long>(ds.x_train.cols()), static_cast<long long>(ds.x_val.cols()),
              static_cast<long long>(ds.x_test.cols()),
              ds.split_name.c_str(), ds.duplicate_rows, static_cast<long long>(ds.x_train.rows()), s.depth, s.width, s.schedule.c_str(),
              workers_used, workers_used == 1 ? "" : "s",
              workers_used > 0 ? (" (grid " + grid.text() + ": layer regions x sample shards)").c_str() : "");
  std::fflush(stdout);
  Progress progress(s.iterations, s.quiet);
  progress.set_classification(ds.classes > 0);
  // The watchdog reports through this when the main thread is blocked for good.
  set_failure_reporter([&out](const Error& e) { out.write_failure(e); });
  struct Unset {
    ~Unset() { set_failure_reporter(nullptr); }
  } unset;
  try {
    TrainHooks hooks;
    hooks.on_iteration = [&](const IterationRecord& r) {
      out.write_metrics(r);
      progress.update(r);
    };
    hooks.save_checkpoint = [&](const Checkpoint& c) { return write_checkpoint(out.folder(), c); };
    hooks.warn = [&](const std::string& text) {
      progress.finish();
      std::fprintf(stderr, "radmm: warning: %s\n", text.c_str());
    };
    TrainResult res = train(s, ds, hooks, resume.get());
    progress.finish();
    out.write_model(res.model);
    out.write_summary(s, ds, res);
    out.write_plot();
    double admm_s = 0;
    for (const auto& h : res.history) admm_s += h.admm_s;
    const std::size_t done = res.history.size();
    if (s.backprop())
      std::printf("radmm: done: %d epochs of %s in %.2f s (%.4f s/epoch), mean training objective %.6g\n",
                  res.iterations, s.method.c_str(), res.elapsed_s, done ? admm_s / static_cast<double>(done) : 0.0,
                  res.lagrangian);
    else
      std::printf("radmm: done: %d iterations in %.2f s (%.4f s/iteration of %s), L_beta %.6g\n", res.iterations,
                  res.elapsed_s, done ? admm_s / static_cast<double>(done) : 0.0, s.method == "bcd" ? "BCD" : "ADMM",
                  res.lagrangian);
    if (res.selected_iteration > 0) {
      char chosen_by[96];  // classification selects on the validation loss (trainer.cpp evaluate)
      if (ds.classes > 0)
        std::snprintf(chosen_by, sizeof chosen_by, "validation loss %.4f, accuracy %.4f", res.val_loss, res.val_accuracy);
      else
        std::snprintf(chosen_by, sizeof chosen_by, "validation MSE %.4f", res.val_mse);
      std::printf("radmm: model of %s %d of %d, chosen on %lld validation rows (%s)%s\n",
                  s.backprop() ? "epoch" : "iteration", res.selected_iteration, res.iterations,
                  static_cast<long long>(ds.x_val.cols()), chosen_by,
                  res.termination == "early_stop" ? "; stopped early (--patience)" : "");
    }
    if (ds.classes > 0) {
      std::printf("radmm: test accuracy %.4f, train accuracy %.4f (%d classes, %s loss)%s\n", res.test_accuracy,
                  res.train_accuracy, ds.classes, s.loss.c_str(), s.refit_head ? "; head refit on forward features" : "");
      if (s.refit_head)
        std::printf("radmm: before the refit: test accuracy %.4f, train accuracy %.4f\n", res.admm_test_accuracy,
                    res.admm_train_accuracy);
    } else {
      std::printf("radmm: test MSE %.4f, train MSE %.4f (%s units squared)%s\n", res.test_mse, res.train_mse,
                  ds.target_name.c_str(), s.refit_head ? "; head refit on forward features" : "");
    }
    if (s.refit_head && ds.classes == 0)
      std::printf("radmm: before the refit: test MSE %.4f, train MSE %.4f\n", res.admm_test_mse, res.admm_train_mse);
    if (s.diagnostics && !s.backprop()) {
      const DiagnosticsSummary& d = res.diagnostics;
      std::string a;
      for (double x : d.decrease_constants) {
        char buf[32];
        std::snprintf(buf, sizeof buf, std::isnan(x) ? " -" : " %.3g", x);
        a += buf;
      }
      std::printf("radmm: diagnostics: %d L_beta increases, %d re-projections; decrease constants a1..a4%s; tail %s",
                  d.violations, d.restarts, a.c_str(), d.rate.kind.c_str());
      if (d.rate.kind == "geometric") std::printf(" (q = %.4g per iteration)", d.rate.q);
      if (d.rate.kind == "power-law" && d.rate.p > 0)
        std::printf(" (L - L* ~ k^-%.3g, KL exponent %.3g)", d.rate.p, d.rate.kl_exponent);
      else if (d.rate.kind == "power-law")
        std::printf(" (decreases ~ k^%.3g, not summable: still far from a limit)", -(d.rate.p + 1));
      std::printf("\n");
    }

    std::printf("radmm: wrote %s/{metrics.csv,summary.json,model.bin,convergence.svg}\n", out.dir().c_str());
    return 0;
  } catch (const Error& e) {
    progress.finish();
    out.write_failure(e);
    throw;
  } catch (const std::bad_alloc&) {
    progress.finish();
    Error err = out_of_memory_error(s, ds);
    out.write_failure(err);
    throw err;
  } catch (const std::exception& e) {
    progress.finish();
    Error err(ExitCode::kSoftware, std::string("internal error: ") + e.what(), "training", "please report this");
    out.write_failure(err);
    throw err;
  }
}

int run_predict(const std::vector<std::string>& args) {
  std::string model_path, data_path, out_path = "-", target;
  bool help = false;
  po::options_description opts("radmm predict options");
  opts.add_options()("help,h", po::bool_switch(&help), "print this help and exit")(
      "model", po::value(&model_path)->value_name("FILE"), "model.bin written by radmm train")(
      "data", po::value(&data_path)->value_name("FILE"), "CSV with the training features (and optionally the target or class label), or an IDX source "
      "(fashion-mnist, fashion-mnist:DIR, mnist:DIR: its official test files)")(
      "target", po::value(&target)->value_name("COL"),
      "target column when the file has one more column than the model's inputs (default: last)")(
      "out", po::value(&out_path)->default_value("-")->value_name("FILE"), "predictions CSV ('-' = stdout)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, e.what(), "command line", "see radmm predict --help");
  }
  if (help) {
    std::cout << "usage: radmm predict --model FILE --data FILE [--out FILE]\n\n" << opts;
    return 0;
  }
  if (model_path.empty()) throw Error(ExitCode::kUsage, "--model is required", "command line", "");
  if (data_path.empty()) throw Error(ExitCode::kUsage, "--data is required", "command line", "");
  const Model m = load_model(model_path);
  const auto d0 = static_cast<std::size_t>(m.x_scaler.mean.size());
  Mat x, y;
  if (is_idx_source(data_path)) {  // the official test files of an IDX source, with their labels
    const std::vector<std::string> f = idx_source_files(data_path);
    const IdxPair p = read_idx_pair(f[2], f[3]);
    if (p.images.record_size() != d0)
      throw Error(ExitCode::kDataErr,
                  "the model takes " + std::to_string(d0) + " features but the images have " +
                      std::to_string(p.images.record_size()) + " pixels",
                  f[2], "predict with the data set the model was trained on");
    x.resize(static_cast<Eigen::Index>(d0), static_cast<Eigen::Index>(p.images.records()));
    for (Eigen::Index j = 0; j < x.cols(); ++j)
      for (Eigen::Index r = 0; r < x.rows(); ++r) x(r, j) = p.images.values[static_cast<std::size_t>(j * x.rows() + r)];
    y.resize(1, x.cols());
    for (Eigen::Index j = 0; j < x.cols(); ++j) y(0, j) = p.labels.values[static_cast<std::size_t>(j)];
  } else {
    const Table t = read_csv(data_path);
    if (t.cols() == d0 + 1) {
      const std::size_t tc = resolve_target(t, target);
      x = features_of(t, tc);
      y.resize(1, static_cast<Eigen::Index>(t.rows()));
      for (std::size_t r = 0; r < t.rows(); ++r) y(0, static_cast<Eigen::Index>(r)) = t.at(r, tc);
    } else if (t.cols() == d0) {
      x = features_of(t, t.cols());  // no target column
    } else {
      throw Error(ExitCode::kDataErr,
                  "the model takes " + std::to_string(d0) + " features but the file has " + std::to_string(t.cols()) +
                      " columns",
                  data_path, "pass the features (and optionally the target) in training order");
    }
  }
  const Mat pred = m.predict(x);
  std::ostringstream o;
  const bool classes = m.loss != Loss::kSquared;
  const auto k = pred.rows();
  if (classes) {  // the predicted class, the softmax probabilities, the true label
    const std::vector<int> cls = argmax_columns(pred);
    const Mat prob = m.loss == Loss::kSoftmax ? softmax_columns(pred) : Mat();
    o << "class";
    for (Eigen::Index c = 0; c < prob.rows(); ++c) o << ",p" << c;
    o << (y.size() ? ",label\n" : "\n");
    std::size_t hits = 0;
    for (Eigen::Index r = 0; r < pred.cols(); ++r) {
      o << cls[static_cast<std::size_t>(r)];
      for (Eigen::Index c = 0; c < prob.rows(); ++c) o << ',' << format_double(prob(c, r));
      if (y.size()) {
        o << ',' << format_double(y(0, r));
        hits += cls[static_cast<std::size_t>(r)] == y(0, r);
      }
      o << '\n';
    }
    if (out_path == "-") std::cout << o.str();
    else write_file_atomic(out_path, o.str());
    if (y.size())
      std::fprintf(out_path == "-" ? stderr : stdout, "radmm: %lld rows, accuracy %.6g (%lld classes)\n",
                   static_cast<long long>(pred.cols()), static_cast<double>(hits) / static_cast<double>(pred.cols()),
                   static_cast<long long>(k));
    return 0;
  }
  o << (y.size() ? "prediction,target\n" : "prediction\n");
  for (Eigen::Index r = 0; r < pred.cols(); ++r) {
    o << format_double(pred(0, r));
    if (y.size()) o << ',' << format_double(y(0, r));
    o << '\n';
  }
  if (out_path == "-") write_stdout(o.str());
  else write_file_atomic(out_path, o.str());
  if (y.size()) {
    const double mse = (pred - y).squaredNorm() / static_cast<double>(y.size());
    std::fprintf(out_path == "-" ? stderr : stdout, "radmm: %lld rows, MSE %.6g\n", static_cast<long long>(pred.cols()), mse);
  }
  return 0;
}

int run_split(const std::vector<std::string>& args) {
  const ParsedCommand cmd = parse_train_command(args);
  if (cmd.help) {
    std::cout << "usage: radmm split [train options]\n\nPrints the train / validation / test split radmm train would "
                 "use with the same --data, --target, --test-fraction, --validation-fraction, --seed and --split, as "
                 "CSV: row (1-based data row, file line = row + 1), set (train | validation | test), copy_in_train (1 "
                 "when a test or validation row's features equal a training row's).\n";
    return 0;
  }
  cmd.settings.validate();
  const Table t = read_csv(cmd.settings.data);
  const Settings& st = cmd.settings;
  const Mat x = features_of(t, resolve_target(t, st.target));
  Split sp = split_rows(x, st.test_fraction, st.seed, st.grouped_split());
  split_validation(sp, x, st.validation_fraction, st.seed, st.grouped_split());
  std::vector<bool> group_in_train(t.rows(), false);
  for (std::size_t r : sp.train) group_in_train[sp.copy_of[r]] = true;
  std::vector<const char*> side(t.rows(), "train");
  for (std::size_t r : sp.test) side[r] = "test";
  for (std::size_t r : sp.validation) side[r] = "validation";
  std::ostringstream o;
  o << "row,set,copy_in_train\n";
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const bool held_out = side[r][1] != 'r';  // test or validation
    o << r + 1 << ',' << side[r] << ',' << (held_out && group_in_train[sp.copy_of[r]] ? 1 : 0) << '\n';
  }
  write_stdout(o.str());
  return 0;
}

}  // namespace radmm
