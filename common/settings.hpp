// Settings: every knob of a run, with in-class defaults, validate(), and the
// Boost.Program_options table that reads them from the command line and INI files.
// Defaults come from the sweeps recorded in docs/tuning.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace radmm {

enum class Schedule { kSweep, kPhase };
enum class Activation { kRelu, kIdentity };

/// Default of --chunk-columns: samples per chunk of the fixed-order sums (common/grid.hpp).
constexpr int kDefaultChunkColumns = 256;

/// Default of --spin-us: microseconds a fork-transport handshake polls before it sleeps
/// (docs/benchmarks.md, "The phase handshake").
constexpr int kDefaultSpinUs = 5000;

/// Upper bound of --inner-passes (a checkpoint's phase position is below 3 * this + 1).
constexpr int kMaxInnerPasses = 1000;

struct Settings {
  // Data
  std::string data = "builtin:wine-red";  ///< CSV path, or builtin:wine-red / builtin:wine-white
  std::string target;                     ///< target column: header name or 1-based index; empty = last
  double test_fraction = 0.2;             ///< held-out share of the rows, in [0, 1)
  std::uint64_t seed = 1;                 ///< seeds the split and the initial weights
  std::string split = "grouped";          ///< grouped (copies of a row never straddle the split) | random
  double validation_fraction = 0.15;      ///< share of the training rows held out for model selection, in [0, 1)
  std::string loss = "squared";           ///< squared (regression) | onehot | softmax (classification, integer labels)

  // Network: depth N counts the lifting layer and the linear head, so N - 1 hidden blocks.
  int depth = 5;                          ///< N >= 2
  int width = 32;                         ///< d, hidden width
  std::string activation = "relu";        ///< relu | identity
  std::string init = "scaled";            ///< scaled (He, residual branches x 1/sqrt(N)) | plain (He on every layer)

  // Method: admm (TS3 proximal ADMM), bcd (the same with the multiplier fixed at 0), or the
  // backprop baselines gd / adam on the same network and data.
  std::string method = "admm";            ///< admm | bcd | gd | adam
  double learning_rate = 0;               ///< gd / adam step; 0 = 1e-3 for adam, 0.01 for gd
  int batch_size = 0;                     ///< gd / adam mini-batch size; 0 = full batch

  // ADMM (ALGORITHM.md sections 2-3, 5, 7)
  int iterations = 100;                   ///< K, ADMM iterations (epochs for gd / adam)
  double gamma = 1.0;                     ///< weight of the activation penalty ||V_i - R_i - sigma(U_i)||^2
  double rho = 1.0;                       ///< weight of the pre-activation penalty ||U_i - W_i V~_{i-1}||^2
  double beta = 1.05;                     ///< augmented-Lagrangian penalty of the output constraint (> 1)
  double alpha = 0.01;                    ///< proximal weight on every block step (>= 0)
  double lambda = 10.0;                   ///< ridge weight on every W_i (bias included)
  std::string schedule = "phase";         ///< sweep | phase
  std::string precision = "double";       ///< double | float: the scalar of the ADMM state and its arithmetic
  std::string splitting = "ts3";          ///< ts3 (U and V) | ts2 (V only, sigma inside the penalty)
  std::string update = "proximal";        ///< proximal (exact block minimisers) | linearized (prox-gradient)
  int reproject_every = 3;                ///< reset U, V, V_N, Lambda to the forward pass every k iterations (0 = never)
  int inner_passes = 1;                   ///< V and U passes per W update: the signal moves one layer per Jacobi pass
  bool refit_head = true;                 ///< ridge-refit W_N on the true forward features at the end

  // Model selection on the validation rows (every method; the test rows are read only at the end)
  bool early_stop = true;                 ///< report the weights of the evaluation with the lowest validation MSE
  int patience = 20;                      ///< stop after this many evaluations without improvement (0 = never)

  // Parallel run
  int workers = -1;                       ///< worker processes; 0 = in-process; -1 = one per core (max depth-1)
  double phase_timeout = 300.0;           ///< seconds a phase may take before the run stops (exit 5)
  std::string grid = "auto";              ///< RxS: R layer regions x S sample shards (R S = workers); auto = cost model
  int chunk_columns = kDefaultChunkColumns;              ///< samples per chunk of the fixed-order sums (changes the rounding, not P)
  std::string transport = "fork";         ///< fork (forked workers, shared memory) | mpi (ranks of mpirun -np K)
  int spin_us = kDefaultSpinUs;           ///< fork: poll a phase semaphore this long before sleeping (when a core is free per process)

  // Output and checkpoints
  std::string out;                        ///< run folder; empty = runs/<timestamp>
  int checkpoint_every = 0;               ///< checkpoint every k iterations (0 = only on SIGINT/SIGTERM)
  std::string resume;                     ///< run folder to resume from its newest checkpoint
  int eval_every = 1;                     ///< forward-pass train/test MSE every k iterations (0 = end only)
  bool quiet = false;                     ///< no progress output
  bool diagnostics = true;                ///< per-iteration ||x^{k+1} - x^k||^2, decrease constants, rate fits

  /// Throws Error(kUsage) naming the first option that breaks a rule.
  void validate() const;
  Schedule schedule_kind() const;
  /// Worker count after resolving -1: R x S of an explicit --grid, else the cores for phase (at
  /// most depth - 1 when the samples cannot be sharded), 0 for sweep.
  int resolved_workers() const;
  /// The exact TS3 updates (ts3, proximal): the only variant whose samples can be sharded.
  bool sample_shardable() const { return splitting == "ts3" && update == "proximal"; }
  Activation activation_kind() const;
  bool grouped_split() const { return split == "grouped"; }
  bool scaled_init() const { return init == "scaled"; }
  bool backprop() const { return method == "gd" || method == "adam"; }
  bool classification() const { return loss != "squared"; }
  /// The learning rate after resolving 0 to the method's default.
  double resolved_learning_rate() const;
};

/// What the command line asked for besides the settings.
struct ParsedCommand {
  Settings settings;
  bool help = false;
  bool print_config = false;
  std::string help_text;
};

/// Parses `argv` (after the subcommand) and an optional --config INI file; the command
/// line wins over the file, the file over `base_ini` (a checkpoint's settings on resume, or a
/// subcommand's defaults), which errors call `base_name`.
/// Throws Error(kUsage) / Error(kNoInput) on bad input.
ParsedCommand parse_train_command(const std::vector<std::string>& args, const std::string& base_ini = "",
                                  const std::string& base_name = "checkpoint settings");

/// The first setting that changes the iterates and differs between a and b ("" if none);
/// resuming may change only iterations, workers, timeouts, checkpointing and output verbosity.
std::string first_math_difference(const Settings& a, const Settings& b);

/// The effective settings as INI lines ("key = value"), loadable with --config.
std::string settings_to_ini(const Settings& s);

/// The effective settings as a JSON object (for summary.json).
std::string settings_to_json(const Settings& s);

/// Number of online cores (>= 1).
int online_cores();

}  // namespace radmm
