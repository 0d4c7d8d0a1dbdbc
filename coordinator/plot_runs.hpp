// Reading a run folder's metrics.csv back, and `radmm plot`: one convergence figure with a line
// per run, so methods trained on the same data can be compared (test / train MSE against
// iteration and seconds, L_beta relative to its first value).
#pragma once
#include <string>
#include <vector>

namespace radmm {

/// The columns of metrics.csv that the plots use; MSE columns hold NaN where not evaluated.
struct MetricsTable {
  std::vector<double> iter, elapsed_s, lagrangian, train_mse, val_mse, relaxed_mse;
  /// Classification runs (NaN where not evaluated; empty for files without the columns).
  std::vector<double> train_accuracy, val_accuracy;
  /// ADMM wall seconds, per-phase wall seconds and handshake overhead (W, V-even, V-odd, U) per
  /// iteration: radmm bench reads them from an MPI run's folder (empty for files without the columns).
  std::vector<double> admm_s, phase_s[4], overhead_s[4];
  bool has_accuracy() const;
};

/// Parses DIR/metrics.csv by its header names; Error(kNoInput) if missing, Error(kDataErr)
/// naming file:line for a malformed row.
MetricsTable read_metrics(const std::string& path);

/// radmm plot --out FILE RUN_DIR...
int run_plot(const std::vector<std::string>& args);

}  // namespace radmm
