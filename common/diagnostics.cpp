// O6 constants and O7 tail fits (see diagnostics.hpp).
#include "common/diagnostics.hpp"

#include <cmath>
#include <limits>

namespace radmm {

namespace {

/// Slope and R^2 of the least-squares line y = c + s x.
void line_fit(const std::vector<double>& x, const std::vector<double>& y, double& slope, double& r2) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  slope = sxx > 0 ? sxy / sxx : 0;
  r2 = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 0;
}

}  // namespace

bool raised(const StepRecord& s, double rel_tol) {
  return s.l_after - s.l_before > rel_tol * std::abs(s.l_before) + 1e-12;
}

std::vector<double> sufficient_decrease_constants(const std::vector<StepRecord>& steps, int max_j) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> a(static_cast<std::size_t>(max_j), nan);
  for (int j = 1; j <= max_j; ++j) {
    for (std::size_t k = 0; k + static_cast<std::size_t>(j) <= steps.size(); ++k) {
      double moved = 0;
      bool split = false;
      for (std::size_t t = k; t < k + static_cast<std::size_t>(j); ++t) {
        moved += steps[t].step_sq;
        if (t > k && (steps[t].restart || steps[t].iter != steps[t - 1].iter + 1)) split = true;
      }
      if (split || !(moved > 0)) continue;
      const double ratio = (steps[k].l_before - steps[k + static_cast<std::size_t>(j) - 1].l_after) / moved;
      double& best = a[static_cast<std::size_t>(j - 1)];
      if (std::isnan(best) || ratio < best) best = ratio;
    }
  }
  return a;
}

RateFit fit_rate(const std::vector<StepRecord>& steps) {
  RateFit f;
  if (steps.empty()) return f;
  f.tail_from = steps[steps.size() / 2].iter;
  std::vector<double> k, log_k, log_d;
  for (std::size_t t = steps.size() / 2; t < steps.size(); ++t) {
    const double d = steps[t].l_before - steps[t].l_after;
    if (!(d > 0) || steps[t].iter < 1) continue;
    k.push_back(steps[t].iter);
    log_k.push_back(std::log(static_cast<double>(steps[t].iter)));
    log_d.push_back(std::log(d));
  }
  f.points = static_cast<int>(k.size());
  if (f.points < 5) return f;
  double s_geo = 0, s_pow = 0;
  line_fit(k, log_d, s_geo, f.r2_geometric);
  line_fit(log_k, log_d, s_pow, f.r2_power);
  f.q = std::exp(s_geo);
  f.p = -s_pow - 1;
  if (f.r2_geometric >= f.r2_power) {
    f.kind = "geometric";
    f.kl_exponent = 0.5;
  } else {
    f.kind = "power-law";
    f.kl_exponent = f.p > 0 ? (1 + f.p) / (2 * f.p) : std::numeric_limits<double>::quiet_NaN();
  }
  return f;
}

}  // namespace radmm
