// Settings defaults, validation rules, and the command-line / INI parser.
#include "common/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "common/grid.hpp"
#include "common/io.hpp"

namespace po = boost::program_options;

namespace radmm {

namespace {

[[noreturn]] void bad(const std::string& option, const std::string& rule, const std::string& got) {
  throw Error(ExitCode::kUsage, "--" + option + " " + rule + " (got " + got + ")", "command line or --config",
              "see radmm train --help");
}
void positive(const char* name, double v) {
  if (!(v > 0) || !std::isfinite(v)) bad(name, "must be > 0 and finite", format_double(v));
}
void nonnegative(const char* name, double v) {
  if (!(v >= 0) || !std::isfinite(v)) bad(name, "must be >= 0 and finite", format_double(v));
}

}  // namespace

int online_cores() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Schedule Settings::schedule_kind() const { return schedule == "sweep" ? Schedule::kSweep : Schedule::kPhase; }
double Settings::resolved_learning_rate() const {
  if (learning_rate > 0) return learning_rate;
  return method == "gd" ? 0.01 : 1e-3;
}

int Settings::resolved_workers() const {
  if (backprop()) return 0;
  if (workers >= 0) return workers;
  if (schedule_kind() == Schedule::kSweep) return 0;
  Grid g;
  if (grid != "auto" && parse_grid(grid, g)) return g.workers();
  return sample_shardable() ? online_cores() : std::min(online_cores(), depth - 1);
}

Activation Settings::activation_kind() const {
  return activation == "identity" ? Activation::kIdentity : Activation::kRelu;
}

void Settings::validate() const {
  if (data.empty()) bad("data", "must name a CSV file or builtin:wine-red / builtin:wine-white", "''");
  if (!(test_fraction >= 0 && test_fraction < 1)) bad("test-fraction", "must be in [0, 1)", format_double(test_fraction));
  if (split != "grouped" && split != "random") bad("split", "must be grouped or random", split);
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    bad("validation-fraction", "must be in [0, 1)", format_double(validation_fraction));
  if (patience < 0) bad("patience", "must be >= 0 (0 = never stop early)", std::to_string(patience));
  if (depth < 2 || depth > 10000) bad("depth", "must be in [2, 10000] (lifting layer + head at least)", std::to_string(depth));
  if (width < 1 || width > 65536) bad("width", "must be in [1, 65536]", std::to_string(width));
  if (activation != "relu" && activation != "identity") bad("activation", "must be relu or identity", activation);
  if (init != "scaled" && init != "plain") bad("init", "must be scaled or plain", init);
  if (iterations < 0) bad("iterations", "must be >= 0", std::to_string(iterations));
  positive("gamma", gamma);
  positive("rho", rho);
  if (loss != "squared" && loss != "onehot" && loss != "softmax") bad("loss", "must be squared, onehot or softmax", loss);
  // Softmax cross-entropy's gradient is 1/2-Lipschitz, so L_beta decreases for beta > 1/2 (docs/algorithm.md).
  if (loss == "softmax") {
    if (!(beta > 0.5) || !std::isfinite(beta)) bad("beta", "must be > 1/2 and finite with --loss softmax", format_double(beta));
  } else if (!(beta > 1) || !std::isfinite(beta)) {
    bad("beta", "must be > 1 and finite (ALGORITHM.md O3)", format_double(beta));
  }
  nonnegative("alpha", alpha);
  nonnegative("lambda", lambda);
  if (schedule != "sweep" && schedule != "phase") bad("schedule", "must be sweep or phase", schedule);
  if (precision != "double" && precision != "float") bad("precision", "must be double or float", precision);
  if (backprop() && precision != "double")
    bad("precision", "applies to admm and bcd; gd and adam run in double", precision);
  if (splitting != "ts3" && splitting != "ts2") bad("splitting", "must be ts3 or ts2", splitting);
  if (update != "proximal" && update != "linearized") bad("update", "must be proximal or linearized", update);
  if (reproject_every < 0) bad("reproject-every", "must be >= 0", std::to_string(reproject_every));
  if (inner_passes < 1 || inner_passes > kMaxInnerPasses)
    bad("inner-passes", "must be in [1, " + std::to_string(kMaxInnerPasses) + "]", std::to_string(inner_passes));
  if (method != "admm" && method != "bcd" && method != "gd" && method != "adam")
    bad("method", "must be admm, bcd, gd or adam", method);
  if (!(learning_rate >= 0) || !std::isfinite(learning_rate))
    bad("learning-rate", "must be >= 0 and finite (0 = the method's default)", format_double(learning_rate));
  if (batch_size < 0) bad("batch-size", "must be >= 0 (0 = full batch)", std::to_string(batch_size));
  if (backprop() && workers > 0)
    bad("workers", "applies to admm and bcd; gd and adam run in-process (use --workers 0)", std::to_string(workers));
  if (backprop() && (checkpoint_every > 0 || !resume.empty()))
    bad(checkpoint_every > 0 ? "checkpoint-every" : "resume", "applies to admm and bcd only", method);
  if (workers < -1) bad("workers", "must be >= 0, or -1 for the number of cores", std::to_string(workers));
  if (workers > 0 && schedule != "phase")
    bad("workers", "needs --schedule phase (the sweep is serial); use --workers 0 with sweep", std::to_string(workers));
  const int hidden = depth - 1;
  if (workers > hidden && !sample_shardable())
    bad("workers", "must not exceed the number of hidden layers (depth - 1 = " + std::to_string(hidden) +
        ") with --splitting ts2 or --update linearized (only the exact ts3 updates shard the samples)",
        std::to_string(workers));
  if (chunk_columns < 1 || chunk_columns > (1 << 24))
    bad("chunk-columns", "must be in [1, 16777216]", std::to_string(chunk_columns));
  if (spin_us < 0 || spin_us > 1000000) bad("spin-us", "must be in [0, 1000000]", std::to_string(spin_us));
  if (grid != "auto") {
    Grid g;
    if (!parse_grid(grid, g)) bad("grid", "must be auto or RxS with R, S >= 1 (e.g. 2x4)", grid);
    if (backprop() || schedule != "phase" || workers == 0)
      bad("grid", "needs --schedule phase and workers (admm or bcd; not --workers 0)", grid);
    if (workers > 0 && g.workers() != workers)
      bad("grid", "R x S must equal --workers " + std::to_string(workers), grid);
    if (g.regions > hidden)
      bad("grid", "R must not exceed the number of hidden layers (depth - 1 = " + std::to_string(hidden) + ")", grid);
    if (g.shards > 1 && !sample_shardable())
      bad("grid", "S > 1 sample shards need the exact ts3 updates (--splitting ts3 --update proximal)", grid);
  }
  positive("phase-timeout", phase_timeout);
  if (transport != "fork" && transport != "mpi") bad("transport", "must be fork or mpi", transport);
#ifndef RADMM_MPI
  if (transport == "mpi")
    bad("transport", "needs a radmm built with MPI (install libopenmpi-dev and rebuild: RADMM_MPI)", transport);
#endif
  if (transport == "mpi" && grid != "auto") {
    Grid g;
    if (parse_grid(grid, g) && g.shards > 1)
      bad("grid", "the mpi transport splits the layers only (R x 1); sample shards need --transport fork", grid);
  }
  if (transport == "mpi" && (backprop() || schedule != "phase"))
    bad("transport", "mpi runs the phase schedule of admm / bcd (use --schedule phase, --method admm or bcd)", transport);
  if (checkpoint_every < 0) bad("checkpoint-every", "must be >= 0", std::to_string(checkpoint_every));
  if (eval_every < 0) bad("eval-every", "must be >= 0", std::to_string(eval_every));
}

namespace {

std::string fmt(double v) { return format_double(v); }

/// The single table of options: used by the parser, --help and --print-config.
po::options_description make_options(Settings& s, bool& help, bool& print_config, std::string& config) {
  const Settings d;  // defaults
  po::options_description opts("radmm train options");
  // clang-format off
  opts.add_options()
    ("help,h", po::bool_switch(&help), "print this help and exit")
    ("config", po::value(&config)->value_name("FILE"), "INI file of key = value lines (command line wins)")
    ("print-config", po::bool_switch(&print_config), "print the effective settings as INI and exit")
    ("data", po::value(&s.data)->default_value(d.data)->value_name("FILE"),
        "CSV file (';' or ',' separated, header line), builtin:wine-red / builtin:wine-white, or IDX images: "
        "fashion-mnist (Debian package dataset-fashion-mnist), fashion-mnist:DIR, mnist:DIR (official train/test split)")
    ("target", po::value(&s.target)->default_value(d.target, "last column")->value_name("COL"),
        "target column: header name or 1-based index")
    ("test-fraction", po::value(&s.test_fraction)->default_value(d.test_fraction, fmt(d.test_fraction)),
        "share of rows held out for testing, in [0, 1)")
    ("seed", po::value(&s.seed)->default_value(d.seed), "seed of the split and the initial weights")
    ("split", po::value(&s.split)->default_value(d.split),
        "grouped (rows with identical features all on one side, so no test row is a copy of a training "
        "row) | random (plain shuffle)")
    ("validation-fraction", po::value(&s.validation_fraction)->default_value(d.validation_fraction, fmt(d.validation_fraction)),
        "share of the training rows held out (split like the test rows) for model selection, in [0, 1)")
    ("loss", po::value(&s.loss)->default_value(d.loss),
        "squared (regression) | onehot (K outputs, squared loss on one-hot targets) | softmax (cross-entropy); "
        "classification needs integer labels (IDX data, or a CSV target column)")
    ("depth", po::value(&s.depth)->default_value(d.depth), "layers N incl. lifting layer and linear head (>= 2)")
    ("width", po::value(&s.width)->default_value(d.width), "hidden width d")
    ("activation", po::value(&s.activation)->default_value(d.activation), "relu | identity")
    ("init", po::value(&s.init)->default_value(d.init),
        "initial weights: scaled (He, residual branches scaled by 1/sqrt(depth)) | plain (He on every layer, "
        "no branch scaling: what a naive deep ResNet uses)")
    ("method", po::value(&s.method)->default_value(d.method),
        "admm | bcd (multiplier fixed at 0) | gd | adam (backprop baselines, same network and data)")
    ("learning-rate", po::value(&s.learning_rate)->default_value(d.learning_rate, "0"),
        "gd / adam step size; 0 = 1e-3 for adam, 0.01 for gd (mean loss)")
    ("batch-size", po::value(&s.batch_size)->default_value(d.batch_size), "gd / adam mini-batch; 0 = full batch")
    ("iterations", po::value(&s.iterations)->default_value(d.iterations), "ADMM iterations K (epochs for gd / adam)")
    ("gamma", po::value(&s.gamma)->default_value(d.gamma, fmt(d.gamma)), "activation penalty weight (> 0)")
    ("rho", po::value(&s.rho)->default_value(d.rho, fmt(d.rho)), "pre-activation penalty weight (> 0)")
    ("beta", po::value(&s.beta)->default_value(d.beta, fmt(d.beta)), "output-constraint penalty (> 1)")
    ("alpha", po::value(&s.alpha)->default_value(d.alpha, fmt(d.alpha)), "proximal weight of every block step (>= 0)")
    ("lambda", po::value(&s.lambda)->default_value(d.lambda, fmt(d.lambda)), "ridge weight on the weights (>= 0)")
    ("schedule", po::value(&s.schedule)->default_value(d.schedule), "sweep (serial Gauss-Seidel) | phase (parallel-ready)")
    ("precision", po::value(&s.precision)->default_value(d.precision),
        "double | float: scalar of the ADMM state and arithmetic (admm, bcd; gd / adam run in double)")
    ("splitting", po::value(&s.splitting)->default_value(d.splitting),
        "ts3 (pre-activations U and activations V) | ts2 (V only, sigma inside the penalty)")
    ("update", po::value(&s.update)->default_value(d.update),
        "proximal (exact block minimisers; ts2 falls back to prox-gradient where sigma is inside) | "
        "linearized (one prox-gradient step per W and V block, power-iteration step sizes, backtracking)")
    ("reproject-every", po::value(&s.reproject_every)->default_value(d.reproject_every),
        "reset U, V, V_N and Lambda to the forward pass of the current weights every k iterations (0 = never)")
    ("inner-passes", po::value(&s.inner_passes)->default_value(d.inner_passes),
        "passes over the V and U blocks per W update (phase: V-even, V-odd, U repeated; sweep: backward V, U pass)")
    ("refit-head", po::value(&s.refit_head)->default_value(d.refit_head, d.refit_head ? "true" : "false"),
        "ridge-refit the head on the true forward features after the last iteration")
    ("early-stop", po::value(&s.early_stop)->default_value(d.early_stop, d.early_stop ? "true" : "false"),
        "report the weights of the evaluation with the lowest validation MSE (classification: validation loss) instead of the last ones")
    ("patience", po::value(&s.patience)->default_value(d.patience),
        "with --early-stop, stop after k evaluations without a lower validation MSE or loss (0 = run every iteration)")
    ("workers", po::value(&s.workers)->default_value(d.workers),
        "worker processes (phase schedule); 0 = in-process; -1 = one per core (R x S of --grid when given; at most "
        "depth - 1 for ts2 / linearized; in-process for sweep)")
    ("phase-timeout", po::value(&s.phase_timeout)->default_value(d.phase_timeout, fmt(d.phase_timeout)),
        "seconds a phase may take before the run is stopped (exit 5)")
    ("grid", po::value(&s.grid)->default_value(d.grid)->value_name("RxS"),
        "worker grid: R layer regions x S sample shards, R x S = --workers, R <= depth - 1, S <= the "
        "sample chunks (S > 1: exact ts3 updates only); auto = the cheapest by the cost model (docs/algorithm.md)")
    ("chunk-columns", po::value(&s.chunk_columns)->default_value(d.chunk_columns),
        "samples per chunk of the fixed-order sums over samples (phase schedule): the grid never changes "
        "the iterates, this does (as a different summation order would)")
    ("transport", po::value(&s.transport)->default_value(d.transport),
        "fork (forked workers over shared memory) | mpi (under mpirun -np K: ranks 1..K-1 are the workers, "
        "--workers = K - 1)")
    ("spin-us", po::value(&s.spin_us)->default_value(d.spin_us),
        "fork transport: microseconds a phase handshake polls its semaphore before sleeping on it, used only "
        "when every process has a core (workers + 1 <= cores; 0 = always sleep at once)")
    ("out", po::value(&s.out)->default_value(d.out, "runs/<timestamp>")->value_name("DIR"), "run folder")
    ("checkpoint-every", po::value(&s.checkpoint_every)->default_value(d.checkpoint_every),
        "write a checkpoint every k iterations into DIR/checkpoints (0 = only on SIGINT / SIGTERM)")
    ("resume", po::value(&s.resume)->default_value(d.resume, "")->value_name("DIR"),
        "continue the run in DIR from its newest checkpoint (same settings; --iterations may grow)")
    ("eval-every", po::value(&s.eval_every)->default_value(d.eval_every),
        "forward-pass train/test MSE every k iterations (0 = only at the end)")
    ("diagnostics", po::value(&s.diagnostics)->default_value(d.diagnostics, d.diagnostics ? "true" : "false"),
        "per-iteration step norms, decrease constants and rate fits (keeps a copy of the state)")
    ("quiet", po::bool_switch(&s.quiet), "no progress output");
  // clang-format on
  return opts;
}

/// Reads "key = value" lines; '#' or ';' starts a comment line. Returns --key=value
/// arguments and remembers each key's line for error messages.
std::vector<std::string> read_ini(const std::string& text, const std::string& path,
                                  const po::options_description& opts, std::map<std::string, int>& line_of) {
  std::vector<std::string> args;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  auto trim = [](std::string x) {
    const char* ws = " \t\r";
    x.erase(0, x.find_first_not_of(ws));
    x.erase(x.find_last_not_of(ws) + 1);
    return x;
  };
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    auto eq = t.find('=');
    const std::string where = path + ":" + std::to_string(lineno) + ":1";
    if (eq == std::string::npos)
      throw Error(ExitCode::kUsage, "expected 'key = value'", where, "see radmm train --help for the keys");
    std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (key == "config" || key == "help" || key == "print-config" || !opts.find_nothrow(key, false))
      throw Error(ExitCode::kUsage, "unknown setting '" + key + "'", where, "see radmm train --help for the keys");
    if (line_of.count(key))
      throw Error(ExitCode::kUsage, "duplicate setting '" + key + "' (first on line " +
                  std::to_string(line_of[key]) + ")", where, "keep one");
    line_of[key] = lineno;
    if (key == "quiet") {
      if (value == "true" || value == "1") args.push_back("--quiet");
      else if (value != "false" && value != "0")
        throw Error(ExitCode::kUsage, "quiet must be true or false", where, "");
      continue;
    }
    if (value.empty()) continue;  // "key =" keeps the default (as --print-config writes it)
    args.push_back("--" + key + "=" + value);
  }
  return args;
}

}  // namespace

