// Closed-form TS3 block updates (ALGORITHM.md 3). Every system is SPD: one LLT per update. The V
// steps apply the (d x d) inverse as one product when its condition bound makes that safe (a GEMM
// runs twice as fast as two triangular solves with n right-hand sides). Right-hand sides are built
// in the output block to save a d x n temporary.
#include "common/admm.hpp"

#include <Eigen/Cholesky>
#include <algorithm>

namespace radmm {

namespace {

/// Gram matrix of P~ = [P; 1^T] scaled by `scale`, plus `shift` on the diagonal (lower half filled).
template <class T>
MatT<T> gram_tilde(const ConstMatRefT<T>& p, T scale, T shift) {
  const auto k = p.rows();
  MatT<T> g = MatT<T>::Zero(k + 1, k + 1);
  g.topLeftCorner(k, k).template selfadjointView<Eigen::Lower>().rankUpdate(p, scale);
  g.block(k, 0, 1, k) = scale * p.rowwise().sum().transpose();
  g(k, k) = scale * static_cast<T>(p.cols());
  g.diagonal().array() += shift;
  return g;
}

/// Solves W (scale P~ P~^T + (lambda + alpha) I) = scale T P~^T + alpha W^k for W, in place.
template <class T>
void ridge_solve(MatRefT<T> w, const ConstMatRefT<T>& t, const ConstMatRefT<T>& p, T scale, const Coef<T>& c,
                 InputGram<T>* cache = nullptr) {
  const auto k = p.rows();
  MatT<T> rhs(k + 1, w.rows());  // (scale P~ T^T + alpha W^T)
  rhs.topRows(k).noalias() = p * t.transpose();
  rhs.row(k) = t.rowwise().sum().transpose();
  rhs *= scale;
  rhs.noalias() += c.alpha * w.transpose();
  if (cache) {
    if (!cache->ready) cache->llt.compute(gram_tilde<T>(p, scale, c.lambda + c.alpha)), cache->ready = true;
    cache->llt.solveInPlace(rhs);
  } else {
    Eigen::LLT<MatT<T>> llt(gram_tilde<T>(p, scale, c.lambda + c.alpha));
    llt.solveInPlace(rhs);
  }
  w = rhs.transpose();
}

/// v += coef * sigma(u).
template <class T>
void add_sigma(MatRefT<T> v, T coef, const ConstMatRefT<T>& u, Activation act) {
  if (act == Activation::kRelu) v += coef * u.cwiseMax(T(0));
  else v += coef * u;
}

/// v <- alpha v + gamma (R_i + sigma(U_i)): the right-hand side's terms from layer i itself.
template <class T>
void own_layer_rhs(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                   const Coef<T>& c, Activation act) {
  v *= c.alpha;
  if (residual) v += c.gamma * input;
  add_sigma<T>(v, c.gamma, u, act);
}

}  // namespace

template <class T>
ActivationSystem<T> activation_system(const ConstMatRefT<T>& w, Eigen::Index d, T diag, T scale) {
  const auto a = w.leftCols(d);
  MatT<T> m = MatT<T>::Zero(d, d);
  m.template selfadjointView<Eigen::Lower>().rankUpdate(a.transpose(), scale);
  m.diagonal().array() += diag;
  ActivationSystem<T> sys;
  sys.llt.compute(m);
  // Eigenvalues lie in [diag, diag + scale ||A||_2^2] and ||A||_2 <= ||A||_F.
  sys.kappa = 1.0 + static_cast<double>(scale) * static_cast<double>(a.squaredNorm()) / static_cast<double>(diag);
  if (sys.kappa <= kActivationProductKappa<T>) sys.inverse = sys.llt.solve(MatT<T>::Identity(d, d));
  return sys;
}

template <class T>
void ActivationSystem<T>::apply(MatRefT<T> v) const {
  if (inverse.size() > 0) v = inverse * v;  // a temporary, then the copy
  else llt.solveInPlace(v);
}

template <class T>
ActivationSystem<T> activation_system(const ConstMatRefT<T>& w_next, Eigen::Index d, bool last, const Penalties& pen) {
  const Coef<T> c(pen);
  return last ? activation_system<T>(w_next, d, c.gamma + c.alpha, c.beta)
              : activation_system<T>(w_next, d, 2 * c.gamma + c.alpha, c.rho);
}

template <class T>
void update_weights(MatRefT<T> w, const ConstMatRefT<T>& u, const ConstMatRefT<T>& input, const Penalties& pen,
                    InputGram<T>* cache) {
  const Coef<T> c(pen);
  ridge_solve<T>(w, u, input, c.rho, c, cache);
}

template <class T>
void update_output_weights(MatRefT<T> w, const ConstMatRefT<T>& vn, const ConstMatRefT<T>& lambda_mult,
                           const ConstMatRefT<T>& input, const Penalties& pen) {
  // beta V_N + Lambda = beta (V_N + Lambda / beta): a ridge fit to the shifted target.
  const Coef<T> c(pen);
  MatT<T> t = vn + lambda_mult / c.beta;
  ridge_solve<T>(w, t, input, c.beta, c);
}

template <class T>
void update_activations(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                        const ConstMatRefT<T>& v_next, const ConstMatRefT<T>& u_next, const ConstMatRefT<T>& w_next,
                        const Penalties& pen, const ActivationSystem<T>* system) {
  const Coef<T> c(pen);
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  own_layer_rhs<T>(v, input, residual, u, c, pen.activation);
  v += c.gamma * v_next;
  add_sigma<T>(v, -c.gamma, u_next, pen.activation);
  v.noalias() += c.rho * a.transpose() * u_next;
  const typename Num<T>::Vec atb = c.rho * (a.transpose() * w_next.col(d));
  v.colwise() -= atb;
  if (system) system->apply(v);
  else activation_system<T>(w_next, d, 2 * c.gamma + c.alpha, c.rho).apply(v);
}

template <class T>
void update_last_activations(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                             const ConstMatRefT<T>& vn, const ConstMatRefT<T>& lambda_mult,
                             const ConstMatRefT<T>& w_out, const Penalties& pen, const ActivationSystem<T>* system) {
  const Coef<T> c(pen);
  const auto d = v.rows();
  const auto a = w_out.leftCols(d);
  own_layer_rhs<T>(v, input, residual, u, c, pen.activation);
  v.noalias() += a.transpose() * lambda_mult;
  v.noalias() += c.beta * a.transpose() * vn;
  const typename Num<T>::Vec atb = c.beta * (a.transpose() * w_out.col(d));
  v.colwise() -= atb;
  if (system) system->apply(v);
  else activation_system<T>(w_out, d, c.gamma + c.alpha, c.beta).apply(v);
}

template <class T>
T prox_preactivation(T a, T c, T gamma, T s, Activation act) {
  if (act == Activation::kIdentity) return (gamma * a + s * c) / (gamma + s);
  const T um = std::min(c, T(0));
  const T up = std::max((gamma * a + s * c) / (gamma + s), T(0));
  const T cost_m = T(0.5) * gamma * a * a + T(0.5) * s * (um - c) * (um - c);
  const T cost_p = T(0.5) * gamma * (a - up) * (a - up) + T(0.5) * s * (up - c) * (up - c);
  return cost_p < cost_m ? up : um;
}

template <class T>
void update_preactivations(MatRefT<T> u, const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual,
                           const ConstMatRefT<T>& w, MatRefT<T> z, const Penalties& pen) {
  const Coef<T> k(pen);
  affine<T>(w, input, z);
  const T s = k.rho + k.alpha;
  for (Eigen::Index j = 0; j < u.cols(); ++j) {
    for (Eigen::Index r = 0; r < u.rows(); ++r) {
      const T a = residual ? v(r, j) - input(r, j) : v(r, j);
      const T c = (k.rho * z(r, j) + k.alpha * u(r, j)) / s;
      u(r, j) = prox_preactivation<T>(a, c, k.gamma, s, pen.activation);
    }
  }
}

template <class T>
void update_output(MatRefT<T> vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult,
                   const ConstMatRefT<T>& zn, const Penalties& pen) {
  if (pen.loss == Loss::kSoftmax) {
    prox_cross_entropy<T>(vn, y, lambda_mult, zn, pen.beta);
    return;
  }
  const T beta = T(pen.beta);
  vn = (y - lambda_mult + beta * zn) / (T(1) + beta);
}

template <class T>
void update_multiplier(MatRefT<T> lambda_mult, const ConstMatRefT<T>& vn, const ConstMatRefT<T>& zn,
                       const Penalties& pen) {
  lambda_mult += T(pen.beta) * (vn - zn);
}

template <class T>
double layer_objective(const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual,
                       const ConstMatRefT<T>& u, const ConstMatRefT<T>& z, const ConstMatRefT<T>& w,
                       const Penalties& pen) {
  double act;
  if (pen.activation == Activation::kRelu)
    act = residual ? (v - input - u.cwiseMax(T(0))).squaredNorm() : (v - u.cwiseMax(T(0))).squaredNorm();
  else
    act = residual ? (v - input - u).squaredNorm() : (v - u).squaredNorm();
  return 0.5 * pen.gamma * act + 0.5 * pen.rho * double((u - z).squaredNorm()) +
         0.5 * pen.lambda * double(w.squaredNorm());
}

template <class T>
double head_objective(const ConstMatRefT<T>& vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult,
                      const ConstMatRefT<T>& zn, const ConstMatRefT<T>& w_out, const Penalties& pen) {
  return output_loss<T>(vn, y, pen.loss) + 0.5 * pen.lambda * double(w_out.squaredNorm()) +
         double((lambda_mult.array() * (vn - zn).array()).sum()) + 0.5 * pen.beta * double((vn - zn).squaredNorm());
}

Mat ridge_head(const ConstMatRef& y, const ConstMatRef& input, double lambda) {
  Mat w = Mat::Zero(y.rows(), input.rows() + 1);
  Penalties pen;
  pen.lambda = lambda;
  pen.alpha = 0;
  ridge_solve<double>(w, y, input, 1.0, Coef<double>(pen));
  return w;
}

// The two precisions of --precision.
#define RADMM_INSTANTIATE(T)                                                                                        \
  template void update_weights<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, const Penalties&,     \
                                  InputGram<T>*);                                                                  \
  template void update_output_weights<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&,               \
                                         const ConstMatRefT<T>&, const Penalties&);                                 \
  template void update_activations<T>(MatRefT<T>, const ConstMatRefT<T>&, bool, const ConstMatRefT<T>&,            \
                                      const ConstMatRefT<T>&, const ConstMatRefT<T>&, const ConstMatRefT<T>&,      \
                                      const Penalties&, const ActivationSystem<T>*);                               \
  template void update_last_activations<T>(MatRefT<T>, const ConstMatRefT<T>&, bool, const ConstMatRefT<T>&,       \
                                           const ConstMatRefT<T>&, const ConstMatRefT<T>&, const ConstMatRefT<T>&, \
                                           const Penalties&, const ActivationSystem<T>*);                         \
  template struct ActivationSystem<T>;                                                                             \
  template ActivationSystem<T> activation_system<T>(const ConstMatRefT<T>&, Eigen::Index, T, T);                   \
  template ActivationSystem<T> activation_system<T>(const ConstMatRefT<T>&, Eigen::Index, bool, const Penalties&); \
  template T prox_preactivation<T>(T, T, T, T, Activation);                                                        \
  template void update_preactivations<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, bool,         \
                                         const ConstMatRefT<T>&, MatRefT<T>, const Penalties&);                     \
  template void update_output<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, const ConstMatRefT<T>&, \
                                 const Penalties&);                                                                \
  template void update_multiplier<T>(MatRefT<T>, const ConstMatRefT<T>&, const ConstMatRefT<T>&, const Penalties&); \
  template double layer_objective<T>(const ConstMatRefT<T>&, const ConstMatRefT<T>&, bool, const ConstMatRefT<T>&, \
                                     const ConstMatRefT<T>&, const ConstMatRefT<T>&, const Penalties&);            \
  template double head_objective<T>(const ConstMatRefT<T>&, const ConstMatRefT<T>&, const ConstMatRefT<T>&,        \
                                    const ConstMatRefT<T>&, const ConstMatRefT<T>&, const Penalties&);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
