// radmm bench: the parallel timing experiment. Trains the same configuration for a fixed
// number of iterations at each worker count, repeats interleaved, and reports medians of
// seconds per iteration, speedup and efficiency against P = 1, per-phase compute, wait and
// synchronisation overhead, and each worker's peak resident memory, with the machine.
// --transport mpi times the MPI transport (coordinator/bench_mpi.cpp) next to the fork transport.
#include <sys/utsname.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <map>
#include <sstream>

#include "common/csv.hpp"
#include "common/error.hpp"
#include "common/grid.hpp"
#include "common/io.hpp"
#include "common/isa.hpp"
#include "common/load_data.hpp"
#include "common/plot.hpp"
#include "coordinator/bench_mpi.hpp"
#include "coordinator/cli.hpp"
#include "coordinator/own_options.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/trainer.hpp"

namespace radmm {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

struct Point {  // one run at one entry of --worker-list
  int workers = 0, repeat = 0;
  std::string label, grid;  ///< the entry ("2" or "1x2") and the grid the run used
  std::string transport;    ///< fork | mpi
  double s_per_iter = 0;
  double phase_wall[kPhaseCount] = {}, phase_overhead_us[kPhaseCount] = {};
  double admm_total = 0, overhead_total[kPhaseCount] = {};  ///< sums over the timed iterations
  std::vector<WorkerStats> stats;
};

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > 4096)
      throw Error(ExitCode::kUsage, "--worker-list must be comma-separated counts >= 0 (got '" + text + "')",
                  "command line", "e.g. --worker-list 0,1,2");
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) throw Error(ExitCode::kUsage, "--worker-list is empty", "command line", "");
  return out;
}

/// One entry of --worker-list: a worker count P (grid chosen by the cost model) or a grid RxS.
struct Entry {
  std::string label;
  int workers = 0;
  std::string grid = "auto";
};

std::vector<Entry> parse_entries(const std::string& text) {
  std::vector<Entry> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Grid g;
    if (parse_grid(item, g)) out.push_back({item, g.workers(), item});
    else out.push_back({item, parse_list(item).front(), "auto"});
  }
  if (out.empty()) throw Error(ExitCode::kUsage, "--worker-list is empty", "command line", "");
  return out;
}

/// Median seconds per iteration of one training run (the first iteration, which pays for
/// page faults and cold caches, is skipped when there are more).
double seconds_per_iteration(const TrainResult& res) {
  std::vector<double> v;
  for (std::size_t k = res.history.size() > 1 ? 1 : 0; k < res.history.size(); ++k) v.push_back(res.history[k].admm_s);
  return median(v);
}

/// A timed run as a Point: medians and sums over the iterations after the first.
Point point_of(const TrainResult& res, const Entry& e, int repeat, const std::string& transport) {
  Point pt;
  pt.workers = e.workers;
  pt.label = e.label;
  pt.grid = res.grid.empty() ? "in-process" : res.grid;
  pt.repeat = repeat;
  pt.transport = transport;
  std::vector<double> over[kPhaseCount];
  for (std::size_t k = res.history.size() > 1 ? 1 : 0; k < res.history.size(); ++k) {
    for (int q = 0; q < kPhaseCount; ++q) {
      pt.phase_wall[q] += res.history[k].phase_s[q];
      pt.overhead_total[q] += res.history[k].phase_overhead_s[q];
      over[q].push_back(res.history[k].phase_overhead_s[q] * 1e6);
    }
    pt.admm_total += res.history[k].admm_s;
  }
  pt.s_per_iter = seconds_per_iteration(res);
  for (int q = 0; q < kPhaseCount; ++q) pt.phase_overhead_us[q] = median(over[q]);
  pt.stats = res.worker_stats;
  return pt;
}

/// --transport mpi: the MPI transport splits the layers only, so every entry must be a count
/// P >= 1 or a grid P x 1 with P <= depth - 1; counts become P x 1 (the fork run uses the same grid).
void check_mpi_entries(std::vector<Entry>& entries, int depth) {
  for (Entry& e : entries) {
    Grid g;
    const bool is_grid = parse_grid(e.label, g);
    if (e.workers == 0 || (is_grid && g.shards > 1) || e.workers > depth - 1)
      throw Error(ExitCode::kUsage,
                  "--worker-list entry " + e.label + " cannot run on the mpi transport: " +
                      (e.workers == 0 ? std::string("P = 0 is the in-process trainer")
                       : is_grid && g.shards > 1 ? "it splits the layers only (grids R x 1)"
                                                 : "P must not exceed depth - 1 = " + std::to_string(depth - 1)),
                  "--worker-list", "use counts 1..depth-1 or grids Rx1 with --transport mpi");
    e.grid = std::to_string(e.workers) + "x1";
  }
}