ParsedCommand parse_train_command(const std::vector<std::string>& args, const std::string& base_ini,
                                  const std::string& base_name) {
  ParsedCommand cmd;
  std::string config;
  po::options_description opts = make_options(cmd.settings, cmd.help, cmd.print_config, config);
  po::variables_map vm;
  std::string context = "command line";
  std::map<std::string, int> line_of;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    if (vm.count("config")) {
      config = vm["config"].as<std::string>();
      context = config;
      auto file_args = read_ini(read_file(config), config, opts, line_of);
      // Options already given on the command line keep their value (po::store does not overwrite).
      po::store(po::command_line_parser(file_args).options(opts).run(), vm);
    }
    if (!base_ini.empty()) {
      std::map<std::string, int> base_lines;
      context = base_name;
      po::store(po::command_line_parser(read_ini(base_ini, context, opts, base_lines)).options(opts).run(), vm);
    }
    po::notify(vm);
  } catch (const po::error_with_option_name& e) {
    std::string where = context;
    std::string name = e.get_option_name();
    while (!name.empty() && name[0] == '-') name.erase(0, 1);
    if (line_of.count(name)) where = context + ":" + std::to_string(line_of[name]) + ":1";
    throw Error(ExitCode::kUsage, e.what(), where, "see radmm train --help");
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, e.what(), context, "see radmm train --help");
  }
  std::ostringstream help;
  help << "usage: radmm train [options]\n\n" << opts;
  cmd.help_text = help.str();
  return cmd;
}

