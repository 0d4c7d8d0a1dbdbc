// Oracles O1-O4 of ALGORITHM.md on small random problems: block steps never increase
// L_beta (by at least alpha/2 ||dX||^2), the multiplier identity, monotone L_beta with
// beta > 1, each closed form is the minimiser (zero gradient, no improving perturbation,
// the ReLU prox against a dense grid).
#include <doctest/doctest.h>

#include <Eigen/Cholesky>
#include <Eigen/SVD>
#include <functional>
#include <limits>

#include "coordinator/trainer.hpp"
#include "helpers.hpp"
#include "worker/phases.hpp"

using namespace radmm;
using radmm::test::lagrangian;

namespace {

Dims small_dims(int depth = 4) { return test::make_dims(depth, 3, 5, 2, 7); }

// A random state with its penalties and the workspace every phase needs.
struct Problem {
  StateBuffer buf;
  State s;
  Penalties pen;
  Mat z;
  Problem(const Dims& d, std::uint64_t seed, Activation act, const Penalties& p)
      : buf(d), s(buf.state()), pen(p), z(d.width, d.samples) {
    test::random_state(s, seed, act);
  }
};

Penalties pens(Activation act, double alpha = 0.1) { return test::make_penalties(1.3, 0.7, 2.5, alpha, 0.05, act); }

struct Block {
  std::string name;
  std::function<MatMap()> view;
  std::function<void()> step;
};

/// Every primal block of the state with its exact update.
std::vector<Block> blocks(const State& s, const Penalties& pen, Mat& z) {
  std::vector<Block> b;
  const int n_layers = s.dims().depth;
  for (int i = 1; i <= n_layers; ++i)
    b.push_back({"W" + std::to_string(i), [&s, i] { return s.W(i); }, [&s, &pen, i] { step_weights(s, i, pen); }});
  for (int i = 1; i < n_layers; ++i) {
    b.push_back({"V" + std::to_string(i), [&s, i] { return s.V(i); }, [&s, &pen, &z, i] { step_activations(s, i, pen, z); }});
    b.push_back({"U" + std::to_string(i), [&s, i] { return s.U(i); },
                 [&s, &pen, &z, i] { step_preactivations(s, i, pen, z); }});
  }
  b.push_back({"VN", [&s] { return s.VN(); }, [&s, &pen] {
                 const int n = s.dims().depth;
                 affine(s.W(n), s.V(n - 1), s.ZN());
                 update_output(s.VN(), s.Y(), s.Lambda(), s.ZN(), pen);
               }});
  return b;
}

/// L_beta plus the block's proximal term alpha/2 ||X - X^k||^2 (V_N's update has none:
/// it is the exact, (1 + beta)-strongly convex minimiser of L_beta alone).
double prox_objective(const State& s, const Penalties& pen, const std::string& name, const MatMap& x,
                      const Mat& xk) {
  const double alpha = name == "VN" ? 0.0 : pen.alpha;
  return lagrangian(s, pen) + 0.5 * alpha * (Mat(x) - xk).squaredNorm();
}

}  // namespace

/// The family's members: TS3 / TS2 splitting, proximal / linearized update.
Penalties variant(Activation act, bool ts2, bool linearized) {
  Penalties pen = pens(act);
  pen.ts2 = ts2;
  pen.linearized = linearized;
  return pen;
}

TEST_CASE("O1: every block step (exact, linearized, TS2) decreases L_beta by at least alpha/2 ||dX||^2") {
  for (Activation act : {Activation::kRelu, Activation::kIdentity}) {
    for (int depth : {2, 3, 5}) {
     for (int v = 0; v < 4; ++v) {
      CAPTURE(v);
      Problem prob(small_dims(depth), 11 + depth, act, variant(act, v & 1, v & 2));
      const State& s = prob.s;
      const Penalties& pen = prob.pen;
      Mat& z = prob.z;
      for (int round = 0; round < 3; ++round) {
        for (const Block& b : blocks(s, pen, z)) {
          CAPTURE(b.name);
          CAPTURE(depth);
          const Mat before = b.view();
          const double l0 = lagrangian(s, pen);
          b.step();
          const double l1 = lagrangian(s, pen);
          const double moved = (Mat(b.view()) - before).squaredNorm();
          CHECK(l1 <= l0 - 0.5 * pen.alpha * moved + 1e-9 * (1 + std::abs(l0)));
        }
      }
     }
    }
  }
}