/// Median GFLOP/s of an Eigen product (m x k) * (k x n), single-threaded, in precision T: the
/// iteration's dominant shape (d x d) * (d x n), and 1024^3 as the core's practical peak.
template <class T>
double gemm_gflops(Eigen::Index m, Eigen::Index k, Eigen::Index n) {
  using M = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const M a = M::Random(m, k), b = M::Random(k, n);
  M c(m, n);
  c.noalias() = a * b;  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < 7; ++r) {
    const double t0 = now_seconds();
    c.noalias() = a * b;
    rates.push_back(2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) /
                    (now_seconds() - t0) / 1e9);
  }
  return median(rates);
}

/// Least-squares slope of log y against log x.
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += std::log(x[i]);
    my += std::log(y[i]);
  }
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(x.size());
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
    sxx += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/// radmm bench --sweep depth|width|samples: time per iteration as one size grows, against the
/// flop count of ALGORITHM.md 8, with fitted log-log exponents of both.
int run_sweep(const Settings& s, const Dataset& ds, const std::string& what, std::vector<int> values, int repeats,
              const std::string& out_dir, const std::string& repro) {
  if (values.empty()) {
    if (what == "depth") values = {5, 10, 20, 40};
    else if (what == "width") values = {32, 64, 128, 256};
    else values = {500, 1000, 2000, static_cast<int>(ds.x_train.cols())};
  }
  std::printf("radmm bench --sweep %s: %s, %d worker(s), values {", what.c_str(), s.data.c_str(), s.resolved_workers());
  for (std::size_t i = 0; i < values.size(); ++i) std::printf("%s%d", i ? "," : "", values[i]);
  std::printf("} x %d repeats -> %s\n", repeats, out_dir.c_str());
  std::map<int, std::vector<double>> times;
  std::map<int, double> flops;
  for (int r = 0; r < repeats; ++r)
    for (int v : values) {
      Settings t = s;
      Dataset part = ds;
      if (what == "depth") t.depth = v;
      else if (what == "width") t.width = v;
      else {
        if (v < 2 || v > ds.x_train.cols())
          throw Error(ExitCode::kUsage, "--sweep-values for samples must be in [2, " +
                      std::to_string(ds.x_train.cols()) + "]", "command line", "");
        part.x_train = ds.x_train.leftCols(v);
        part.y_train = ds.y_train.leftCols(v);
        if (!part.labels_train.empty()) part.labels_train.resize(static_cast<std::size_t>(v));
      }
      if (t.workers > t.depth - 1) t.workers = t.depth - 1;
      t.validate();
      times[v].push_back(seconds_per_iteration(train(t, part, TrainHooks{})));
      flops[v] = iteration_flops(dims_of(t, part));
      std::printf("  repeat %d, %s = %d: %.4f s/iteration\n", r + 1, what.c_str(), v, times[v].back());
      std::fflush(stdout);
    }
  std::vector<double> xs, ts, fs;
  std::ostringstream csv, json;
  csv << what << ",s_per_iter_median,flops_per_iteration,gflops\n";
  json << "{\n  \"sweep\": \"" << what << "\",\n  \"config\": " << settings_to_json(s) << ",\n  \"points\": [";
  std::printf("\n %8s   s/iter   GFLOP/iter   GFLOP/s\n", what.c_str());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const int v = values[i];
    const double t = median(times[v]);
    xs.push_back(v);
    ts.push_back(t);
    fs.push_back(flops[v]);
    csv << v << ',' << format_double(t) << ',' << format_double(flops[v]) << ',' << format_double(flops[v] / t / 1e9)
        << '\n';
    json << (i ? "," : "") << "\n    {\"" << what << "\": " << v << ", \"s_per_iter_median\": " << format_double(t, true)
         << ", \"flops_per_iteration\": " << format_double(flops[v], true) << "}";
    std::printf(" %8d  %7.4f  %11.3f  %8.2f\n", v, t, flops[v] / 1e9, flops[v] / t / 1e9);
  }
  const double time_exp = loglog_slope(xs, ts), flop_exp = loglog_slope(xs, fs);
  json << "\n  ],\n  \"time_exponent\": " << format_double(time_exp, true) << ",\n  \"flop_model_exponent\": "
       << format_double(flop_exp, true) << ",\n  \"reproduce\": \"" << json_escape(repro) << "\"\n}\n";
  write_file_atomic(out_dir + "/sweep.csv", csv.str());
  write_file_atomic(out_dir + "/sweep.json", json.str());
  Series measured{"measured s/iteration", xs, ts}, model{"flop model (scaled)", xs, {}, true};
  for (double f : fs) model.y.push_back(f / fs.back() * ts.back());
  write_file_atomic(out_dir + "/sweep.svg",
                    svg_panels({{"time per iteration against " + what, what, "seconds", {measured, model}, true}}, 1));
  std::printf("\nfitted exponent (log-log slope): time %.2f, flop model %.2f\n", time_exp, flop_exp);
  std::printf("wrote %s/sweep.csv, sweep.json, sweep.svg\nreproduce: %s\n", out_dir.c_str(),
              repro.c_str());
  return 0;
}