std::string settings_to_ini(const Settings& s) {
  std::ostringstream o;
  o << "data = " << s.data << "\n"
    << "target = " << s.target << "\n"
    << "test-fraction = " << fmt(s.test_fraction) << "\n"
    << "seed = " << s.seed << "\n"
    << "split = " << s.split << "\n"
    << "validation-fraction = " << fmt(s.validation_fraction) << "\n"
    << "loss = " << s.loss << "\n"
    << "depth = " << s.depth << "\n"
    << "width = " << s.width << "\n"
    << "activation = " << s.activation << "\n"
    << "init = " << s.init << "\n"
    << "method = " << s.method << "\n"
    << "learning-rate = " << fmt(s.learning_rate) << "\n"
    << "batch-size = " << s.batch_size << "\n"
    << "iterations = " << s.iterations << "\n"
    << "gamma = " << fmt(s.gamma) << "\n"
    << "rho = " << fmt(s.rho) << "\n"
    << "beta = " << fmt(s.beta) << "\n"
    << "alpha = " << fmt(s.alpha) << "\n"
    << "lambda = " << fmt(s.lambda) << "\n"
    << "schedule = " << s.schedule << "\n"
    << "precision = " << s.precision << "\n"
    << "splitting = " << s.splitting << "\n"
    << "update = " << s.update << "\n"
    << "reproject-every = " << s.reproject_every << "\n"
    << "inner-passes = " << s.inner_passes << "\n"
    << "refit-head = " << (s.refit_head ? "true" : "false") << "\n"
    << "early-stop = " << (s.early_stop ? "true" : "false") << "\n"
    << "patience = " << s.patience << "\n"
    << "workers = " << s.workers << "\n"
    << "phase-timeout = " << fmt(s.phase_timeout) << "\n"
    << "grid = " << s.grid << "\n"
    << "chunk-columns = " << s.chunk_columns << "\n"
    << "spin-us = " << s.spin_us << "\n"
    << "transport = " << s.transport << "\n"
    << "out = " << s.out << "\n"
    << "checkpoint-every = " << s.checkpoint_every << "\n"
    << "eval-every = " << s.eval_every << "\n"
    << "diagnostics = " << (s.diagnostics ? "true" : "false") << "\n"
    << "quiet = " << (s.quiet ? "true" : "false") << "\n";
  return o.str();
}