TEST_CASE("O2 and O3: multiplier identity and monotone L_beta over 50 iterations, every variant") {
  for (Activation act : {Activation::kRelu, Activation::kIdentity}) {
    for (int v = 0; v < 16; ++v) {
      const bool sweep = v & 4;
      const int inner = v & 8 ? 3 : 1;  // --inner-passes: more exact V, U steps per W step
      CAPTURE(v);
      Problem prob(small_dims(5), 5, act, variant(act, v & 1, v & 2));
      const State& s = prob.s;
      const Penalties& pen = prob.pen;
      Mat& z = prob.z;
      const Region all{1, s.dims().hidden(), 0};
      double prev = std::numeric_limits<double>::infinity();
      for (int k = 0; k < 50; ++k) {
        double l;
        if (sweep) {
          l = sweep_iteration(s, pen, z, inner);
        } else {
          run_phase(Phase::kWeights, all, s, pen, z);
          for (int r = 0; r < inner; ++r)
            for (int p = 1; p < kPhaseCount; ++p) run_phase(static_cast<Phase>(p), all, s, pen, z);
          l = finish_iteration(s, pen);
        }
        // The trainer's reduced L_beta equals the definition recomputed independently.
        CHECK(l == doctest::Approx(lagrangian(s, pen)).epsilon(1e-10));
        // O2: Lambda + V_N - Y = 0.
        CHECK((s.Lambda() + s.VN() - s.Y()).cwiseAbs().maxCoeff() < 1e-12);
        // O3: non-increasing.
        CHECK(l <= prev + 1e-10 * std::abs(prev));
        prev = l;
      }
    }
  }
}

TEST_CASE("inner passes with W fixed: every pass lowers L_beta and the signal reaches layer 1") {
  // With W fixed the V, U passes are exact block descent on L_beta: each pass can only lower it.
  Problem prob(small_dims(6), 31, Activation::kRelu, pens(Activation::kRelu));
  const State& s = prob.s;
  const Penalties& pen = prob.pen;
  Mat& z = prob.z;
  const Region all{1, s.dims().hidden(), 0};
  run_phase(Phase::kWeights, all, s, pen, z);
  double prev = lagrangian(s, pen);
  const Mat v1_start = s.V(1);
  for (int r = 0; r < 20; ++r) {
    for (int p = 1; p < kPhaseCount; ++p) run_phase(static_cast<Phase>(p), all, s, pen, z);
    const double l = lagrangian(s, pen);
    CHECK(l <= prev + 1e-12 * std::abs(prev));
    prev = l;
  }
  CHECK((Mat(s.V(1)) - v1_start).norm() > 1e-6);  // the passes reached the lowest layer
}

TEST_CASE("O3 needs beta > 1: the bound's dual term is what keeps L_beta monotone") {
  // With the identity constraint residual after the first dual step, the decrease is at least
  // ((1+beta)/2 - 1/beta) ||dV_N||^2; check that the per-iteration decrease honours it.
  Problem prob(small_dims(4), 21, Activation::kRelu, pens(Activation::kRelu));
  const State& s = prob.s;
  const Penalties& pen = prob.pen;
  Mat& z = prob.z;
  sweep_iteration(s, pen, z);  // after one iteration Lambda = Y - V_N holds
  for (int k = 0; k < 10; ++k) {
    const double l0 = lagrangian(s, pen);
    const Mat vn0 = s.VN();
    sweep_iteration(s, pen, z);
    const double dvn = (Mat(s.VN()) - vn0).squaredNorm();
    CHECK(lagrangian(s, pen) <= l0 - ((1 + pen.beta) / 2 - 1 / pen.beta) * dvn + 1e-9 * std::abs(l0));
  }
}

TEST_CASE("O4: smooth closed forms have a zero gradient and no perturbation improves any block") {
  for (Activation act : {Activation::kRelu, Activation::kIdentity}) {
    Problem prob(small_dims(4), 3, act, pens(act));
    const State& s = prob.s;
    const Penalties& pen = prob.pen;
    Mat& z = prob.z;
    Rng rng(99);
    for (const Block& b : blocks(s, pen, z)) {
      CAPTURE(b.name);
      const Mat xk = b.view();
      b.step();
      MatMap x = b.view();
      const double f0 = prox_objective(s, pen, b.name, x, xk);
      const bool smooth = b.name[0] != 'U' || act == Activation::kIdentity;
      if (smooth) {  // central differences of the block objective
        const double h = 1e-5;
        double gmax = 0;
        for (Eigen::Index e = 0; e < x.size(); ++e) {
          const double keep = x.data()[e];
          x.data()[e] = keep + h;
          const double fp = prox_objective(s, pen, b.name, x, xk);
          x.data()[e] = keep - h;
          const double fm = prox_objective(s, pen, b.name, x, xk);
          x.data()[e] = keep;
          gmax = std::max(gmax, std::abs(fp - fm) / (2 * h));
        }
        CHECK(gmax < 1e-5 * (1 + std::abs(f0)));
      }
      const Mat best = x;
      for (int trial = 0; trial < 50; ++trial) {
        const double scale = trial < 25 ? 1e-3 : 1e-1;
        for (Eigen::Index e = 0; e < x.size(); ++e) x.data()[e] = best.data()[e] + scale * rng.normal();
        CHECK(prox_objective(s, pen, b.name, x, xk) >= f0 - 1e-10 * (1 + std::abs(f0)));
      }
      x = best;
    }
  }
}

