// Prox-gradient block steps with backtracking (see linearized.hpp). Gradients are formed in
// d x n scratch; the Lipschitz estimates cost O(d n) per power iteration, against O(d^2 n) per step.
#include "common/linearized.hpp"

namespace radmm {

namespace {

constexpr double kSafety = 1.05;  // tau = kSafety * Lip estimate + alpha
constexpr int kMaxDoublings = 30;

/// sigma(z) and sigma'(z) for the configured activation.
Mat sigma(const ConstMatRef& z, Activation act) { return act == Activation::kRelu ? Mat(z.cwiseMax(0.0)) : Mat(z); }
void times_sigma_prime(MatRef e, const ConstMatRef& z, Activation act) {
  if (act == Activation::kRelu) e = (z.array() > 0).select(e, 0.0);
}

/// g = scale * E P~^T, the gradient of a W block whose residual is E (d_out x n).
Mat weight_gradient(const ConstMatRef& e, const ConstMatRef& p, double scale) {
  Mat g(e.rows(), p.rows() + 1);
  g.leftCols(p.rows()).noalias() = e * p.transpose();
  g.col(p.rows()) = e.rowwise().sum();
  return scale * g;
}

/// Ridge prox: argmin <g, W - W0> + tau/2 ||W - W0||^2 + lambda/2 ||W||^2.
void ridge_trial(MatRef out, const ConstMatRef& w0, const ConstMatRef& g, double tau, double lambda) {
  out = (tau * w0 - g) / (tau + lambda);
}

/// One backtracking prox-gradient step on block x: `trial(out, tau)` writes prox_r(x - g / tau),
/// `objective(x)` is the block objective. Accepts the first trial with
/// f(trial) <= f(x) - alpha/2 ||trial - x||^2; x is unchanged if none of 30 doublings passes.
/// Returns the number of doublings (-1 = no step).
template <class Trial, class Objective>
int backtracking_step(MatRef x, double tau, double alpha, const Trial& trial, const Objective& objective) {
  const Mat x0 = x;
  const double f0 = objective(x0);
  Mat candidate(x.rows(), x.cols());
  for (int t = 0; t < kMaxDoublings; ++t, tau *= 2) {
    trial(candidate, tau);
    const double step_sq = (candidate - x0).squaredNorm();
    if (step_sq == 0) return t;
    if (objective(candidate) <= f0 - 0.5 * alpha * step_sq) {
      x = candidate;
      return t;
    }
  }
  return -1;
}

}  // namespace

double spectral_norm_sq(const ConstMatRef& m, bool tilde, int iterations) {
  const Eigen::Index rows = m.rows() + (tilde ? 1 : 0);
  Eigen::VectorXd x = Eigen::VectorXd::Constant(rows, 1.0 / std::sqrt(static_cast<double>(rows)));
  Eigen::VectorXd y(m.cols());
  double norm_sq = 0;
  for (int t = 0; t < iterations; ++t) {
    y.noalias() = m.transpose() * x.head(m.rows());  // y = M~^T x
    if (tilde) y.array() += x(m.rows());
    Eigen::VectorXd next(rows);                       // next = M~ y
    next.head(m.rows()).noalias() = m * y;
    if (tilde) next(m.rows()) = y.sum();
    norm_sq = next.norm();  // ||M~ M~^T x|| with ||x|| = 1 -> sigma_max^2 from below
    if (norm_sq == 0) return 0;
    x = next / norm_sq;
  }
  return norm_sq;
}

int update_weights_linearized(MatRef w, const ConstMatRef& target, const ConstMatRef& input, double scale,
                              const Penalties& pen) {
  Mat z(w.rows(), input.cols());
  affine(w, input, z);
  const Mat g = weight_gradient(z - target, input, scale);
  const Mat w0 = w;
  auto objective = [&](const ConstMatRef& x) {
    affine(x, input, z);
    return 0.5 * scale * (target - z).squaredNorm() + 0.5 * pen.lambda * x.squaredNorm();
  };
  auto trial = [&](MatRef out, double tau) { ridge_trial(out, w0, g, tau, pen.lambda); };
  const double tau = kSafety * scale * spectral_norm_sq(input, true) + pen.alpha;
  return backtracking_step(w, tau, pen.alpha, trial, objective);
}

int update_activations_linearized(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                                  const ConstMatRef& v_next, const ConstMatRef& u_next, const ConstMatRef& w_next,
                                  const Penalties& pen) {
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  const auto b = w_next.col(d);
  Mat own = sigma(u, pen.activation);  // R_i + sigma(U_i)
  if (residual) own += input;
  const Mat next = v_next - sigma(u_next, pen.activation);
  Mat e(u_next.rows(), v.cols());
  auto objective = [&](const ConstMatRef& x) {
    e.noalias() = a * x;
    e.colwise() += b;
    return 0.5 * pen.gamma * ((x - own).squaredNorm() + (next - x).squaredNorm()) +
           0.5 * pen.rho * (u_next - e).squaredNorm();
  };
  objective(v);  // e = A V + b 1^T
  e -= u_next;
  Mat g = pen.gamma * (2 * v - own - next);
  g.noalias() += pen.rho * a.transpose() * e;
  const Mat v0 = v;
  auto trial = [&](MatRef out, double tau) { out = v0 - g / tau; };
  const double tau = kSafety * (2 * pen.gamma + pen.rho * spectral_norm_sq(a, false)) + pen.alpha;
  return backtracking_step(v, tau, pen.alpha, trial, objective);
}

int update_last_activations_linearized(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                                       const ConstMatRef& vn, const ConstMatRef& lambda_mult,
                                       const ConstMatRef& w_out, const Penalties& pen) {
  const auto d = v.rows();
  const auto a = w_out.leftCols(d);
  const auto b = w_out.col(d);
  Mat own = sigma(u, pen.activation);
  if (residual) own += input;
  Mat r(vn.rows(), v.cols());  // r = V_N - A V - b 1^T
  auto objective = [&](const ConstMatRef& x) {
    r.noalias() = -a * x;
    r.colwise() -= b;
    r += vn;
    return 0.5 * pen.gamma * (x - own).squaredNorm() + (lambda_mult.array() * r.array()).sum() +
           0.5 * pen.beta * r.squaredNorm();
  };
  objective(v);
  const Mat m = lambda_mult + pen.beta * r;
  Mat g = pen.gamma * (v - own);
  g.noalias() -= a.transpose() * m;
  const Mat v0 = v;
  auto trial = [&](MatRef out, double tau) { out = v0 - g / tau; };
  const double tau = kSafety * (pen.gamma + pen.beta * spectral_norm_sq(a, false)) + pen.alpha;
  return backtracking_step(v, tau, pen.alpha, trial, objective);
}

int update_weights_ts2(MatRef w, const ConstMatRef& v, const ConstMatRef& input, bool residual,
                       const Penalties& pen) {
  const Mat target = residual ? Mat(v - input) : Mat(v);  // a = V_i - R_i
  Mat z(w.rows(), input.cols());
  auto objective = [&](const ConstMatRef& x) {
    affine(x, input, z);
    return 0.5 * pen.gamma * (target - sigma(z, pen.activation)).squaredNorm() + 0.5 * pen.lambda * x.squaredNorm();
  };
  objective(w);
  Mat e = sigma(z, pen.activation) - target;
  times_sigma_prime(e, z, pen.activation);
  const Mat g = weight_gradient(e, input, pen.gamma);
  const Mat w0 = w;
  auto trial = [&](MatRef out, double tau) { ridge_trial(out, w0, g, tau, pen.lambda); };
  const double tau = kSafety * pen.gamma * spectral_norm_sq(input, true) + pen.alpha;
  return backtracking_step(w, tau, pen.alpha, trial, objective);
}

int update_activations_ts2(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& z_own,
                           const ConstMatRef& v_next, const ConstMatRef& w_next, const Penalties& pen) {
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  const auto b = w_next.col(d);
  Mat own = sigma(z_own, pen.activation);
  if (residual) own += input;
  Mat z(d, v.cols()), e(d, v.cols());  // z = A V + b 1^T, e = V_{i+1} - V - sigma(z)
  auto objective = [&](const ConstMatRef& x) {
    z.noalias() = a * x;
    z.colwise() += b;
    e = v_next - x - sigma(z, pen.activation);
    return 0.5 * pen.gamma * ((x - own).squaredNorm() + e.squaredNorm());
  };
  objective(v);
  Mat g = pen.gamma * (v - own - e);  // own term, and the skip path of the next layer
  times_sigma_prime(e, z, pen.activation);
  g.noalias() -= pen.gamma * a.transpose() * e;
  const Mat v0 = v;
  auto trial = [&](MatRef out, double tau) { out = v0 - g / tau; };
  const double lip_a = std::sqrt(spectral_norm_sq(a, false));
  const double tau = kSafety * pen.gamma * (1 + (1 + lip_a) * (1 + lip_a)) + pen.alpha;
  return backtracking_step(v, tau, pen.alpha, trial, objective);
}

}  // namespace radmm