std::string first_math_difference(const Settings& a, const Settings& b) {
  if (a.data != b.data) return "data";
  if (a.target != b.target) return "target";
  if (a.test_fraction != b.test_fraction) return "test-fraction";
  if (a.seed != b.seed) return "seed";
  if (a.split != b.split) return "split";
  if (a.validation_fraction != b.validation_fraction) return "validation-fraction";
  if (a.early_stop != b.early_stop) return "early-stop";
  if (a.patience != b.patience) return "patience";
  if (a.loss != b.loss) return "loss";
  if (a.depth != b.depth) return "depth";
  if (a.width != b.width) return "width";
  if (a.activation != b.activation) return "activation";
  if (a.init != b.init) return "init";
  if (a.gamma != b.gamma) return "gamma";
  if (a.rho != b.rho) return "rho";
  if (a.beta != b.beta) return "beta";
  if (a.alpha != b.alpha) return "alpha";
  if (a.lambda != b.lambda) return "lambda";
  if (a.schedule != b.schedule) return "schedule";
  if (a.precision != b.precision) return "precision";
  if (a.splitting != b.splitting) return "splitting";
  if (a.update != b.update) return "update";
  if (a.reproject_every != b.reproject_every) return "reproject-every";
  if (a.inner_passes != b.inner_passes) return "inner-passes";
  if (a.refit_head != b.refit_head) return "refit-head";
  if (a.method != b.method) return "method";
  if (a.schedule == "phase" && a.chunk_columns != b.chunk_columns) return "chunk-columns";
  return "";
}

