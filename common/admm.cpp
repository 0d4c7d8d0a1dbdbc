// Closed-form TS3 block updates (ALGORITHM.md 3). Every system is SPD: one LLT per update,
// never an explicit inverse. Right-hand sides are built in the output block to save a d x n temporary.
#include "common/admm.hpp"

#include <Eigen/Cholesky>
#include <algorithm>

namespace radmm {

namespace {

/// Gram matrix of P~ = [P; 1^T] scaled by `scale`, plus `shift` on the diagonal (lower half filled).
Mat gram_tilde(const ConstMatRef& p, double scale, double shift) {
  const auto k = p.rows();
  Mat g = Mat::Zero(k + 1, k + 1);
  g.topLeftCorner(k, k).selfadjointView<Eigen::Lower>().rankUpdate(p, scale);
  g.block(k, 0, 1, k) = scale * p.rowwise().sum().transpose();
  g(k, k) = scale * static_cast<double>(p.cols());
  g.diagonal().array() += shift;
  return g;
}

/// Solves W (scale P~ P~^T + (lambda + alpha) I) = scale T P~^T + alpha W^k for W, in place.
void ridge_solve(MatRef w, const ConstMatRef& t, const ConstMatRef& p, double scale, const Penalties& pen) {
  const auto k = p.rows();
  Mat rhs(k + 1, w.rows());  // (scale P~ T^T + alpha W^T)
  rhs.topRows(k).noalias() = p * t.transpose();
  rhs.row(k) = t.rowwise().sum().transpose();
  rhs *= scale;
  rhs.noalias() += pen.alpha * w.transpose();
  Eigen::LLT<Mat> llt(gram_tilde(p, scale, pen.lambda + pen.alpha));
  llt.solveInPlace(rhs);
  w = rhs.transpose();
}

/// v += coef * sigma(u).
void add_sigma(MatRef v, double coef, const ConstMatRef& u, Activation act) {
  if (act == Activation::kRelu) v += coef * u.cwiseMax(0.0);
  else v += coef * u;
}

/// v <- alpha v + gamma (R_i + sigma(U_i)): the right-hand side's terms from layer i itself.
void own_layer_rhs(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u, const Penalties& pen) {
  v *= pen.alpha;
  if (residual) v += pen.gamma * input;
  add_sigma(v, pen.gamma, u, pen.activation);
}

/// Solves (diag I + scale A^T A) V = V in place, A = w.leftCols(d).
void solve_activation_system(MatRef v, const ConstMatRef& w, double diag, double scale) {
  const auto d = v.rows();
  Mat m = Mat::Zero(d, d);
  m.selfadjointView<Eigen::Lower>().rankUpdate(w.leftCols(d).transpose(), scale);
  m.diagonal().array() += diag;
  Eigen::LLT<Mat> llt(m);
  llt.solveInPlace(v);
}

}  // namespace

void update_weights(MatRef w, const ConstMatRef& u, const ConstMatRef& input, const Penalties& pen) {
  ridge_solve(w, u, input, pen.rho, pen);
}

void update_output_weights(MatRef w, const ConstMatRef& vn, const ConstMatRef& lambda_mult,
                           const ConstMatRef& input, const Penalties& pen) {
  // beta V_N + Lambda = beta (V_N + Lambda / beta): a ridge fit to the shifted target.
  Mat t = vn + lambda_mult / pen.beta;
  ridge_solve(w, t, input, pen.beta, pen);
}

void update_activations(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                        const ConstMatRef& v_next, const ConstMatRef& u_next, const ConstMatRef& w_next,
                        const Penalties& pen) {
  const auto d = v.rows();
  const auto a = w_next.leftCols(d);
  own_layer_rhs(v, input, residual, u, pen);
  v += pen.gamma * v_next;
  add_sigma(v, -pen.gamma, u_next, pen.activation);
  v.noalias() += pen.rho * a.transpose() * u_next;
  const Eigen::VectorXd atb = pen.rho * (a.transpose() * w_next.col(d));
  v.colwise() -= atb;
  solve_activation_system(v, w_next, 2 * pen.gamma + pen.alpha, pen.rho);
}

void update_last_activations(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                             const ConstMatRef& vn, const ConstMatRef& lambda_mult, const ConstMatRef& w_out,
                             const Penalties& pen) {
  const auto d = v.rows();
  const auto a = w_out.leftCols(d);
  v *= pen.alpha;
  if (residual) v += pen.gamma * input;
  add_sigma(v, pen.gamma, u, pen.activation);
  v.noalias() += a.transpose() * lambda_mult;
  v.noalias() += pen.beta * a.transpose() * vn;
  const Eigen::VectorXd atb = pen.beta * (a.transpose() * w_out.col(d));
  v.colwise() -= atb;
  solve_activation_system(v, w_out, pen.gamma + pen.alpha, pen.beta);
}

double prox_preactivation(double a, double c, double gamma, double s, Activation act) {
  if (act == Activation::kIdentity) return (gamma * a + s * c) / (gamma + s);
  const double um = std::min(c, 0.0);
  const double up = std::max((gamma * a + s * c) / (gamma + s), 0.0);
  const double cost_m = 0.5 * gamma * a * a + 0.5 * s * (um - c) * (um - c);
  const double cost_p = 0.5 * gamma * (a - up) * (a - up) + 0.5 * s * (up - c) * (up - c);
  return cost_p < cost_m ? up : um;
}

void update_preactivations(MatRef u, const ConstMatRef& v, const ConstMatRef& input, bool residual,
                           const ConstMatRef& w, MatRef z, const Penalties& pen) {
  affine(w, input, z);
  const double s = pen.rho + pen.alpha;
  for (Eigen::Index j = 0; j < u.cols(); ++j) {
    for (Eigen::Index r = 0; r < u.rows(); ++r) {
      const double a = residual ? v(r, j) - input(r, j) : v(r, j);
      const double c = (pen.rho * z(r, j) + pen.alpha * u(r, j)) / s;
      u(r, j) = prox_preactivation(a, c, pen.gamma, s, pen.activation);
    }
  }
}

void update_output(MatRef vn, const ConstMatRef& y, const ConstMatRef& lambda_mult, const ConstMatRef& zn,
                   const Penalties& pen) {
  vn = (y - lambda_mult + pen.beta * zn) / (1.0 + pen.beta);
}

void update_multiplier(MatRef lambda_mult, const ConstMatRef& vn, const ConstMatRef& zn, const Penalties& pen) {
  lambda_mult += pen.beta * (vn - zn);
}

double layer_objective(const ConstMatRef& v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                       const ConstMatRef& z, const ConstMatRef& w, const Penalties& pen) {
  double act;
  if (pen.activation == Activation::kRelu)
    act = residual ? (v - input - u.cwiseMax(0.0)).squaredNorm() : (v - u.cwiseMax(0.0)).squaredNorm();
  else
    act = residual ? (v - input - u).squaredNorm() : (v - u).squaredNorm();
  return 0.5 * pen.gamma * act + 0.5 * pen.rho * (u - z).squaredNorm() + 0.5 * pen.lambda * w.squaredNorm();
}

double head_objective(const ConstMatRef& vn, const ConstMatRef& y, const ConstMatRef& lambda_mult,
                      const ConstMatRef& zn, const ConstMatRef& w_out, const Penalties& pen) {
  return 0.5 * (vn - y).squaredNorm() + 0.5 * pen.lambda * w_out.squaredNorm() +
         (lambda_mult.array() * (vn - zn).array()).sum() + 0.5 * pen.beta * (vn - zn).squaredNorm();
}

Mat ridge_head(const ConstMatRef& y, const ConstMatRef& input, double lambda) {
  Mat w = Mat::Zero(y.rows(), input.rows() + 1);
  Penalties pen;
  pen.lambda = lambda;
  pen.alpha = 0;
  ridge_solve(w, y, input, 1.0, pen);
  return w;
}

}  // namespace radmm
