// Prox-gradient block steps with backtracking (see linearized.hpp). Gradients are formed in
// d x n scratch; the Lipschitz estimates cost O(d n) per power iteration, against O(d^2 n) per step.
#include "common/linearized.hpp"

namespace radmm {

namespace {

constexpr double kSafety = 1.05;  // tau = kSafety * Lip estimate + alpha
constexpr int kMaxDoublings = 30;

/// sigma(z) and sigma'(z) for the configured activation.
template <class T>
MatT<T> sigma(const ConstMatRefT<T>& z, Activation act) {
  return act == Activation::kRelu ? MatT<T>(z.cwiseMax(T(0))) : MatT<T>(z);
}
template <class T>
void times_sigma_prime(MatRefT<T> e, const ConstMatRefT<T>& z, Activation act) {
  if (act == Activation::kRelu) e = (z.array() > T(0)).select(e, T(0));
}

/// R_i + sigma(u): what layer i's own penalty pulls V_i towards.
template <class T>
MatT<T> own_target(const ConstMatRefT<T>& u, const ConstMatRefT<T>& input, bool residual, Activation act) {
  MatT<T> own = sigma<T>(u, act);
  if (residual) own += input;
  return own;
}

/// g = scale * E P~^T, the gradient of a W block whose residual is E (d_out x n).
template <class T>
MatT<T> weight_gradient(const ConstMatRefT<T>& e, const ConstMatRefT<T>& p, T scale) {
  MatT<T> g(e.rows(), p.rows() + 1);
  g.leftCols(p.rows()).noalias() = e * p.transpose();
  g.col(p.rows()) = e.rowwise().sum();
  return scale * g;
}

/// Ridge prox: argmin <g, W - W0> + tau/2 ||W - W0||^2 + lambda/2 ||W||^2.
template <class T>
void ridge_trial(MatRefT<T> out, const ConstMatRefT<T>& w0, const ConstMatRefT<T>& g, double tau, double lambda) {
  out = (T(tau) * w0 - g) / T(tau + lambda);
}

/// One backtracking prox-gradient step on block x: `trial(out, tau)` writes prox_r(x - g / tau),
/// `objective(x)` is the block objective. Accepts the first trial with
/// f(trial) <= f(x) - alpha/2 ||trial - x||^2; x is unchanged if none of 30 doublings passes.
/// Returns the number of doublings (-1 = no step).
template <class T, class Trial, class Objective>
int backtracking_step(MatRefT<T> x, double tau, double alpha, const Trial& trial, const Objective& objective) {
  const MatT<T> x0 = x;
  const double f0 = objective(x0);
  MatT<T> candidate(x.rows(), x.cols());
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

template <class T>
double spectral_norm_sq(const ConstMatRefT<T>& m, bool tilde, int iterations) {
  using Vec = typename Num<T>::Vec;
  const Eigen::Index rows = m.rows() + (tilde ? 1 : 0);
  Vec x = Vec::Constant(rows, T(1 / std::sqrt(static_cast<double>(rows))));
  Vec y(m.cols());
  double norm_sq = 0;
  for (int t = 0; t < iterations; ++t) {
    y.noalias() = m.transpose() * x.head(m.rows());  // y = M~^T x
    if (tilde) y.array() += x(m.rows());
    Vec next(rows);                                   // next = M~ y
    next.head(m.rows()).noalias() = m * y;
    if (tilde) next(m.rows()) = y.sum();
    norm_sq = next.norm();  // ||M~ M~^T x|| with ||x|| = 1 -> sigma_max^2 from below
    if (norm_sq == 0) return 0;
    x = next / T(norm_sq);
  }
  return norm_sq;
}

template <class T>
int update_weights_linearized(MatRefT<T> w, const ConstMatRefT<T>& target, const ConstMatRefT<T>& input,
                              double scale, const Penalties& pen) {
  MatT<T> z(w.rows(), input.cols());
  affine<T>(w, input, z);
  const MatT<T> g = weight_gradient<T>(z - target, input, T(scale));
  const MatT<T> w0 = w;
  auto objective = [&](const ConstMatRefT<T>& x) {
    affine<T>(x, input, z);
    return 0.5 * scale * double((target - z).squaredNorm()) + 0.5 * pen.lambda * double(x.squaredNorm());
  };
  auto trial = [&](MatRefT<T> out, double tau) { ridge_trial<T>(out, w0, g, tau, pen.lambda); };
  const double tau = kSafety * scale * spectral_norm_sq<T>(input, true) + pen.alpha;
  return backtracking_step<T>(w, tau, pen.alpha, trial, objective);
}

template <class T>
int update_activations_linearized(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual,
                                  const ConstMatRefT<T>& u, const ConstMatRefT<T>& v_next,
                                  const ConstMatRefT<T>& u_next, const ConstMatRefT<T>& w_next, const Penalties& pen) {
  const Coef<T> c(pen);
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  const auto b = w_next.col(d);
  const MatT<T> own = own_target<T>(u, input, residual, pen.activation);
  const MatT<T> next = v_next - sigma<T>(u_next, pen.activation);
  MatT<T> e(u_next.rows(), v.cols());
  auto objective = [&](const ConstMatRefT<T>& x) {
    e.noalias() = a * x;
    e.colwise() += b;
    return 0.5 * pen.gamma * double((x - own).squaredNorm() + (next - x).squaredNorm()) +
           0.5 * pen.rho * double((u_next - e).squaredNorm());
  };
  objective(v);  // e = A V + b 1^T
  e -= u_next;
  MatT<T> g = c.gamma * (T(2) * v - own - next);
  g.noalias() += c.rho * a.transpose() * e;
  const MatT<T> v0 = v;
  auto trial = [&](MatRefT<T> out, double tau) { out = v0 - g / T(tau); };
  const double tau = kSafety * (2 * pen.gamma + pen.rho * spectral_norm_sq<T>(a, false)) + pen.alpha;
  return backtracking_step<T>(v, tau, pen.alpha, trial, objective);
}

template <class T>
int update_last_activations_linearized(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual,
                                       const ConstMatRefT<T>& u, const ConstMatRefT<T>& vn,
                                       const ConstMatRefT<T>& lambda_mult, const ConstMatRefT<T>& w_out,
                                       const Penalties& pen) {
  const Coef<T> c(pen);
  const auto d = v.rows();
  const auto a = w_out.leftCols(d);
  const auto b = w_out.col(d);
  const MatT<T> own = own_target<T>(u, input, residual, pen.activation);
  MatT<T> r(vn.rows(), v.cols());  // r = V_N - A V - b 1^T
  auto objective = [&](const ConstMatRefT<T>& x) {
    r.noalias() = -a * x;
    r.colwise() -= b;
    r += vn;
    return 0.5 * pen.gamma * double((x - own).squaredNorm()) + double((lambda_mult.array() * r.array()).sum()) +
           0.5 * pen.beta * double(r.squaredNorm());
  };
  objective(v);
  const MatT<T> m = lambda_mult + c.beta * r;
  MatT<T> g = c.gamma * (v - own);
  g.noalias() -= a.transpose() * m;
  const MatT<T> v0 = v;
  auto trial = [&](MatRefT<T> out, double tau) { out = v0 - g / T(tau); };
  const double tau = kSafety * (pen.gamma + pen.beta * spectral_norm_sq<T>(a, false)) + pen.alpha;
  return backtracking_step<T>(v, tau, pen.alpha, trial, objective);
}

template <class T>
int update_weights_ts2(MatRefT<T> w, const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual,
                       const Penalties& pen) {
  const MatT<T> target = residual ? MatT<T>(v - input) : MatT<T>(v);  // a = V_i - R_i
  MatT<T> z(w.rows(), input.cols());
  auto objective = [&](const ConstMatRefT<T>& x) {
    affine<T>(x, input, z);
    return 0.5 * pen.gamma * double((target - sigma<T>(z, pen.activation)).squaredNorm()) +
           0.5 * pen.lambda * double(x.squaredNorm());
  };
  objective(w);
  MatT<T> e = sigma<T>(z, pen.activation) - target;
  times_sigma_prime<T>(e, z, pen.activation);
  const MatT<T> g = weight_gradient<T>(e, input, T(pen.gamma));
  const MatT<T> w0 = w;
  auto trial = [&](MatRefT<T> out, double tau) { ridge_trial<T>(out, w0, g, tau, pen.lambda); };
  const double tau = kSafety * pen.gamma * spectral_norm_sq<T>(input, true) + pen.alpha;
  return backtracking_step<T>(w, tau, pen.alpha, trial, objective);
}

template <class T>
int update_activations_ts2(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& z_own,
                           const ConstMatRefT<T>& v_next, const ConstMatRefT<T>& w_next, const Penalties& pen) {
  const Coef<T> c(pen);
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  const auto b = w_next.col(d);
  const MatT<T> own = own_target<T>(z_own, input, residual, pen.activation);
  MatT<T> z(d, v.cols()), e(d, v.cols());  // z = A V + b 1^T, e = V_{i+1} - V - sigma(z)
  auto objective = [&](const ConstMatRefT<T>& x) {
    z.noalias() = a * x;
    z.colwise() += b;
    e = v_next - x - sigma<T>(z, pen.activation);
    return 0.5 * pen.gamma * double((x - own).squaredNorm() + e.squaredNorm());
  };
  objective(v);
  MatT<T> g = c.gamma * (v - own - e);  // own term, and the skip path of the next layer
  times_sigma_prime<T>(e, z, pen.activation);
  g.noalias() -= c.gamma * a.transpose() * e;
  const MatT<T> v0 = v;
  auto trial = [&](MatRefT<T> out, double tau) { out = v0 - g / T(tau); };
  const double lip_a = std::sqrt(spectral_norm_sq<T>(a, false));
  const double tau = kSafety * pen.gamma * (1 + (1 + lip_a) * (1 + lip_a)) + pen.alpha;
  return backtracking_step<T>(v, tau, pen.alpha, trial, objective);
}

#define RADMM_INSTANTIATE(T)                                                                                     \
  template double spectral_norm_sq<T>(const ConstMatRefT<T>&, bool, int);                                       \
  template int update_weights_linearized<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, double, \
                                            const Penalties&);                                                  \
  template int update_activations_linearized<T>(MatRefT<T>, const ConstMatRefT<T>&, bool, const ConstMatRefT<T>&, \
                                                const ConstMatRefT<T>&, const ConstMatRefT<T>&,                   \
                                                const ConstMatRefT<T>&, const Penalties&);                        \
  template int update_last_activations_linearized<T>(MatRefT<T>, const ConstMatRefT<T>&, bool,                  \
                                                     const ConstMatRefT<T>&, const ConstMatRefT<T>&,              \
                                                     const ConstMatRefT<T>&, const ConstMatRefT<T>&,              \
                                                     const Penalties&);                                          \
  template int update_weights_ts2<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, bool,          \
                                     const Penalties&);                                                          \
  template int update_activations_ts2<T>(MatRefT<T>, const ConstMatRefT<T>&, bool, const ConstMatRefT<T>&,      \
                                         const ConstMatRefT<T>&, const ConstMatRefT<T>&, const Penalties&);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