std::string settings_to_json(const Settings& s) {
  std::ostringstream o;
  auto str = [](const std::string& x) { return "\"" + json_escape(x) + "\""; };
  o << "{\"data\": " << str(s.data) << ", \"target\": " << str(s.target)
    << ", \"test_fraction\": " << fmt(s.test_fraction) << ", \"seed\": " << s.seed << ", \"split\": " << str(s.split)
    << ", \"validation_fraction\": " << fmt(s.validation_fraction)
    << ", \"loss\": " << str(s.loss)
    << ", \"depth\": " << s.depth << ", \"width\": " << s.width << ", \"activation\": " << str(s.activation)
    << ", \"init\": " << str(s.init)
    << ", \"method\": " << str(s.method) << ", \"learning_rate\": " << fmt(s.resolved_learning_rate())
    << ", \"batch_size\": " << s.batch_size << ", \"iterations\": " << s.iterations << ", \"gamma\": " << fmt(s.gamma) << ", \"rho\": " << fmt(s.rho)
    << ", \"beta\": " << fmt(s.beta) << ", \"alpha\": " << fmt(s.alpha) << ", \"lambda\": " << fmt(s.lambda)
    << ", \"schedule\": " << str(s.schedule) << ", \"precision\": " << str(s.precision) << ", \"splitting\": " << str(s.splitting)
    << ", \"update\": " << str(s.update) << ", \"reproject_every\": " << s.reproject_every << ", \"inner_passes\": " << s.inner_passes << ", \"refit_head\": " << (s.refit_head ? "true" : "false")
    << ", \"early_stop\": " << (s.early_stop ? "true" : "false") << ", \"patience\": " << s.patience
    << ", \"workers\": " << s.workers << ", \"phase_timeout\": " << fmt(s.phase_timeout)
    << ", \"grid\": " << str(s.grid) << ", \"chunk_columns\": " << s.chunk_columns << ", \"spin_us\": " << s.spin_us
    << ", \"transport\": " << str(s.transport)
    << ", \"out\": " << str(s.out) << ", \"checkpoint_every\": " << s.checkpoint_every
    << ", \"resume\": " << str(s.resume) << ", \"eval_every\": " << s.eval_every
    << ", \"diagnostics\": " << (s.diagnostics ? "true" : "false") << "}";
  return o.str();
}

}  // namespace radmm
