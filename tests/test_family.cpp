// The linearized and TS2 members (ALGORITHM.md 4): power-iteration norms against an SVD, and
// repeated prox-gradient steps on one block converge to that block's exact minimiser
// (the closed forms of section 3, or a dense solve where sigma = identity makes TS2 quadratic).
// The convergence is linear; 3000 steps reach 1e-8 to 5e-8 (build-dependent), a wrong gradient
// would miss by 1e-1, so the tolerance is 1e-6.
#include <doctest/doctest.h>

#include <Eigen/SVD>

#include "common/linearized.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

Mat random_mat(Rng& rng, Eigen::Index r, Eigen::Index c, double scale = 1.0) {
  Mat m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * rng.normal();
  return m;
}

Penalties identity_pen(double alpha) {
  Penalties pen = test::make_penalties(1.3, 0.7, 2.5, alpha, 0.2, Activation::kIdentity);
  pen.linearized = true;
  return pen;
}

}  // namespace

TEST_CASE("power iteration estimates the largest squared singular value from below") {
  Rng rng(3);
  const Mat m = random_mat(rng, 6, 40);
  Mat t(7, 40);
  t << m, Mat::Ones(1, 40);
  for (bool tilde : {false, true}) {
    const double exact = std::pow(Eigen::JacobiSVD<Mat>(tilde ? t : m).singularValues()(0), 2);
    const double est = spectral_norm_sq(m, tilde, 50);
    CHECK(est <= exact * (1 + 1e-12));
    CHECK(est >= 0.99 * exact);
  }
  CHECK(spectral_norm_sq(Mat::Zero(3, 4), false) == 0);
}

TEST_CASE("linearized W steps converge to the exact ridge minimiser (TS3 W_i and W_N, TS2 with identity)") {
  Rng rng(5);
  const Mat input = random_mat(rng, 4, 30), target = random_mat(rng, 3, 30);
  const Penalties pen = identity_pen(0.0);
  // TS3: argmin rho/2 ||T - W P~||^2 + lambda/2 ||W||^2 = ridge with lambda / rho.
  Mat w = random_mat(rng, 3, 5);
  for (int k = 0; k < 3000; ++k) update_weights_linearized(w, target, input, pen.rho, pen);
  CHECK((w - ridge_head(target, input, pen.lambda / pen.rho)).cwiseAbs().maxCoeff() < 1e-6);
  // TS2 with sigma = identity: gamma/2 ||V - R - W P~||^2 + lambda/2 ||W||^2.
  const Mat v = random_mat(rng, 4, 30);
  Mat w2 = random_mat(rng, 4, 5);
  for (int k = 0; k < 3000; ++k) update_weights_ts2(w2, v, input, true, pen);
  CHECK((w2 - ridge_head(v - input, input, pen.lambda / pen.gamma)).cwiseAbs().maxCoeff() < 1e-6);
}

TEST_CASE("linearized V steps converge to the exact activation updates (TS3), and TS2 V to a dense solve") {
  Rng rng(9);
  const int d = 4, n = 20;
  const Mat input = random_mat(rng, d, n), u = random_mat(rng, d, n), v_next = random_mat(rng, d, n);
  const Mat u_next = random_mat(rng, d, n), w_next = random_mat(rng, d, d + 1, 0.5);
  const Mat vn = random_mat(rng, 2, n), lambda_mult = random_mat(rng, 2, n), w_out = random_mat(rng, 2, d + 1);
  const Mat start = random_mat(rng, d, n);
  for (Activation act : {Activation::kRelu, Activation::kIdentity}) {
    Penalties pen = identity_pen(0.0);
    pen.activation = act;
    Mat exact = start, lin = start;
    update_activations(exact, input, true, u, v_next, u_next, w_next, pen);
    for (int k = 0; k < 3000; ++k) update_activations_linearized(lin, input, true, u, v_next, u_next, w_next, pen);
    CHECK((lin - exact).cwiseAbs().maxCoeff() < 1e-6);
    exact = start, lin = start;
    update_last_activations(exact, input, true, u, vn, lambda_mult, w_out, pen);
    for (int k = 0; k < 3000; ++k)
      update_last_activations_linearized(lin, input, true, u, vn, lambda_mult, w_out, pen);
    CHECK((lin - exact).cwiseAbs().maxCoeff() < 1e-6);
  }
  // TS2 V_i, sigma = identity: gamma (V - own) - gamma B^T (V_{i+1} - B V - b) = 0 with B = I + A.
  const Penalties pen = identity_pen(0.0);
  const Mat z_own = random_mat(rng, d, n);
  const Mat b_mat = Mat::Identity(d, d) + w_next.leftCols(d);
  const Mat own = input + z_own;
  const Mat rhs = own + b_mat.transpose() * (v_next.colwise() - w_next.col(d));
  const Mat dense = (Mat::Identity(d, d) + b_mat.transpose() * b_mat).ldlt().solve(rhs);
  Mat lin = start;
  for (int k = 0; k < 3000; ++k) update_activations_ts2(lin, input, true, z_own, v_next, w_next, pen);
  CHECK((lin - dense).cwiseAbs().maxCoeff() < 1e-6);
}

TEST_CASE("a linearized step never increases its block objective, with ReLU and the proximal weight") {
  Rng rng(12);
  const int d = 5, n = 25;
  Penalties pen = test::make_penalties(1.0, 1.0, 2.0, 0.3, 0.1, Activation::kRelu);
  for (int trial = 0; trial < 20; ++trial) {
    const Mat input = random_mat(rng, d, n), v = random_mat(rng, d, n), v_next = random_mat(rng, d, n);
    const Mat w_next = random_mat(rng, d, d + 1), z_own = random_mat(rng, d, n);
    Mat w = random_mat(rng, d, d + 1);
    auto f_w = [&](const Mat& x) {
      return 0.5 * pen.gamma * (v - input - (x * test::tilde(input)).cwiseMax(0.0)).squaredNorm() +
             0.5 * pen.lambda * x.squaredNorm();
    };
    const Mat w0 = w;
    update_weights_ts2(w, v, input, true, pen);
    CHECK(f_w(w) <= f_w(w0) - 0.5 * pen.alpha * (w - w0).squaredNorm() + 1e-12);
    CHECK((w - w0).norm() > 0);  // it moves: a step, not a no-op
    Mat x = v;
    auto f_v = [&](const Mat& y) {
      return 0.5 * pen.gamma * ((y - input - z_own.cwiseMax(0.0)).squaredNorm() +
                                (v_next - y - (w_next * test::tilde(y)).cwiseMax(0.0)).squaredNorm());
    };
    update_activations_ts2(x, input, true, z_own, v_next, w_next, pen);
    CHECK(f_v(x) <= f_v(v) - 0.5 * pen.alpha * (x - v).squaredNorm() + 1e-12);
    CHECK((x - v).norm() > 0);
  }
}
