// radmm bench: the parallel timing experiment. Trains the same configuration for a fixed
// number of iterations at each worker count, repeats interleaved, and reports medians of
// seconds per iteration, speedup and efficiency against P = 1, per-phase compute, wait and
// synchronisation overhead, and each worker's peak resident memory, with the machine.
#include <sys/utsname.h>

#include <Eigen/Core>
#include <algorithm>
#include <boost/version.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "common/csv.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "coordinator/cli.hpp"
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

struct Point {  // one run at one worker count
  int workers = 0, repeat = 0;
  double s_per_iter = 0;
  double phase_wall[kPhaseCount] = {}, phase_overhead_us[kPhaseCount] = {};
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

}  // namespace

int run_bench(const std::vector<std::string>& all_args) {
  // Bench's own options; everything else is a train option.
  std::string worker_list, out_dir;
  int repeats = 3;
  std::vector<std::string> args;
  bool help = false;
  for (std::size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= all_args.size()) throw Error(ExitCode::kUsage, a + " needs a value", "command line", "");
      return all_args[++i];
    };
    if (a == "--worker-list") worker_list = value();
    else if (a == "--repeats") repeats = std::atoi(value().c_str());
    else if (a == "--bench-out") out_dir = value();
    else if (a == "--help" || a == "-h") help = true;
    else args.push_back(a);
  }
  // Defaults of the experiment, unless given: white wine, depth 20, width 128, 5 iterations.
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"--data", "builtin:wine-white"}, {"--depth", "20"}, {"--width", "128"}, {"--iterations", "5"},
      {"--schedule", "phase"}};
  std::vector<std::string> with_defaults = args;
  for (const auto& kv : defaults) {
    const std::string& key = kv.first;
    if (std::none_of(args.begin(), args.end(), [&](const std::string& a) { return a == key || a.rfind(key + "=", 0) == 0; }))
      with_defaults.insert(with_defaults.end(), {key, kv.second});
  }
  ParsedCommand cmd = parse_train_command(with_defaults);
  if (help) {
    std::cout << "usage: radmm bench [--worker-list 0,1,..] [--repeats R] [--bench-out DIR] [train options]\n\n"
              << "Trains one configuration (default: white wine, depth 20, width 128, 5 iterations, phase\n"
              << "schedule) at each worker count (default 0,1,..,cores), R times each (default 3), interleaving\n"
              << "the repeats, and reports median seconds per iteration, speedup and efficiency against P = 1,\n"
              << "per-phase overhead and peak memory per worker. Writes DIR/bench.csv and DIR/bench.json\n"
              << "(default DIR runs/bench-<timestamp>). Train options: radmm train --help.\n";
    return 0;
  }
  if (repeats < 1) throw Error(ExitCode::kUsage, "--repeats must be >= 1", "command line", "");
  Settings s = cmd.settings;
  s.eval_every = 0;
  s.quiet = true;
  s.refit_head = false;
  s.validate();
  std::vector<int> counts;
  if (worker_list.empty())
    for (int p = 0; p <= std::min(online_cores(), s.depth - 1); ++p) counts.push_back(p);
  else
    counts = parse_list(worker_list);
  for (int p : counts) {
    Settings t = s;
    t.workers = p;
    t.validate();  // P <= depth - 1
  }
  const Table table = read_csv(s.data);
  const Dataset ds = make_dataset(table, s.target, s.test_fraction, s.seed);
  if (out_dir.empty()) out_dir = "runs/bench-" + timestamp_utc();
  make_output_dir(out_dir);
  install_signal_handlers();

  std::printf("radmm bench: %s, n = %lld, depth %d, width %d, %d iterations, workers {", s.data.c_str(),
              static_cast<long long>(ds.x_train.cols()), s.depth, s.width, s.iterations);
  for (std::size_t i = 0; i < counts.size(); ++i) std::printf("%s%d", i ? "," : "", counts[i]);
  std::printf("} x %d repeats -> %s\n", repeats, out_dir.c_str());
  std::fflush(stdout);

  std::vector<Point> points;
  for (int r = 0; r < repeats; ++r) {
    for (int p : counts) {  // interleaved: a slow spell of the machine hits every P alike
      Settings t = s;
      t.workers = p;
      const TrainResult res = train(t, ds, TrainHooks{});
      Point pt;
      pt.workers = p;
      pt.repeat = r;
      std::vector<double> per_iter;
      std::vector<double> over[kPhaseCount];
      // The first iteration pays for page faults and cold caches; skip it when there are more.
      for (std::size_t k = res.history.size() > 1 ? 1 : 0; k < res.history.size(); ++k) {
        per_iter.push_back(res.history[k].admm_s);
        for (int q = 0; q < kPhaseCount; ++q) {
          pt.phase_wall[q] += res.history[k].phase_s[q];
          over[q].push_back(res.history[k].phase_overhead_s[q] * 1e6);
        }
      }
      pt.s_per_iter = median(per_iter);
      for (int q = 0; q < kPhaseCount; ++q) pt.phase_overhead_us[q] = median(over[q]);
      pt.stats = res.worker_stats;
      points.push_back(pt);
      std::printf("  repeat %d, P = %d: %.4f s/iteration\n", r + 1, p, pt.s_per_iter);
      std::fflush(stdout);
    }
  }

  // Aggregate per worker count.
  std::ostringstream csv, json, table_out;
  csv << "workers,repeat,s_per_iter,phase_w_s,phase_v_even_s,phase_v_odd_s,phase_u_s,overhead_w_us,"
         "overhead_v_even_us,overhead_v_odd_us,overhead_u_us,max_worker_peak_rss_bytes\n";
  for (const Point& pt : points) {
    std::int64_t rss = 0;
    for (const auto& w : pt.stats) rss = std::max(rss, w.peak_rss);
    csv << pt.workers << ',' << pt.repeat << ',' << format_double(pt.s_per_iter);
    for (double v : pt.phase_wall) csv << ',' << format_double(v);
    for (double v : pt.phase_overhead_us) csv << ',' << format_double(v);
    csv << ',' << rss << '\n';
  }
  std::map<int, double> med;
  for (int p : counts) {
    std::vector<double> v;
    for (const Point& pt : points)
      if (pt.workers == p) v.push_back(pt.s_per_iter);
    med[p] = median(v);
  }
  const double t1 = med.count(1) ? med[1] : 0;
  utsname u {};
  ::uname(&u);
  json << "{\n  \"machine\": {\"cpu\": \"" << json_escape(cpu_model()) << "\", \"cores\": " << online_cores()
       << ", \"kernel\": \"" << json_escape(std::string(u.sysname) + " " + u.release) << "\", \"compiler\": \""
       << json_escape(__VERSION__) << "\", \"flags\": \"" << json_escape(RADMM_BUILD_FLAGS) << "\", \"eigen\": \""
       << EIGEN_WORLD_VERSION << '.' << EIGEN_MAJOR_VERSION << '.' << EIGEN_MINOR_VERSION << "\", \"boost\": \""
       << BOOST_VERSION / 100000 << '.' << BOOST_VERSION / 100 % 1000 << "\"},\n"
       << "  \"config\": " << settings_to_json(s) << ",\n  \"repeats\": " << repeats << ",\n  \"points\": [";
  table_out << "\n workers   s/iter   speedup  efficiency   overhead us/phase (W, Ve, Vo, U)   max peak RSS MiB\n";
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const int p = counts[i];
    double over[kPhaseCount] = {}, phase[kPhaseCount] = {};
    std::int64_t rss = 0;
    std::vector<const Point*> mine;
    for (const Point& pt : points)
      if (pt.workers == p) mine.push_back(&pt);
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
    const double speedup = t1 > 0 && med[p] > 0 ? t1 / med[p] : 0;
    const double eff = p > 0 ? speedup / p : 0;
    char row[256];
    std::snprintf(row, sizeof row, " %7d  %7.4f  %8.3f  %10s   %7.0f %7.0f %7.0f %7.0f          %8.1f\n", p, med[p],
                  speedup, p > 0 ? format_double(std::round(eff * 1000) / 1000).c_str() : "-", over[0], over[1],
                  over[2], over[3], static_cast<double>(rss) / (1 << 20));
    table_out << row;
    json << (i ? "," : "") << "\n    {\"workers\": " << p << ", \"s_per_iter_median\": " << format_double(med[p], true)
         << ", \"speedup_vs_1\": " << format_double(speedup, true) << ", \"efficiency\": "
         << (p > 0 ? format_double(eff, true) : "null") << ", \"phase_wall_s_median\": {";
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
           << ws.region.last << "], \"peak_rss_bytes\": " << ws.peak_rss << ", \"region_bytes\": " << ws.region_bytes
           << ", \"compute_s\": [";
      for (int q = 0; q < kPhaseCount; ++q) json << (q ? ", " : "") << format_double(ws.compute_s[q], true);
      json << "], \"wait_s\": [";
      for (int q = 0; q < kPhaseCount; ++q) json << (q ? ", " : "") << format_double(ws.wait_s[q], true);
      json << "]}";
    }
    json << "]}";
  }
  std::ostringstream repro;
  repro << "radmm bench";
  for (const auto& a : all_args) repro << ' ' << a;
  json << "\n  ],\n  \"reproduce\": \"" << json_escape(repro.str()) << "\"\n}\n";
  write_file_atomic(out_dir + "/bench.csv", csv.str());
  write_file_atomic(out_dir + "/bench.json", json.str());
  std::printf("%s\nmachine: %s, %d cores, g++ %s, Eigen %d.%d.%d, Boost %d.%d\n", table_out.str().c_str(),
              cpu_model().c_str(), online_cores(), __VERSION__, EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION,
              EIGEN_MINOR_VERSION, BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
  std::printf("wrote %s/bench.csv and %s/bench.json\nreproduce: %s\n", out_dir.c_str(), out_dir.c_str(),
              repro.str().c_str());
  return 0;
}

}  // namespace radmm
