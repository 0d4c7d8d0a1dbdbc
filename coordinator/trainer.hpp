// The training loop (ALGORITHM.md 5): initialise the state by a forward pass, run K
// iterations of the sweep or phase schedule, update V_N and Lambda, reduce L_beta in layer
// order, evaluate the true forward pass, and finish with the optional ridge refit of the head.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/checkpoint.hpp"
#include "common/diagnostics.hpp"
#include "common/dataset.hpp"
#include "common/layout.hpp"
#include "common/model.hpp"
#include "common/selection.hpp"
#include "coordinator/transport.hpp"

namespace radmm {

/// One row of metrics.csv.
struct IterationRecord {
  int iter = 0;
  double elapsed_s = 0;              ///< since the start of iteration 1, evaluation included
  double lagrangian = 0;             ///< L_beta after the iteration
  double train_mse = -1, val_mse = -1;  ///< MSE in target units of the model as reported (head refit if on); -1 = none
  double relaxed_mse = 0;            ///< ||V_N - Y||^2 / n in target units (the relaxed output)
  double constraint_residual = 0;    ///< ||V_N - W_N V~_{N-1}||_F
  double phase_s[kPhaseCount] = {};  ///< wall seconds per phase (phase schedule)
  double phase_overhead_s[kPhaseCount] = {};  ///< phase_s minus the slowest worker's compute
  double admm_s = 0;                 ///< wall seconds of the ADMM work (no evaluation)
  // Diagnostics (--diagnostics): -1 = not measured (off).
  double step_sq = -1;               ///< sum over blocks of ||x^{k+1} - x^k||^2
  double decrease = 0;               ///< L_beta at the iteration's start minus L_beta after it
  double relaxation_gap = -1;        ///< ||V_N - Phi(X; W)||^2 / n in target units (eval iterations)
  bool restart = false;              ///< began from a re-projection onto the forward pass
  // Classification (--loss onehot | softmax), -1 = not evaluated or regression.
  double train_accuracy = -1, val_accuracy = -1;
  double train_loss = -1, val_loss = -1;  ///< mean per-sample loss of --loss (softmax: cross-entropy)
};

/// Relative rounding allowance of the L_beta increase check (diagnostics.hpp raised()).
template <class T>
constexpr double kRoundoff = sizeof(T) == sizeof(float) ? 1e-5 : 1e-10;

/// What the diagnostics concluded over a run (summary.json "diagnostics").
struct DiagnosticsSummary {
  int violations = 0;                ///< iterations whose L_beta rose (the guarantee says it cannot)
  std::vector<double> decrease_constants;  ///< a_1..a_4 (O6), NaN where undefined
  RateFit rate;                      ///< O7 on the tail
  int restarts = 0;
};

struct TrainResult {
  std::string termination;  ///< "iterations" | "interrupted" | ...
  int iterations = 0;
  double train_mse = 0, test_mse = 0;            ///< final model (after the refit, if on)
  double admm_train_mse = 0, admm_test_mse = 0;  ///< ADMM weights before the refit
  double val_mse = 0;                            ///< final model on the validation rows (0 without them)
  int selected_iteration = 0;                    ///< the iteration / epoch whose weights were kept (0 = the last)
  double lagrangian = 0, constraint_residual = 0, relaxed_mse = 0;
  double elapsed_s = 0;
  int workers = 0;
  std::string grid;                ///< "RxS" (layer regions x sample shards); empty in-process
  std::size_t reduction_bytes = 0;  ///< the shared chunk partials of a grid with S > 1
  std::size_t state_bytes = 0;
  std::vector<WorkerStats> worker_stats;
  // Classification: accuracy of the final model (after the refit) and of the ADMM weights, the
  // mean loss, and the test confusion matrix (row = true class, column = predicted).
  double train_accuracy = -1, test_accuracy = -1, admm_train_accuracy = -1, admm_test_accuracy = -1;
  double train_loss = -1, test_loss = -1;
  double val_accuracy = -1, val_loss = -1;  ///< of the final model on the validation rows (-1 without them)
  Eigen::MatrixXi confusion;
  std::vector<IterationRecord> history;
  DiagnosticsSummary diagnostics;
  // gd / adam: ||dLoss/dW_i||_F per layer i = 1..N (index i - 1) of the first step's (mini-)batch
  // gradient, and the largest over every step with the epoch it occurred in.
  std::vector<double> grad_norm_first, grad_norm_max;
  std::vector<int> grad_norm_max_epoch;
  double start_objective = 0;  ///< gd / adam: the mean training objective at the initial weights
  Model model;
};

/// What the loop hands to the run's outputs.
struct TrainHooks {
  std::function<void(const IterationRecord&)> on_iteration;    ///< metrics row, progress line
  std::function<std::string(const Checkpoint&)> save_checkpoint;  ///< writes it, returns the path
  std::function<void(const std::string&)> warn;                   ///< one warning line (no prefix)
};

/// Problem sizes of `s` on the training rows of `ds`.
Dims dims_of(const Settings& s, const Dataset& ds);

/// Seconds the fork transport's handshake polls before sleeping: --spin-us when the P workers
/// and the coordinator each have a core, else 0.
double handshake_spin_s(const Settings& s, int workers);

/// He-initialised W (gain 2 for ReLU, 1 for the head; zero biases), then project_to_forward. With
/// `scale_branches` (--init scaled) the residual branches W_2..W_{N-1} are scaled by 1/sqrt(N);
/// --init plain draws the same numbers without that factor. Y must already be in `s`.
template <class T>
void initialise_state(const StateT<T>& s, Activation act, std::uint64_t seed, bool scale_branches = true,
                      Loss loss = Loss::kSquared);

/// U_i = W_i V~_{i-1}, V_i = R_i + sigma(U_i), V_N = W_N V~_{N-1} by a forward pass of the current
/// weights, and Lambda = Y - V_N (0 when `dual` is false). Every penalty term is then 0, so
/// L_beta = 1/2 ||V_N - Y||^2 + lambda/2 sum ||W_i||^2 (the ALGORITHM.md 7 initialisation).
/// Softmax: Lambda = Y - softmax(V_N) = -grad loss(V_N), the identity the V_N step keeps.
template <class T>
void project_to_forward(const StateT<T>& s, Activation act, bool dual, Loss loss = Loss::kSquared);

/// L_beta of the state, every layer's terms recomputed (z is d x n scratch).
template <class T>
double lagrangian_of(const StateT<T>& s, const Penalties& pen, MatRefT<T> z);

/// One serial Gauss-Seidel sweep: W_N; inner_passes - 1 times for i = N-1..1: V_i, U_i;
/// for i = N-1..1: V_i, U_i, W_i; then V_N, Lambda. Returns L_beta after the sweep. `z` is d x n scratch.
template <class T>
double sweep_iteration(const StateT<T>& s, const Penalties& pen, MatRefT<T> z, int inner_passes = 1);

/// V_N and Lambda (coordinator's part of an iteration) and L_beta from the per-layer
/// terms in s.partial(), summed in layer order.
template <class T>
double finish_iteration(const StateT<T>& s, const Penalties& pen);

/// The model held by the state's weights.
template <class T>
Model model_of(const StateT<T>& s, Activation act, const Dataset& ds);

/// Forward-pass MSE in target units.
double mse(const Model& m, const Mat& x_std, const Mat& y_raw);

/// Accuracy and mean per-sample loss of standardised outputs `out` (K x n) against labels.
struct ClassScore {
  double accuracy = -1, loss = -1;
};
ClassScore class_score(const Mat& out, const Mat& y_onehot, const std::vector<int>& labels, Loss loss);

/// Trains from a fresh initialisation, or continues `resume` (same settings and data; the
/// iterates are then bit-identical to an uninterrupted run, for any worker count).
/// SIGINT / SIGTERM stop at the next phase boundary after a checkpoint (Error kSigInt/kSigTerm);
/// a non-finite block ends the run with Error(kDiverged) naming layer, block, phase, iteration.
TrainResult train(const Settings& settings, const Dataset& ds, const TrainHooks& hooks,
                  const Checkpoint* resume = nullptr);

/// The backprop baseline (--method gd | adam): same initial weights, data and outputs; one
/// metrics row per epoch with the mean training objective in the `lagrangian` column.
TrainResult train_backprop(const Settings& settings, const Dataset& ds, const TrainHooks& hooks);

/// The shared finish of every method: the weights chosen on validation (`sel`, when --early-stop
/// found any), the optional ridge refit of the head on the forward features, and the final
/// train / validation / test MSE (the only place the test rows are read).
void finish_model(const Settings& st, const Dataset& ds, const ModelSelection& sel, TrainResult& res);

/// One evaluation of a method's current model `m` (`features` = its V_{N-1} on the training
/// rows): with --refit-head the head is refitted first, so train / validation MSE in `rec` are those
/// of the model radmm would report if it stopped here; that model is offered to `sel`.
/// Returns true when --patience says stop.
bool evaluate(const Settings& st, const Dataset& ds, Model m, const Mat& features, IterationRecord& rec,
              ModelSelection& sel);

}  // namespace radmm