TEST_CASE("O4: the ReLU pre-activation prox beats a dense grid") {
  Rng rng(7);
  for (int t = 0; t < 400; ++t) {
    const double a = 3 * rng.normal(), c = 3 * rng.normal();
    const double gamma = 0.1 + 3 * rng.uniform(), s = 0.1 + 3 * rng.uniform();
    auto cost = [&](double u) { return 0.5 * gamma * (a - std::max(u, 0.0)) * (a - std::max(u, 0.0)) + 0.5 * s * (u - c) * (u - c); };
    const double u = prox_preactivation(a, c, gamma, s, Activation::kRelu);
    double grid_best = std::numeric_limits<double>::infinity();
    for (int g = -40000; g <= 40000; ++g) grid_best = std::min(grid_best, cost(g * 5e-4));
    CHECK(cost(u) <= grid_best + 1e-12);
  }
}

TEST_CASE("the ridge refit of the head minimises its ridge objective") {
  Rng rng(4);
  Mat p(4, 30), y(1, 30);
  for (Eigen::Index i = 0; i < p.size(); ++i) p.data()[i] = rng.normal();
  for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = rng.normal();
  const double lambda = 0.3;
  const Mat w = ridge_head(y, p, lambda);
  // Normal equations: (Y - W P~) P~^T = lambda W.
  const Mat pt = test::tilde(p);
  CHECK(((y - w * pt) * pt.transpose() - lambda * w).cwiseAbs().maxCoeff() < 1e-10);
}

TEST_CASE("the V solve: a product with the inverse where its condition bound allows, the solve elsewhere") {
  // (diag I + scale A^T A) X = B against an independent solve in long double precision; the
  // residual of either path stays within c d u kappa^ of ||M|| ||X|| (docs/algorithm.md).
  const auto check = [](auto zero, double a_scale, bool expect_product) {
    using T = decltype(zero);
    const int d = 24, n = 50;
    const double diag = 2.01, scale = 1.0;
    Eigen::MatrixXd w = Eigen::MatrixXd::Random(d, d + 1) * a_scale, b = Eigen::MatrixXd::Random(d, n);
    MatT<T> x = b.cast<T>();
    const MatT<T> wt = w.cast<T>();
    const ActivationSystem<T> sys = activation_system<T>(wt, d, static_cast<T>(diag), static_cast<T>(scale));
    sys.apply(x);
    const double kappa = sys.kappa;
    CHECK((sys.inverse.size() > 0) == expect_product);
    CHECK((kappa <= kActivationProductKappa<T>) == expect_product);
    const Eigen::MatrixXd a = wt.leftCols(d).template cast<double>();
    Eigen::MatrixXd m = scale * a.transpose() * a;
    m.diagonal().array() += diag;
    CHECK(kappa >= Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues().maxCoeff() / diag);  // a true bound
    const double u = std::numeric_limits<T>::epsilon();
    const Eigen::MatrixXd xd = x.template cast<double>();
    const double residual = (m * xd - b.cast<T>().template cast<double>()).norm() / (m.norm() * xd.norm());
    INFO("kappa^ ", kappa, " residual ", residual);
    CHECK(residual <= 10 * d * u * kappa);
    using LMat = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
    const LMat exact = m.cast<long double>().llt().solve(b.cast<T>().template cast<long double>());
    CHECK(static_cast<double>((exact - xd.cast<long double>()).norm() / exact.norm()) <= 10 * d * u * kappa);
  };
  check(0.0, 0.1, true);    // double, well conditioned: product
  check(0.0, 50.0, false);  // double, kappa^ in the thousands: solve
  check(0.0f, 0.05, true);  // float, kappa^ below 10: product
  check(0.0f, 2.0, false);  // float, above: solve
}
