// Convergence diagnostics of ALGORITHM.md O6 and O7 over a run's per-iteration record:
// the j-step sufficient-decrease constants and the tail rate (geometric vs power law, KL exponent).
// Pure functions over plain vectors, so synthetic sequences with known answers can test them.
#pragma once
#include <string>
#include <vector>

namespace radmm {

/// One iteration as the diagnostics see it: L_beta before and after, and ||x^{k+1} - x^k||^2
/// over every block (W, U, V, V_N, Lambda). `restart` marks an iteration that began from a
/// re-projection (its L_before is not the previous iteration's L_after).
struct StepRecord {
  int iter = 0;
  double l_before = 0, l_after = 0, step_sq = 0;
  bool restart = false;
};

/// True when L_beta rose over the iteration by more than rounding (`rel_tol` relative: 1e-10 in
/// double, 1e-5 in float): under the guarantee (beta > 1, exact or decrease-tested block steps) it must not.
bool raised(const StepRecord& s, double rel_tol = 1e-10);

/// a_j for j = 1..max_j: the largest a with L^k - L^{k+j} >= a sum_{t=k}^{k+j-1} ||x^{t+1} - x^t||^2
/// over every window of j consecutive iterations that no restart splits (O6). NaN where no window
/// exists; negative when L_beta rose over some window.
std::vector<double> sufficient_decrease_constants(const std::vector<StepRecord>& steps, int max_j = 4);

/// Least-squares fits of the tail's one-step decreases D_k = L^k - L^{k+1} (O7). A geometric
/// tail L^k - L* ~ q^k has D_k ~ q^k; a power law L^k - L* ~ k^-p has D_k ~ k^-(p+1). Fitting D_k
/// needs no estimate of the limit L* (L^k - L^final bends to -inf at the last iterations).
struct RateFit {
  std::string kind = "insufficient";  ///< geometric | power-law | insufficient (< 5 usable points)
  int tail_from = 0, points = 0;      ///< first iteration of the tail, points fitted
  double q = 0, r2_geometric = 0;     ///< geometric ratio per iteration and R^2 of log D_k vs k
  double p = 0, r2_power = 0;         ///< power-law exponent of L^k - L* and R^2 of log D_k vs log k
  /// KL exponent theta: <= 1/2 for a geometric rate (reported as 0.5), (1 + p) / (2 p) for a
  /// power law with p > 0 (L^k - L* = O(k^(-1/(2 theta - 1)))); NaN when not applicable.
  double kl_exponent = 0;
};

/// Fits the second half of the iterations (the tail), using the points with D_k > 0.
RateFit fit_rate(const std::vector<StepRecord>& steps);

}  // namespace radmm
