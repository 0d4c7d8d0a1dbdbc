// radmm compare: every method on the same split, network and initial weights. The backprop
// baselines get their learning rate chosen on the validation rows from a grid, mini-batches and
// early stopping; two reference lines (linear ridge on the raw features, the untrained stack with
// a ridge head) and the seconds each method needed to reach the tuned Adam's validation error
// stand beside them. Test rows are read only for the final report of each chosen model.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "common/admm.hpp"
#include "common/csv.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "common/plot.hpp"
#include "coordinator/cli.hpp"
#include "coordinator/own_options.hpp"
#include "coordinator/depth_study.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/trainer.hpp"

namespace radmm {

namespace {

const char* kMethods[] = {"admm", "adam", "gd", "ridge", "untrained"};

struct CompareOptions {
  std::vector<std::string> datasets, methods{std::begin(kMethods), std::end(kMethods)};
  std::vector<int> depths;
  std::vector<std::uint64_t> seeds{11, 12, 13};  // 1-3 chose the defaults (docs/tuning.md)
  std::vector<double> adam_lrs{1e-4, 3e-4, 1e-3, 3e-3, 1e-2}, gd_lrs{1e-3, 3e-3, 1e-2, 3e-2, 1e-1};
  std::vector<double> ridge_lambdas{1e-2, 1e-1, 1, 10, 100, 1000};
  int batch = 128, epochs = 300;
  std::string out_dir;
  std::vector<std::string> inits;  ///< --init values to run (depth study); empty = the train option's
};

/// One method's chosen run on one seed.
struct Outcome {
  std::string method, choice;  ///< the grid value chosen on validation ("" if none)
  bool diverged = false;       ///< every grid value diverged
  int selected = 0, iterations = 0;
  double train = 0, val = 0, test = 0;
  double seconds = 0, tuning_s = 0;  ///< the chosen run; all runs of its grid
  double best_eval_val = 0;          ///< lowest per-evaluation validation MSE (metrics.csv's val_mse)
  double to_target = -1;             ///< seconds to reach the target validation MSE (-1 = not reached)
  std::vector<double> t, v;          ///< validation MSE against seconds
  // Depth study (--inits): the initialisation, and for ADMM its L_beta increases and final relaxation gap.
  std::string init, note;            ///< note: where a diverged run stopped
  int lbeta_increases = -1;
  double relaxation_gap = -1;
  std::string label(bool with_init) const { return with_init ? method + " (" + init + ")" : method; }
};

Outcome outcome_of(const std::string& method, const TrainResult& r) {
  Outcome o;
  o.method = method;
  o.selected = r.selected_iteration ? r.selected_iteration : r.iterations;
  o.iterations = r.iterations;
  o.train = r.train_mse;
  o.val = r.val_mse;
  o.test = r.test_mse;
  o.seconds = o.tuning_s = r.elapsed_s;
  o.best_eval_val = r.val_mse;
  for (const IterationRecord& h : r.history)
    if (h.val_mse >= 0) {
      o.t.push_back(h.elapsed_s);
      o.v.push_back(h.val_mse);
    }
  if (!o.v.empty()) o.best_eval_val = *std::min_element(o.v.begin(), o.v.end());
  if (method == "admm") {
    o.lbeta_increases = r.diagnostics.violations;
    for (const IterationRecord& h : r.history)
      if (h.relaxation_gap >= 0) o.relaxation_gap = h.relaxation_gap;
  }
  return o;
}

/// An ADMM run (or the untrained network) that may diverge: a diverged run becomes a row, not an exit.
Outcome admm_outcome(const std::string& method, const Settings& t, const Dataset& ds) {
  try {
    return outcome_of(method, train(t, ds, TrainHooks{}));
  } catch (const Error& e) {
    if (e.code() != ExitCode::kDiverged) throw;
    Outcome o;
    o.method = method;
    o.diverged = true;
    o.note = e.what_text() + ", " + e.where();
    return o;
  }
}

/// A backprop method over its learning-rate grid; the lowest validation MSE of the reported
/// model wins. Diverged grid points are skipped.
Outcome tuned_backprop(const Settings& base, const Dataset& ds, const std::string& method,
                       const std::vector<double>& lrs, const CompareOptions& opt) {
  Outcome best;
  best.method = method;
  best.diverged = true;
  double tuning = 0;
  for (double lr : lrs) {
    Settings t = base;
    t.method = method;
    t.learning_rate = lr;
    t.batch_size = opt.batch;
    t.iterations = opt.epochs;
    t.workers = 0;
    t.validate();
    try {
      const double t0 = now_seconds();
      Outcome o = outcome_of(method, train(t, ds, TrainHooks{}));
      tuning += now_seconds() - t0;
      o.choice = "lr " + format_double(lr);
      if (best.diverged || o.val < best.val) best = o;
    } catch (const Error& e) {
      if (e.code() != ExitCode::kDiverged) throw;
      if (best.diverged && best.note.empty()) best.note = "lr " + format_double(lr) + ": " + e.what_text() + ", " + e.where();
    }
  }
  best.tuning_s = tuning;
  return best;
}

/// Linear ridge on the standardised raw features, lambda chosen on the validation rows.
Outcome tuned_ridge(const Dataset& ds, const CompareOptions& opt) {
  Outcome best;
  best.method = "ridge";
  const double t0 = now_seconds();
  const Mat y = ds.y_scaler.apply(ds.y_train);
  auto mse_of = [&](const Mat& w, const Mat& x, const Mat& y_raw) {
    if (x.cols() == 0) return 0.0;
    Mat out(w.rows(), x.cols());
    affine(w, x, out);
    return (ds.y_scaler.invert(out) - y_raw).squaredNorm() / static_cast<double>(y_raw.size());
  };
  bool first = true;
  for (double lambda : opt.ridge_lambdas) {
    const Mat w = ridge_head(y, ds.x_train, lambda);
    const double val = mse_of(w, ds.x_val, ds.y_val);
    if (first || val < best.val) {
      best.val = best.best_eval_val = val;
      best.train = mse_of(w, ds.x_train, ds.y_train);
      best.test = mse_of(w, ds.x_test, ds.y_test);
      best.choice = "lambda " + format_double(lambda);
      first = false;
    }
  }
  best.seconds = best.tuning_s = now_seconds() - t0;
  return best;
}

/// First second at which o's validation MSE reached `target` (one-shot methods: their end).
double time_to_target(const Outcome& o, double target) {
  const double tol = target * 1e-12;
  for (std::size_t k = 0; k < o.v.size(); ++k)
    if (o.v[k] <= target + tol) return o.t[k];
  if (o.v.empty() && !o.diverged && o.val <= target + tol) return o.seconds;
  return -1;
}

struct Stats {
  double mean = 0, sd = 0;
  int n = 0;
};
Stats stats_of(const std::vector<double>& x) {
  Stats s;
  for (double v : x) s.mean += v;
  s.n = static_cast<int>(x.size());
  if (!s.n) return s;
  s.mean /= s.n;
  for (double v : x) s.sd += (v - s.mean) * (v - s.mean);
  s.sd = s.n > 1 ? std::sqrt(s.sd / (s.n - 1)) : 0;
  return s;
}

std::string fixed(double v, int digits = 3) {
  char buf[64];
  if (std::abs(v) >= 1e5) std::snprintf(buf, sizeof buf, "%.2g", v);  // an exploded MSE stays short
  else std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string data_label(const std::string& data) {
  const auto colon = data.find(':');
  std::string l = colon == std::string::npos ? data : data.substr(colon + 1);
  const auto slash = l.find_last_of('/');
  return slash == std::string::npos ? l : l.substr(slash + 1);
}

}  // namespace

int run_compare(const std::vector<std::string>& all_args) {
  CompareOptions opt;
  bool help = false;
  const std::vector<std::string> args = take_own_options(
      all_args,
      {{"--datasets", [&](const std::string& v) { opt.datasets = parse_names(v); }},
       {"--depths", [&](const std::string& v) { opt.depths = parse_values<int>("depths", v); }},
       {"--seeds", [&](const std::string& v) { opt.seeds = parse_values<std::uint64_t>("seeds", v); }},
       {"--methods", [&](const std::string& v) { opt.methods = parse_names(v); }},
       {"--adam-lrs", [&](const std::string& v) { opt.adam_lrs = parse_values<double>("adam-lrs", v); }},
       {"--gd-lrs", [&](const std::string& v) { opt.gd_lrs = parse_values<double>("gd-lrs", v); }},
       {"--batch", [&](const std::string& v) { opt.batch = parse_values<int>("batch", v).front(); }},
       {"--epochs", [&](const std::string& v) { opt.epochs = parse_values<int>("epochs", v).front(); }},
       {"--compare-out", [&](const std::string& v) { opt.out_dir = v; }},
       {"--inits", [&](const std::string& v) { opt.inits = parse_names(v); }}},
      help);
  if (help) {
    std::cout
        << "usage: radmm compare [--datasets A,B] [--depths 5,20] [--seeds 11,12,13] [--methods LIST]\n"
           "                     [--adam-lrs LIST] [--gd-lrs LIST] [--batch B] [--epochs E] [--compare-out DIR]\n"
           "                     [--inits scaled,plain] [train options]\n\n"
           "Every method on the same split, network and initial weights, one core each (in-process):\n"
           "  admm       the train options as given (--iterations, --patience, ...)\n"
           "  adam, gd   mini-batch B (default 128), at most E epochs (default 300) with --patience, the\n"
           "             learning rate chosen from the grid (defaults 1e-4..1e-2 for adam, 1e-3..0.1 for gd)\n"
           "             by the validation MSE of the reported model\n"
           "  ridge      linear ridge regression on the raw features, lambda chosen on validation\n"
           "  untrained  the initial network (--iterations 0) with its head refitted by ridge\n"
           "Every method selects and stops on the validation rows (--validation-fraction); the test rows\n"
           "are read only for the final report. Time to target: seconds until a method's validation MSE\n"
           "first reached the tuned Adam's lowest (per evaluation, metrics.csv's val_mse). Seeds 11,12,13\n"
           "by default: 1-3 chose radmm's defaults. --datasets / --depths default to --data / --depth.\n"
           "Writes DIR/compare.csv (one row per data set, depth, seed and method), DIR/compare.md (means\n"
           "and the command) and DIR/<data>-d<depth>.svg (validation MSE against seconds, first seed).\n"
           "--inits runs every method once per initialisation (radmm train --init); with several --depths\n"
           "DIR/<data>-depth.svg plots test MSE and seconds against depth, one line per method, a panel per\n"
           "initialisation, and compare.md gets a depth table (\"diverged\" where every seed or grid value did).\n"
           "Train options: radmm train --help.\n";
    return 0;
  }
  ParsedCommand cmd = parse_train_command(args);
  Settings base = cmd.settings;
  base.quiet = true;
  base.eval_every = 1;
  base.workers = 0;
  base.validate();
  if (base.classification())
    throw Error(ExitCode::kUsage, "compare measures regression (test MSE); --loss " + base.loss + " is classification",
                "--loss", "compare classifiers with radmm train runs (docs/classification.md)");
  if (base.validation_fraction <= 0)
    throw Error(ExitCode::kUsage, "compare chooses on validation rows: --validation-fraction must be > 0",
                "--validation-fraction", "");
  for (const std::string& m : opt.methods)
    if (std::find(std::begin(kMethods), std::end(kMethods), m) == std::end(kMethods))
      throw Error(ExitCode::kUsage, "unknown method '" + m + "'", "--methods", "admm, adam, gd, ridge, untrained");
  if (opt.batch < 0 || opt.epochs < 1)
    throw Error(ExitCode::kUsage, "--batch must be >= 0 and --epochs >= 1", "command line", "");
  if (opt.inits.empty()) opt.inits = {base.init};
  for (const std::string& i : opt.inits)
    if (i != "scaled" && i != "plain")
      throw Error(ExitCode::kUsage, "unknown initialisation '" + i + "'", "--inits", "scaled, plain");
  const bool by_init = opt.inits.size() > 1;
  if (opt.datasets.empty()) opt.datasets = {base.data};
  if (opt.depths.empty()) opt.depths = {base.depth};
  if (opt.out_dir.empty()) opt.out_dir = "runs/compare-" + timestamp_utc();
  // Every data set and depth is checked before the first run.
  std::map<std::string, Table> tables;
  for (const std::string& d : opt.datasets) tables.emplace(d, read_csv(d));
  for (int depth : opt.depths) {
    Settings t = base;
    t.depth = depth;
    t.validate();
  }
  make_output_dir(opt.out_dir);
  install_signal_handlers();
  std::ostringstream repro;
  repro << "radmm compare";
  for (const auto& a : all_args) repro << ' ' << a;

  std::ostringstream csv, md;
  csv << "data,depth,seed,method,choice,selected,iterations,train_mse,val_mse,test_mse,seconds,tuning_s,"
         "target_val_mse,time_to_target_s,init,lbeta_increases,relaxation_gap,diverged_at\n";
  md << "# ADMM against tuned backprop and two reference lines\n\n"
     << "Test MSE (mean ± sd over seeds " << [&] {
          std::string s;
          for (std::size_t i = 0; i < opt.seeds.size(); ++i) s += (i ? "," : "") + std::to_string(opt.seeds[i]);
          return s;
        }()
     << "), the model each method chose on its validation rows. Seconds: the chosen run (one core); "
        "tuning: all runs of its grid. To target: seconds until the validation MSE first reached the tuned "
        "Adam's lowest, with the seeds that reached it.\n\nReproduce: `"
     << repro.str() << "`\n";
  for (const std::string& data : opt.datasets) {
    std::vector<DepthPoint> depth_points;
    for (int depth : opt.depths) {
      std::map<std::string, std::vector<Outcome>> by_method;
      Panel panel{"validation MSE, " + data_label(data) + ", depth " + std::to_string(depth) + " (seed " +
                      std::to_string(opt.seeds.front()) + ")",
                  "seconds", "MSE", {}, true};
      for (std::uint64_t seed : opt.seeds) {
        Settings s = base;
        s.data = data;
        s.depth = depth;
        s.seed = seed;
        const Dataset ds = make_dataset(tables.at(data), s.target, s.test_fraction, s.seed, s.grouped_split(),
                                        s.validation_fraction);
        std::vector<Outcome> row;
        for (const std::string& init : opt.inits) {
          s.init = init;
          for (const std::string& m : opt.methods) {
            if (m == "ridge" && init != opt.inits.front()) continue;  // no network: once per seed
            std::fprintf(stderr, "radmm compare: %s depth %d seed %llu: %s%s\n", data.c_str(), depth,
                         static_cast<unsigned long long>(seed), m.c_str(), by_init ? (" " + init).c_str() : "");
            if (m == "admm") {
              Settings t = s;
              t.method = "admm";
              row.push_back(admm_outcome("admm", t, ds));
            } else if (m == "adam" || m == "gd") {
              row.push_back(tuned_backprop(s, ds, m, m == "adam" ? opt.adam_lrs : opt.gd_lrs, opt));
            } else if (m == "ridge") {
              row.push_back(tuned_ridge(ds, opt));
            } else {
              Settings t = s;
              t.method = "admm";
              t.iterations = 0;
              row.push_back(admm_outcome("untrained", t, ds));
            }
            row.back().init = m == "ridge" ? "-" : init;
          }
        }
        for (Outcome& o : row) {
          // The target: the tuned Adam's lowest validation MSE with the same initialisation (none
          // without adam in the list).
          double target = -1;
          for (const Outcome& a : row)
            if (a.method == "adam" && a.init == o.init && !a.diverged) target = a.best_eval_val;
          if (o.method == "ridge")
            for (const Outcome& a : row)
              if (a.method == "adam" && a.init == opt.inits.front() && !a.diverged) target = a.best_eval_val;
          if (target >= 0) o.to_target = time_to_target(o, target);
          csv << data << ',' << depth << ',' << seed << ',' << o.method << ',' << o.choice << ',';
          if (o.diverged) {
            csv << ",,diverged,diverged,diverged,,," << (target >= 0 ? format_double(target) : "") << ",";
          } else {
            csv << o.selected << ',' << o.iterations << ',' << format_double(o.train) << ',' << format_double(o.val)
                << ',' << format_double(o.test) << ',' << format_double(o.seconds) << ',' << format_double(o.tuning_s)
                << ',' << (target >= 0 ? format_double(target) : "") << ','
                << (o.to_target >= 0 ? format_double(o.to_target) : "");
          }
          std::string note = o.note;
          std::replace(note.begin(), note.end(), ',', ';');
          csv << ',' << o.init << ',' << (o.lbeta_increases >= 0 ? std::to_string(o.lbeta_increases) : "") << ','
              << (o.relaxation_gap >= 0 ? format_double(o.relaxation_gap) : "") << ',' << note << '\n';
          if (seed == opt.seeds.front() && !o.diverged) {
            Series line{o.label(by_init && o.method != "ridge") + (o.choice.empty() ? "" : " (" + o.choice + ")"), o.t, o.v};
            if (o.t.empty()) line = {line.name, {0.0, o.seconds}, {o.val, o.val}, true};  // one-shot: a level
            panel.series.push_back(line);
          }
          by_method[o.label(by_init && o.method != "ridge")].push_back(o);
          depth_points.push_back({o.method, o.init, depth, o.diverged, o.test, o.seconds, o.lbeta_increases, o.relaxation_gap});
        }
        write_file_atomic(opt.out_dir + "/compare.csv", csv.str());  // partial results survive a stop
      }
      md << "\n## " << data_label(data) << ", depth " << depth << ", width " << base.width << "\n\n"
         << "| method | test MSE | per seed | validation MSE | train MSE | chosen | seconds | tuning s | to target "
            "| L_beta increases | relaxation gap |\n"
         << "|---|---|---|---|---|---|---|---|---|---|---|\n";
      std::vector<std::string> labels;
      for (const std::string& init : opt.inits)
        for (const std::string& m : opt.methods)
          if (m != "ridge" || init == opt.inits.front()) labels.push_back(by_init && m != "ridge" ? m + " (" + init + ")" : m);
      for (const std::string& m : labels) {
        const auto& runs = by_method[m];
        std::vector<double> increases, gaps;
        for (const Outcome& o : runs)
          if (!o.diverged && o.lbeta_increases >= 0) increases.push_back(o.lbeta_increases), gaps.push_back(o.relaxation_gap);
        std::vector<double> test, val, train, secs, tune, reach;
        std::string per_seed, chosen;
        for (const Outcome& o : runs) {
          per_seed += (per_seed.empty() ? "" : " / ") + (o.diverged ? std::string("diverged") : fixed(o.test));
          if (o.diverged) continue;
          test.push_back(o.test), val.push_back(o.val), train.push_back(o.train);
          secs.push_back(o.seconds), tune.push_back(o.tuning_s);
          if (o.to_target >= 0) reach.push_back(o.to_target);
          if (chosen.find(o.choice) == std::string::npos) chosen += (chosen.empty() ? "" : "; ") + o.choice;
        }
        const Stats t = stats_of(test);
        md << "| " << m << " | " << (t.n ? fixed(t.mean) + " ± " + fixed(t.sd) : "diverged") << " | " << per_seed
           << " | " << (t.n ? fixed(stats_of(val).mean) : "-") << " | " << (t.n ? fixed(stats_of(train).mean) : "-")
           << " | " << (chosen.empty() ? "-" : chosen) << " | " << fixed(stats_of(secs).mean, 2) << " | "
           << fixed(stats_of(tune).mean, 2) << " | "
           << (reach.empty() ? std::string("not reached")
                             : fixed(stats_of(reach).mean, 2) + " s (" + std::to_string(reach.size()) + "/" +
                                   std::to_string(runs.size()) + ")")
           << " | " << (increases.empty() ? "-" : fixed(stats_of(increases).mean, 1)) << " | "
           << (gaps.empty() ? "-" : fixed(stats_of(gaps).mean, 4)) << " |\n";
      }
      const std::string svg = data_label(data) + "-d" + std::to_string(depth) + ".svg";
      write_file_atomic(opt.out_dir + "/" + svg, svg_panels({panel}, 1));
      md << "\n![validation MSE against seconds](" << svg << ")\n";
      std::printf("%s, depth %d: done\n", data_label(data).c_str(), depth);
      std::fflush(stdout);
    }
    if (opt.depths.size() > 1)
      md << depth_study_section(data_label(data), opt.depths, opt.methods, opt.inits, depth_points, opt.out_dir);
  }
  write_file_atomic(opt.out_dir + "/compare.md", md.str());
  std::cout << md.str() << "\nwrote " << opt.out_dir << "/compare.csv, compare.md and the plots\n";
  return 0;
}

}  // namespace radmm
