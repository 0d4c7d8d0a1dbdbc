// Run folder outputs and progress reporting (see run_output.hpp).
#include "coordinator/run_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <sstream>

#include "common/backprop.hpp"
#include "common/io.hpp"
#include "common/isa.hpp"
#include "common/plot.hpp"
#include "coordinator/plot_runs.hpp"

namespace radmm {

namespace {
std::string mse_text(double v) { return v < 0 ? "" : format_double(v); }
std::string json_num(double v) { return format_double(v, true); }
}  // namespace

std::string RunOutput::metrics_header(bool classification) {
  std::string h = "iter,elapsed_s,lagrangian,train_mse,val_mse,constraint_residual,relaxed_mse,admm_s,"
                  "phase_w_s,phase_v_even_s,phase_v_odd_s,phase_u_s,overhead_w_s,overhead_v_even_s,overhead_v_odd_s,"
                  "overhead_u_s,step_sq,decrease,relaxation_gap,restart";
  // Classification runs only: regression files keep their columns, every one of them filled.
  return h + (classification ? ",train_accuracy,val_accuracy,train_loss,val_loss\n" : "\n");
}

std::string RunOutput::folder_for(const Settings& s) {
  if (!s.out.empty()) return s.out;
  std::string dir = "runs/" + timestamp_utc();
  // Two runs in the same second get distinct folders.
  for (int k = 2; ::access(dir.c_str(), F_OK) == 0; ++k) dir = "runs/" + timestamp_utc() + "-" + std::to_string(k);
  return dir;
}

RunOutput::RunOutput(RunFolder folder, bool classification, std::int64_t resumed_iteration)
    : folder_(std::move(folder)), classification_(classification) {
  const std::string path = dir() + "/metrics.csv";
  std::string kept = metrics_header(classification_);
  struct stat st {};
  if (resumed_iteration >= 0 && ::fstatat(folder_.fd(), "metrics.csv", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    // Keep complete rows up to the checkpoint; rows after it will be written again.
    std::istringstream in(read_file_at(folder_.fd(), "metrics.csv", path));
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line) && in.good()) {
      if (std::atoll(line.c_str()) > resumed_iteration) break;
      kept += line + "\n";
    }
  }
  ::unlinkat(folder_.fd(), "failure.json", 0);  // from the interrupted attempt
  write_file_at(folder_.fd(), "metrics.csv", kept, kOutputMode, path);
  metrics_fd_ = ::openat(folder_.fd(), "metrics.csv", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (metrics_fd_ < 0)
    throw Error(ExitCode::kCantCreate, std::string("cannot open metrics file: ") + std::strerror(errno), path,
                "choose a writable --out");
  metrics_size_ = static_cast<off_t>(kept.size());
}

RunOutput::~RunOutput() {
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
}

void RunOutput::write_metrics(const IterationRecord& r) {
  std::ostringstream o;
  o << r.iter << ',' << format_double(r.elapsed_s) << ',' << format_double(r.lagrangian) << ','
    << mse_text(r.train_mse) << ',' << mse_text(r.val_mse) << ',' << format_double(r.constraint_residual) << ','
    << format_double(r.relaxed_mse) << ',' << format_double(r.admm_s);
  for (double p : r.phase_s) o << ',' << format_double(p);
  for (double p : r.phase_overhead_s) o << ',' << format_double(p);
  o << ',' << mse_text(r.step_sq) << ',' << (r.step_sq < 0 ? "" : format_double(r.decrease)) << ','
    << mse_text(r.relaxation_gap) << ',' << (r.restart ? 1 : 0);
  if (classification_)
    o << ',' << mse_text(r.train_accuracy) << ',' << mse_text(r.val_accuracy) << ',' << mse_text(r.train_loss) << ','
      << mse_text(r.val_loss);
  o << '\n';
  const std::string line = o.str();
  // One write per line; should it fail part-way, the partial row is cut off again, so the
  // file stays a valid prefix of complete rows whatever happens next.
  std::size_t done = 0;
  while (done < line.size()) {
    errno = 0;
    const ssize_t w = ::write(metrics_fd_, line.data() + done, line.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = errno ? errno : ENOSPC;  // a short write sets no errno; the retry tells why
      if (done > 0) {
        const int cut = ::ftruncate(metrics_fd_, metrics_size_);  // best effort: the error below is the news
        (void)cut;
      }
      throw Error(ExitCode::kIoErr, std::string("write failed: ") + std::strerror(e), dir() + "/metrics.csv",
                  "check free space; the file keeps its complete rows");
    }
    done += static_cast<std::size_t>(w);
  }
  metrics_size_ += static_cast<off_t>(line.size());
}

void RunOutput::write_summary(const Settings& s, const Dataset& ds, const TrainResult& r) {
  std::ostringstream o;
  o << "{\n  \"run_id\": \"" << run_id_text(folder_.run_id()) << "\",\n"
    << "  \"termination\": \"" << json_escape(r.termination) << "\",\n"
    << "  \"isa\": \"" << compiled_isa() << "\",\n"
    << "  \"iterations\": " << r.iterations << ",\n"
    << "  \"train_mse\": " << json_num(r.train_mse) << ",\n"
    << "  \"val_mse\": " << json_num(r.val_mse) << ",\n"
    << "  \"test_mse\": " << json_num(r.test_mse) << ",\n"
    << "  \"selected_iteration\": " << r.selected_iteration << ",\n"
    << "  \"admm_train_mse\": " << json_num(r.admm_train_mse) << ",\n"
    << "  \"admm_test_mse\": " << json_num(r.admm_test_mse) << ",\n"
    << "  \"lagrangian\": " << json_num(r.lagrangian) << ",\n"
    << "  \"constraint_residual\": " << json_num(r.constraint_residual) << ",\n"
    << "  \"relaxed_mse\": " << json_num(r.relaxed_mse) << ",\n"
    << "  \"elapsed_s\": " << json_num(r.elapsed_s) << ",\n";
  if (ds.classes > 0) {
    // Classification: accuracy after / before the head refit, mean loss, test confusion matrix.
    o << "  \"classification\": {\"loss\": \"" << s.loss << "\", \"classes\": " << ds.classes
      << ", \"train_accuracy\": " << json_num(r.train_accuracy) << ", \"test_accuracy\": " << json_num(r.test_accuracy)
      << ", \"admm_train_accuracy\": " << json_num(r.admm_train_accuracy)
      << ", \"admm_test_accuracy\": " << json_num(r.admm_test_accuracy) << ", \"train_loss\": " << json_num(r.train_loss)
      << ", \"test_loss\": " << json_num(r.test_loss) << ", \"val_accuracy\": " << (r.val_accuracy < 0 ? "null" : json_num(r.val_accuracy))
      << ", \"val_loss\": " << (r.val_loss < 0 ? "null" : json_num(r.val_loss)) << ",\n    \"confusion_test\": [";
    for (Eigen::Index i = 0; i < r.confusion.rows(); ++i) {
      o << (i ? ",\n      [" : "\n      [");
      for (Eigen::Index j = 0; j < r.confusion.cols(); ++j) o << (j ? ", " : "") << r.confusion(i, j);
      o << "]";
    }
    o << "]},\n";
  }
  double admm_s = 0;
  for (const auto& h : r.history) admm_s += h.admm_s;
  o << "  \"seconds_per_iteration\": " << json_num(r.iterations ? admm_s / r.iterations : 0) << ",\n"
    << "  \"workers\": " << r.workers << ",\n"
    << "  \"grid\": {\"text\": \"" << (r.grid.empty() ? "in-process" : r.grid) << "\", \"chunk_columns\": " << s.chunk_columns
    << ", \"reduction_bytes\": " << r.reduction_bytes << "},\n";
  // Per phase: coordinator wall time summed over the run, and the median over iterations of
  // wall time minus the slowest worker's compute (post go, wake-ups, post done), in microseconds.
  o << "  \"phases\": {";
  for (int p = 0; p < kPhaseCount; ++p) {
    double wall = 0;
    std::vector<double> overhead;
    for (const auto& h : r.history) {
      wall += h.phase_s[p];
      overhead.push_back(h.phase_overhead_s[p] * 1e6);
    }
    std::sort(overhead.begin(), overhead.end());
    const double median = overhead.empty() ? 0 : overhead[overhead.size() / 2];
    o << (p ? ", " : "") << '"' << phase_name(static_cast<Phase>(p)) << "\": {\"wall_s\": " << json_num(wall)
      << ", \"overhead_us_median\": " << json_num(median) << "}";
  }
  o << "},\n";
  if (s.diagnostics && !s.backprop()) {
    const DiagnosticsSummary& d = r.diagnostics;
    const RateFit& f = d.rate;
    o << "  \"diagnostics\": {\"violations\": " << d.violations << ", \"restarts\": " << d.restarts
      << ", \"decrease_constants\": {";
    for (std::size_t j = 0; j < d.decrease_constants.size(); ++j)
      o << (j ? ", " : "") << "\"a" << j + 1 << "\": " << json_num(d.decrease_constants[j]);
    o << "},\n    \"rate\": {\"kind\": \"" << f.kind << "\", \"tail_from\": " << f.tail_from
      << ", \"points\": " << f.points << ", \"q\": " << json_num(f.q) << ", \"r2_geometric\": " << json_num(f.r2_geometric)
      << ", \"p\": " << json_num(f.p) << ", \"r2_power\": " << json_num(f.r2_power)
      << ", \"kl_exponent\": " << json_num(f.kl_exponent) << "},\n    \"relaxation_gap\": "
      << json_num(r.history.empty() ? 0 : std::max(0.0, r.history.back().relaxation_gap)) << "},\n";
  }
  if (s.backprop()) {
    // Per layer 1..N: ||dLoss/dW_i||_F at the first step and the largest over the run (docs/depth.md).
    auto list = [&](const auto& v) {
      std::ostringstream l;
      l << '[';
      for (std::size_t i = 0; i < v.size(); ++i) l << (i ? ", " : "") << json_num(static_cast<double>(v[i]));
      return l.str() + ']';
    };
    o << "  \"gradients\": {\"start_objective\": " << json_num(r.start_objective)
      << ", \"divergence_factor\": " << json_num(kDivergenceFactor) << ",\n    \"norm_first_step\": "
      << list(r.grad_norm_first) << ",\n    \"norm_max\": " << list(r.grad_norm_max)
      << ",\n    \"norm_max_epoch\": " << list(r.grad_norm_max_epoch) << "},\n";
  }
  o << "  \"state_bytes\": " << r.state_bytes << ",\n"
    << "  \"data\": {\"source\": \"" << json_escape(s.data) << "\", \"target\": \"" << json_escape(ds.target_name)
    << "\", \"rows\": " << ds.rows_total << ", \"train_rows\": " << ds.x_train.cols() << ", \"validation_rows\": " << ds.x_val.cols()
    << ", \"test_rows\": " << ds.x_test.cols() << ", \"features\": " << ds.x_train.rows()
    << ", \"split\": \"" << (ds.split_name.empty() ? s.split : ds.split_name) << "\", \"duplicate_rows\": " << ds.duplicate_rows
    << ", \"fingerprint\": \"" << std::hex << ds.fingerprint << std::dec << "\"},\n"
    << "  \"worker_stats\": [";
  for (std::size_t w = 0; w < r.worker_stats.size(); ++w) {
    const WorkerStats& ws = r.worker_stats[w];
    o << (w ? ",\n    " : "\n    ") << "{\"rank\": " << ws.rank << ", \"pid\": " << ws.pid
      << ", \"first_layer\": " << ws.region.first << ", \"last_layer\": " << ws.region.last
      << ", \"owns_head\": " << (ws.region.last == s.depth - 1 ? "true" : "false")
      << ", \"shard\": " << ws.region.shard << ", \"shards\": " << ws.region.shards
      << ", \"region_bytes\": " << ws.region_bytes << ", \"peak_rss_bytes\": " << ws.peak_rss
      << ", \"compute_s\": {";
    for (int p = 0; p < kPhaseCount; ++p)
      o << (p ? ", " : "") << '"' << phase_name(static_cast<Phase>(p)) << "\": " << json_num(ws.compute_s[p]);
    o << "}, \"wait_s\": {";
    for (int p = 0; p < kPhaseCount; ++p)
      o << (p ? ", " : "") << '"' << phase_name(static_cast<Phase>(p)) << "\": " << json_num(ws.wait_s[p]);
    o << "}}";
  }
  o << "\n  ],\n  \"version\": \"" << RADMM_VERSION << "\",\n"
    << "  \"settings\": " << settings_to_json(s) << "\n}\n";
  write_file_at(folder_.fd(), "summary.json", o.str(), kOutputMode, dir() + "/summary.json");
}

void RunOutput::write_model(const Model& m) {
  write_file_at(folder_.fd(), "model.bin", serialize_model(m), kOutputMode, dir() + "/model.bin");
}

void RunOutput::write_plot() {
  MetricsTable t = read_metrics(dir() + "/metrics.csv");
  const bool accuracy = t.has_accuracy();  // classification: accuracy panels instead of MSE
  if (accuracy) t.train_mse = t.train_accuracy, t.val_mse = t.val_accuracy;
  Series l_iter{"L_beta", t.iter, t.lagrangian}, l_time{"L_beta", t.elapsed_s, t.lagrangian};
  Series train{"train (forward)", {}, {}}, test{"validation (forward)", {}, {}};
  Series relaxed{"relaxed V_N", t.iter, t.relaxed_mse, true}, relaxed_t{"relaxed V_N", t.elapsed_s, t.relaxed_mse, true};
  Series train_t = train, test_t = test;
  for (std::size_t k = 0; k < t.iter.size(); ++k) {
    if (!std::isnan(t.train_mse[k])) {
      train.x.push_back(t.iter[k]), train.y.push_back(t.train_mse[k]);
      train_t.x.push_back(t.elapsed_s[k]), train_t.y.push_back(t.train_mse[k]);
    }
    if (!std::isnan(t.val_mse[k])) {
      test.x.push_back(t.iter[k]), test.y.push_back(t.val_mse[k]);
      test_t.x.push_back(t.elapsed_s[k]), test_t.y.push_back(t.val_mse[k]);
    }
  }
  std::vector<Panel> panels = {
      {"augmented Lagrangian", "iteration", "L_beta", {l_iter}, true},
      {"augmented Lagrangian", "seconds", "L_beta", {l_time}, true},
      {"mean squared error (target units)", "iteration", "MSE", {train, test, relaxed}, true},
      {"mean squared error (target units)", "seconds", "MSE", {train_t, test_t, relaxed_t}, true}};
  if (accuracy) {
    panels[2] = {"accuracy (forward pass)", "iteration", "accuracy", {train, test}, false};
    panels[3] = {"accuracy (forward pass)", "seconds", "accuracy", {train_t, test_t}, false};
  }
  write_file_at(folder_.fd(), "convergence.svg", svg_panels(panels, 2), kOutputMode, dir() + "/convergence.svg");
}

void RunOutput::write_failure(const Error& e) noexcept {
  try {
    std::ostringstream o;
    o << "{\n  \"exit_code\": " << static_cast<int>(e.code()) << ",\n  \"name\": \"" << exit_code_name(e.code())
      << "\",\n  \"what\": \"" << json_escape(e.what_text()) << "\",\n  \"where\": \"" << json_escape(e.where())
      << "\",\n  \"hint\": \"" << json_escape(e.hint()) << "\",\n  \"message\": \"" << json_escape(e.line())
      << "\"\n}\n";
    write_file_at(folder_.fd(), "failure.json", o.str(), kOutputMode, dir() + "/failure.json");
  } catch (...) {
  }
}

Progress::Progress(int iterations, bool quiet)
    : iterations_(iterations), quiet_(quiet), tty_(::isatty(STDOUT_FILENO) == 1) {}

void Progress::update(const IterationRecord& r) {
  if (quiet_) return;
  const int every = std::max(1, iterations_ / 10);
  // Plain log lines: every tenth of the run, and at least every 30 s when iterations are long.
  const bool due = r.elapsed_s - last_line_s_ >= 30;
  if (!tty_ && r.iter % every != 0 && r.iter != iterations_ && r.iter != 1 && !due) return;
  last_line_s_ = r.elapsed_s;
  classes_ = classes_ || r.train_accuracy >= 0;
  const double eta = r.iter > 0 ? r.elapsed_s / r.iter * (iterations_ - r.iter) : 0;
  char buf[256];
  if (r.train_accuracy >= 0 || r.val_accuracy >= 0 || classes_)  // classification: accuracy instead of MSE
    std::snprintf(buf, sizeof buf, "iter %*d/%d  L_beta %.6g  train_acc %s  val_acc %s  ETA %.1fs",
                  static_cast<int>(std::to_string(iterations_).size()), r.iter, iterations_, r.lagrangian,
                  r.train_accuracy < 0 ? "-" : format_double(r.train_accuracy).substr(0, 6).c_str(),
                  r.val_accuracy < 0 ? "-" : format_double(r.val_accuracy).substr(0, 6).c_str(), eta);
  else
    std::snprintf(buf, sizeof buf, "iter %*d/%d  L_beta %.6g  train_mse %s  val_mse %s  ETA %.1fs",
                  static_cast<int>(std::to_string(iterations_).size()), r.iter, iterations_, r.lagrangian,
                  r.train_mse < 0 ? "-" : format_double(r.train_mse).substr(0, 8).c_str(),
                  r.val_mse < 0 ? "-" : format_double(r.val_mse).substr(0, 8).c_str(), eta);
  if (tty_) {
    std::printf("\r\033[K%s", buf);
    dirty_ = true;
  } else {
    std::printf("%s\n", buf);
  }
  std::fflush(stdout);
}

void Progress::finish() {
  if (dirty_) std::printf("\n");
  dirty_ = false;
  std::fflush(stdout);
}

}  // namespace radmm
