// The depth study of radmm compare (--depths with several values, --inits): test MSE and
// seconds against depth, one line per method and a panel per initialisation, and the tables
// behind the figure (docs/depth.md).
#pragma once
#include <string>
#include <vector>

namespace radmm {

/// One method's chosen run on one seed at one depth.
struct DepthPoint {
  std::string method, init;      ///< init "-" for methods without a network (ridge)
  int depth = 0;
  bool diverged = false;         ///< the run (or every grid value) stopped with exit 3
  double test = 0, seconds = 0;  ///< test MSE of the chosen model; seconds of the chosen run
  int lbeta_increases = -1;      ///< ADMM: iterations whose L_beta rose (-1 = not ADMM)
  double relaxation_gap = -1;    ///< ADMM: ||V_N - Phi(X; W)||^2 / n at the last evaluation
};

/// Test MSE drawn above this is clipped to it (and named in the legend), so the figure stays readable.
constexpr double kDepthPlotCap = 10.0;

/// Writes `dir/<label>-depth.svg` and returns the markdown section: the figure and tables of test
/// MSE, seconds and (ADMM) L_beta increases / relaxation gap, one row per method and init, a
/// column per depth; means over the seeds that did not diverge.
std::string depth_study_section(const std::string& label, const std::vector<int>& depths,
                                const std::vector<std::string>& methods, const std::vector<std::string>& inits,
                                const std::vector<DepthPoint>& points, const std::string& dir);

}  // namespace radmm