/// radmm bench --plan: the cost model's grid per entry and its modelled speedup, next to the best
/// layer-only split (R x 1). A projection from the flop model (docs/algorithm.md), not a timing.
int print_plan(const Settings& s, const Dataset& ds, const std::vector<Entry>& entries) {
  const Dims dims = dims_of(s, ds);
  const ColumnChunks cc{dims.samples, s.chunk_columns};
  const double one = grid_cost(dims, Grid{1, 1}, cc);
  std::printf("radmm bench --plan: %s, n = %lld (%d chunks of %d), depth %d, width %d: modelled, not measured\n\n",
              s.data.c_str(), static_cast<long long>(dims.samples), cc.count(), s.chunk_columns, s.depth, s.width);
  std::printf(" workers  grid      GFLOP on the critical path  speedup (model)  layer-only R x 1 speedup\n");
  for (const Entry& e : entries) {
    if (e.workers == 0) continue;
    Settings t = s;
    t.workers = e.workers;
    t.grid = e.grid;
    const Grid g = resolve_grid(t, dims);
    const double c = grid_cost(dims, g, cc);
    const bool layers_fit = e.workers <= dims.hidden();
    const double layers = layers_fit ? one / grid_cost(dims, Grid{e.workers, 1}, cc) : 0;
    std::printf(" %7d  %-8s  %26.3f  %15.2f  %24s\n", g.workers(), g.text().c_str(), c / 1e9, one / c,
                layers_fit ? format_double(std::round(layers * 100) / 100).c_str() : "- (P > depth - 1)");
  }
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& all_args) {
  // Bench's own options; everything else is a train option.
  std::string worker_list, out_dir, sweep, sweep_values;
  bool plan = false;
  int repeats = 3;
  bool help = false;
  const std::vector<std::string> args = take_own_options(
      all_args,
      {{"--worker-list", [&](const std::string& v) { worker_list = v; }},
       {"--repeats", [&](const std::string& v) { repeats = parse_values<int>("repeats", v).front(); }},
       {"--bench-out", [&](const std::string& v) { out_dir = v; }},
       {"--sweep", [&](const std::string& v) { sweep = v; }},
       {"--sweep-values", [&](const std::string& v) { sweep_values = v; }}},
      help, {{"--plan", &plan}});
  // Defaults of the experiment beneath --config and the command line: white wine, depth 20,
  // width 128, 5 iterations, phase schedule.
  const ParsedCommand cmd = parse_train_command(
      args, "data = builtin:wine-white\ndepth = 20\nwidth = 128\niterations = 5\nschedule = phase\n",
      "radmm bench defaults");
  if (help) {
    std::cout << "usage: radmm bench [--worker-list 0,1,2x1,1x2,..] [--repeats R] [--bench-out DIR] [--transport mpi] [train options]\n"
              << "       radmm bench --sweep depth|width|samples [--sweep-values a,b,..] [--repeats R] [train options]\n\n"
              << "Trains one configuration (default: white wine, depth 20, width 128, 5 iterations, phase\n"
              << "schedule) at each worker count (default 0,1,..,cores; an entry RxS forces that grid of R layer\n"
              << "regions x S sample shards, a count P takes the cost model's grid), R times each (default 3),\n"
              << "interleaving the repeats, and reports median seconds per iteration, speedup and efficiency against P = 1,\n"
              << "per-phase overhead and peak memory per worker. Writes DIR/bench.csv and DIR/bench.json\n"
              << "(default DIR runs/bench-<timestamp>), and speedup.svg. Also reports GFLOP/s against the\n"
              << "throughput of an Eigen product of the same shape and of a 1024^3 product (the core's peak)\n"
              << "measured here, and the share of the iteration spent in the W, V and U updates, in the\n"
              << "phase handshake and in the rest (V_N, Lambda, objective). A --config file's settings win\n"
              << "over these defaults, the command line over the file.\n"
              << "--plan prints, for --worker-list (default 1,2,4,..,64), the grid the cost model chooses and its\n"
              << "modelled speedup next to the layer-only split, without training (a projection, not a timing).\n"
              << "--sweep times one worker count (--workers) as depth, width or the number of samples grows\n"
              << "(defaults 5,10,20,40 / 32,64,128,256 / 500,1000,2000,all; --workers defaults to 1 and is\n"
              << "capped at depth - 1 for small depths) and fits log-log exponents of the\n"
              << "time and of the flop model; writes sweep.csv, sweep.json, sweep.svg.\n"
              << "--transport mpi times each entry P (default 1..min(cores, depth - 1); grids Px1 only) on the\n"
              << "fork transport and under mpirun -np P+1 (mpirun: $RADMM_MPIRUN or PATH; --oversubscribe when P + 1\n"
              << "exceeds the cores), one row under the other, each with its own speedup against P = 1.\n"
              << "Train options: radmm train --help.\n";
    return 0;
  }
  if (repeats < 1) throw Error(ExitCode::kUsage, "--repeats must be >= 1", "command line", "");
  Settings s = cmd.settings;
  s.eval_every = 0;
  s.quiet = true;
  s.refit_head = false;
  s.diagnostics = false;  // its state copy would be timed with the iteration
  // No validation rows: bench never evaluates, and n stays the training rows of the test split
  // (an MPI run gets these settings too, so both transports train the same problem).
  s.validation_fraction = 0;
  s.checkpoint_every = 0;
  s.validate();
  const bool mpi = s.transport == "mpi";
  if (mpi && !sweep.empty())
    throw Error(ExitCode::kUsage, "--sweep times the fork transport only", "--transport", "leave --transport mpi out");
  if (plan && worker_list.empty())
    for (int p = 1; p <= 64 && (!mpi || p <= s.depth - 1); p *= 2) worker_list += (p > 1 ? "," : "") + std::to_string(p);
  std::vector<Entry> counts;
  if (worker_list.empty())
    for (int p = mpi ? 1 : 0; p <= (mpi ? std::min(online_cores(), s.depth - 1) : online_cores()); ++p)
      counts.push_back({std::to_string(p), p, "auto"});
  else
    counts = parse_entries(worker_list);
  if (mpi) check_mpi_entries(counts, s.depth);
  auto settings_of = [&](const Entry& e, const std::string& transport = "fork") {
    Settings t = s;
    t.workers = e.workers;
    t.grid = e.grid;
    t.transport = transport;
    return t;
  };
  for (const Entry& e : counts) settings_of(e).validate();  // R x S = P, R <= depth - 1
  const Dataset ds = load_dataset(s);
  for (const Entry& e : counts) resolve_grid(settings_of(e), dims_of(s, ds));  // S <= the chunks
  const std::string mpirun = mpi && !plan ? find_mpirun() : "";
  if (out_dir.empty()) out_dir = "runs/bench-" + timestamp_utc();
  if (!sweep.empty() && sweep != "depth" && sweep != "width" && sweep != "samples")
    throw Error(ExitCode::kUsage, "--sweep must be depth, width or samples (got " + sweep + ")", "command line", "");
  if (plan) return print_plan(s, ds, counts);
  make_output_dir(out_dir);
  install_signal_handlers();
  std::ostringstream repro;
  repro << "radmm bench";
  for (const auto& a : all_args) repro << ' ' << a;
  if (!sweep.empty()) {
    Settings t = s;
    if (std::none_of(all_args.begin(), all_args.end(), [](const std::string& a) { return a.rfind("--workers", 0) == 0; }))
      t.workers = 1;
    return run_sweep(t, ds, sweep, sweep_values.empty() ? std::vector<int>{} : parse_list(sweep_values), repeats,
                     out_dir, repro.str());
  }
  const double flops = iteration_flops(dims_of(s, ds));
  const Eigen::Index n = ds.x_train.cols();
  const double gemm = s.precision == "float" ? gemm_gflops<float>(s.width, s.width, n)
                                              : gemm_gflops<double>(s.width, s.width, n);
  const double peak = s.precision == "float" ? gemm_gflops<float>(1024, 1024, 1024)
                                              : gemm_gflops<double>(1024, 1024, 1024);

  std::printf("radmm bench: %s, n = %lld, depth %d, width %d, %d iterations, workers {", s.data.c_str(),
              static_cast<long long>(ds.x_train.cols()), s.depth, s.width, s.iterations);
  for (std::size_t i = 0; i < counts.size(); ++i) std::printf("%s%s", i ? "," : "", counts[i].label.c_str());
  std::printf("}%s x %d repeats -> %s\n", mpi ? ", fork and mpi transports" : "", repeats, out_dir.c_str());
  std::fflush(stdout);

  // The rows of the report: each entry on the fork transport and, with --transport mpi, on MPI.
  const std::vector<std::string> transports = mpi ? std::vector<std::string>{"fork", "mpi"} : std::vector<std::string>{"fork"};
  std::vector<Point> points;
  for (int r = 0; r < repeats; ++r) {
    for (const Entry& e : counts) {  // interleaved: a slow spell of the machine hits every P alike
      const TrainResult res = train(settings_of(e), ds, TrainHooks{});
      for (const std::string& tr : transports) {
        TrainResult child;
        if (tr == "mpi") {
          child = train_under_mpirun(settings_of(e, "mpi"), mpirun);
          check_same_iterates(res, child, e.workers);
        }
        points.push_back(point_of(tr == "mpi" ? child : res, e, r, tr));
        const Point& pt = points.back();
        std::printf("  repeat %d, P = %d (grid %s, %s): %.4f s/iteration\n", r + 1, e.workers, pt.grid.c_str(),
                    tr.c_str(), pt.s_per_iter);
        std::fflush(stdout);
      }
    }
  }

  // Aggregate per worker count.
  std::ostringstream csv, json, table_out;
  csv << "workers,repeat,s_per_iter,phase_w_s,phase_v_even_s,phase_v_odd_s,phase_u_s,overhead_w_us,"
         "overhead_v_even_us,overhead_v_odd_us,overhead_u_us,max_worker_peak_rss_bytes,grid,transport\n";
  for (const Point& pt : points) {
    std::int64_t rss = 0;
    for (const auto& w : pt.stats) rss = std::max(rss, w.peak_rss);
    csv << pt.workers << ',' << pt.repeat << ',' << format_double(pt.s_per_iter);
    for (double v : pt.phase_wall) csv << ',' << format_double(v);
    for (double v : pt.phase_overhead_us) csv << ',' << format_double(v);
    csv << ',' << rss << ',' << pt.grid << ',' << pt.transport << '\n';
  }
  std::map<std::string, double> med;  // by transport/label
  for (const Entry& e : counts)
    for (const std::string& tr : transports) {
      std::vector<double> v;
      for (const Point& pt : points)
        if (pt.label == e.label && pt.transport == tr) v.push_back(pt.s_per_iter);
      med[tr + "/" + e.label] = median(v);
    }
  auto t1_of = [&](const std::string& tr) {  // the same transport's P = 1
    return med.count(tr + "/1") ? med[tr + "/1"] : med.count(tr + "/1x1") ? med[tr + "/1x1"] : 0;
  };
  utsname u {};
  ::uname(&u);
  json << "{\n  \"machine\": {\"cpu\": \"" << json_escape(cpu_model()) << "\", \"cores\": " << online_cores()
       << ", \"kernel\": \"" << json_escape(std::string(u.sysname) + " " + u.release) << "\", \"compiler\": \""
       << json_escape(__VERSION__) << "\", \"flags\": \"" << json_escape(RADMM_BUILD_FLAGS) << "\", \"isa\": \""
       << compiled_isa() << "\", \"eigen\": \""
       << EIGEN_WORLD_VERSION << '.' << EIGEN_MAJOR_VERSION << '.' << EIGEN_MINOR_VERSION << "\", \"boost\": \""
       << BOOST_VERSION / 100000 << '.' << BOOST_VERSION / 100 % 1000 << "\"},\n"
       << "  \"config\": " << settings_to_json(s) << ",\n  \"repeats\": " << repeats << ",\n  \"points\": [";
  // (flops_per_iteration and gemm_gflops follow the points)
  table_out << "\n workers  transport  grid         s/iter   speedup  efficiency  GFLOP/s  of GEMM  of peak   overhead us/phase (W, Ve, Vo, U)   max peak RSS MiB\n";
  std::ostringstream shares;
  shares << "\n share of the iteration (compute of the slowest worker per phase; rest = V_N, Lambda, objective)\n"
            " workers  transport  grid             W      V      U   handshake   rest\n";
  std::map<std::string, Series> measured, efficiency;
  Series ideal{"ideal", {}, {}, true};
  for (const std::string& tr : transports) {
    measured[tr] = Series{"measured, " + tr, {}, {}};
    efficiency[tr] = Series{"efficiency, " + tr, {}, {}};
  }
  for (std::size_t line = 0; line < counts.size() * transports.size(); ++line) {
    const std::size_t i = line / transports.size();
    const std::string& tr = transports[line % transports.size()];
    const int p = counts[i].workers;
    const std::string& label = counts[i].label;
    double over[kPhaseCount] = {}, phase[kPhaseCount] = {};
    std::int64_t rss = 0;
    std::vector<const Point*> mine;
    for (const Point& pt : points)
      if (pt.label == label && pt.transport == tr) mine.push_back(&pt);
    for (int q = 0; q < kPhaseCount; ++q) {
      std::vector<double> o, w;
      for (const Point* pt : mine) {
        o.push_back(pt->phase_overhead_us[q]);
        w.push_back(pt->phase_wall[q]);
      }
      over[q] = median(o);
      phase[q] = median(w);
    }
    for (const Point* pt : mine)
      for (const auto& w : pt->stats) rss = std::max(rss, w.peak_rss);
    const double m = med[tr + "/" + label], t1 = t1_of(tr);
    const double speedup = t1 > 0 && m > 0 ? t1 / m : 0;
    const double eff = p > 0 ? speedup / p : 0;
    const double gflops = m > 0 ? flops / m / 1e9 : 0;
    const double of_gemm = gflops / (gemm * std::max(p, 1)), of_peak = gflops / (peak * std::max(p, 1));
    // Shares of the iteration's wall time, from the sums over every timed iteration and repeat.
    double total = 0, wall[kPhaseCount] = {}, hand[kPhaseCount] = {};
    for (const Point* pt : mine) {
      total += pt->admm_total;
      for (int q = 0; q < kPhaseCount; ++q) wall[q] += pt->phase_wall[q], hand[q] += pt->overhead_total[q];
    }
    const auto share = [&](std::initializer_list<Phase> ph) {
      double x = 0;
      for (Phase q : ph) x += wall[static_cast<int>(q)] - hand[static_cast<int>(q)];
      return total > 0 ? x / total : 0;
    };
    const double sh_w = share({Phase::kWeights}), sh_v = share({Phase::kActivationsEven, Phase::kActivationsOdd}),
                 sh_u = share({Phase::kPreactivations});
    const double sh_hand = total > 0 ? (hand[0] + hand[1] + hand[2] + hand[3]) / total : 0;
    const double sh_rest = 1 - sh_w - sh_v - sh_u - sh_hand;
    char srow[160];
    std::snprintf(srow, sizeof srow, " %7d  %-9s  %-12s  %5.1f%% %5.1f%% %5.1f%%      %5.1f%% %5.1f%%\n", p, tr.c_str(), mine.back()->grid.c_str(),
                  100 * sh_w, 100 * sh_v, 100 * sh_u, 100 * sh_hand, 100 * sh_rest);
    shares << srow;
    if (p > 0) {
      measured[tr].x.push_back(p);
      measured[tr].y.push_back(speedup);
      if (tr == transports.front()) {
        ideal.x.push_back(p);
        ideal.y.push_back(p);
      }
      efficiency[tr].x.push_back(p);
      efficiency[tr].y.push_back(eff);
    }
    char row[320];
    std::snprintf(row, sizeof row, " %7d  %-9s  %-10s  %7.4f  %8.3f  %10s  %7.2f  %6.0f%%  %6.0f%%   %7.0f %7.0f %7.0f %7.0f          %8.1f\n",
                  p, tr.c_str(), mine.back()->grid.c_str(), m, speedup, p > 0 ? format_double(std::round(eff * 1000) / 1000).c_str() : "-", gflops,
                  100 * of_gemm, 100 * of_peak, over[0], over[1], over[2], over[3], static_cast<double>(rss) / (1 << 20));
    table_out << row;
    json << (line ? "," : "") << "\n    {\"transport\": \"" << tr << "\", \"workers\": " << p << ", \"grid\": \"" << mine.back()->grid
         << "\", \"s_per_iter_median\": " << format_double(m, true)
         << ", \"speedup_vs_1\": " << format_double(speedup, true) << ", \"efficiency\": "
         << (p > 0 ? format_double(eff, true) : "null") << ", \"gflops\": " << format_double(gflops, true)
         << ", \"fraction_of_gemm\": " << format_double(of_gemm, true)
         << ", \"fraction_of_peak\": " << format_double(of_peak, true) << ", \"share\": {\"w\": "
         << format_double(sh_w, true) << ", \"v\": " << format_double(sh_v, true) << ", \"u\": "
         << format_double(sh_u, true) << ", \"handshake\": " << format_double(sh_hand, true)
         << ", \"rest\": " << format_double(sh_rest, true) << "}, \"phase_wall_s_median\": {";
    for (int q = 0; q < kPhaseCount; ++q)
      json << (q ? ", " : "") << '"' << phase_name(static_cast<Phase>(q)) << "\": " << format_double(phase[q], true);
    json << "}, \"overhead_us_per_phase_median\": {";
    for (int q = 0; q < kPhaseCount; ++q)
      json << (q ? ", " : "") << '"' << phase_name(static_cast<Phase>(q)) << "\": " << format_double(over[q], true);
    json << "}, \"workers_detail\": [";
    const Point* last = mine.back();
    for (std::size_t w = 0; w < last->stats.size(); ++w) {
      const WorkerStats& ws = last->stats[w];
      json << (w ? ", " : "") << "{\"rank\": " << ws.rank << ", \"layers\": [" << ws.region.first << ", "
           << ws.region.last << "], \"shard\": " << ws.region.shard << ", \"peak_rss_bytes\": " << ws.peak_rss << ", \"region_bytes\": " << ws.region_bytes
           << ", \"compute_s\": [";
      for (int q = 0; q < kPhaseCount; ++q) json << (q ? ", " : "") << format_double(ws.compute_s[q], true);
      json << "], \"wait_s\": [";
      for (int q = 0; q < kPhaseCount; ++q) json << (q ? ", " : "") << format_double(ws.wait_s[q], true);
      json << "]}";
    }
    json << "]}";
  }
  json << "\n  ],\n  \"precision\": \"" << s.precision << "\",\n  \"flops_per_iteration\": " << format_double(flops, true) << ",\n  \"gemm_gflops\": "
       << format_double(gemm, true) << ",\n  \"peak_gemm_gflops\": " << format_double(peak, true)
       << ",\n  \"reproduce\": \"" << json_escape(repro.str()) << "\"\n}\n";
  write_file_atomic(out_dir + "/bench.csv", csv.str());
  write_file_atomic(out_dir + "/bench.json", json.str());
  std::vector<Series> speedups, efficiencies;
  for (const std::string& tr : transports) speedups.push_back(measured[tr]), efficiencies.push_back(efficiency[tr]);
  speedups.push_back(ideal);
  write_file_atomic(out_dir + "/speedup.svg",
                    svg_panels({{"speedup against P = 1 of the same transport", "worker processes", "speedup", speedups, false},
                                {"parallel efficiency T(1) / (P T(P))", "worker processes", "efficiency",
                                 efficiencies, false}},
                               2));
  std::printf("%s%s\nmachine: %s, %d cores, g++ %s, Eigen %d.%d.%d, Boost %d.%d\n", table_out.str().c_str(), shares.str().c_str(),
              cpu_model().c_str(), online_cores(), __VERSION__, EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
  std::printf("iteration: %.3f GFLOP (flop model); %s GEMM (%d x %d) * (%d x %lld) here: %.2f GFLOP/s per core; "
              "1024^3 GEMM (the core's peak): %.2f GFLOP/s\n",
              flops / 1e9, s.precision.c_str(), s.width, s.width, s.width, static_cast<long long>(n), gemm, peak);
  std::printf("wrote %s/bench.csv, bench.json, speedup.svg\nreproduce: %s\n", out_dir.c_str(), repro.str().c_str());
  return 0;
}

}  // namespace radmm
