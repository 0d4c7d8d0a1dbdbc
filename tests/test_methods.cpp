// The other members of the family and the backprop baseline: BCD is ADMM without the dual
// step (Lambda stays 0, the penalty function never increases); the backprop gradient matches
// finite differences of the loss; gd / adam write the same outputs as ADMM.
#include <doctest/doctest.h>

#include "common/backprop.hpp"
#include "coordinator/trainer.hpp"
#include "helpers.hpp"
#include "worker/phases.hpp"

using namespace radmm;

TEST_CASE("BCD: multiplier fixed at zero, monotone penalty objective, otherwise ADMM's steps") {
  const Dims d = test::make_dims(4, 3, 5, 1, 9);
  StateBuffer a_buf(d), b_buf(d);
  const State a = a_buf.state(), b = b_buf.state();
  test::random_state(a, 8, Activation::kRelu);
  test::random_state(b, 8, Activation::kRelu);
  a.Lambda().setZero();
  b.Lambda().setZero();
  const Penalties admm = test::make_penalties(1.2, 0.8, 2, 0.1, 0.1);
  Penalties bcd = admm;
  bcd.dual = false;
  Mat z(d.width, d.samples);
  // One iteration from the same point: identical primal blocks, only Lambda differs.
  sweep_iteration(a, admm, z);
  sweep_iteration(b, bcd, z);
  CHECK(Mat(a.W(2)) == Mat(b.W(2)));
  CHECK(Mat(a.VN()) == Mat(b.VN()));
  CHECK(b.Lambda().isZero(0));
  CHECK(!a.Lambda().isZero(0));
  double prev = test::lagrangian(b, bcd);
  for (int k = 0; k < 30; ++k) {
    const double l = sweep_iteration(b, bcd, z);
    CHECK(l <= prev + 1e-10 * std::abs(prev));
    CHECK(b.Lambda().isZero(0));
    prev = l;
  }
}

TEST_CASE("backprop gradient against central finite differences") {
  for (Activation act : {Activation::kRelu, Activation::kIdentity}) {
    Rng rng(12);
    Model m;
    m.activation = act;
    const int widths[] = {3, 4, 4, 4, 2};  // d0 = 3, three hidden layers of 4, c = 2
    for (int i = 1; i <= 4; ++i) {
      Mat w(widths[i], widths[i - 1] + 1);
      for (Eigen::Index e = 0; e < w.size(); ++e) w.data()[e] = 0.6 * rng.normal();
      m.w.push_back(w);
    }
    Mat x(3, 7), y(2, 7);
    for (Eigen::Index e = 0; e < x.size(); ++e) x.data()[e] = rng.normal();
    for (Eigen::Index e = 0; e < y.size(); ++e) y.data()[e] = rng.normal();
    std::vector<Mat> grad, scratch;
    loss_and_gradient(m, x, y, 0.05, grad);
    const double h = 1e-6;
    double worst = 0;
    for (std::size_t l = 0; l < m.w.size(); ++l)
      for (Eigen::Index e = 0; e < m.w[l].size(); ++e) {
        const double keep = m.w[l].data()[e];
        m.w[l].data()[e] = keep + h;
        const double fp = loss_and_gradient(m, x, y, 0.05, scratch);
        m.w[l].data()[e] = keep - h;
        const double fm = loss_and_gradient(m, x, y, 0.05, scratch);
        m.w[l].data()[e] = keep;
        worst = std::max(worst, std::abs((fp - fm) / (2 * h) - grad[l].data()[e]));
      }
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("adam and gd lower the training loss and write the usual outputs") {
  for (const std::string method : {"adam", "gd"}) {
    CAPTURE(method);
    const std::string dir = test::temp_dir("bp");
    const auto r = test::run_radmm({"train", "--method", method, "--iterations", "20", "--batch-size", "64",
                                    "--refit-head", "false", "--out", dir + "/run", "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string metrics = test::slurp(dir + "/run/metrics.csv");
    const double first = std::stod(metrics.substr(metrics.find("\n1,") + 1).substr(
        metrics.substr(metrics.find("\n1,") + 1).find(',', 2) + 1));
    const auto last_row = metrics.substr(metrics.find("\n20,") + 1);
    const double last = std::stod(last_row.substr(last_row.find(',', 3) + 1));
    CHECK(last < first);
    CHECK(test::slurp(dir + "/run/summary.json").find("\"method\": \"" + method + "\"") != std::string::npos);
    CHECK(test::slurp(dir + "/run/model.bin").rfind("RADMMMDL", 0) == 0);
  }
  const auto bad = test::run_radmm({"train", "--method", "adam", "--workers", "2"});
  CHECK(bad.exit_code == 64);
  const auto bad2 = test::run_radmm({"train", "--method", "sgd"});
  CHECK(bad2.exit_code == 64);
}

TEST_CASE("bcd runs with workers and stays P-independent") {
  const std::string dir = test::temp_dir("bcd");
  std::string first;
  for (int p : {0, 2}) {
    const auto r = test::run_radmm({"train", "--method", "bcd", "--depth", "5", "--width", "8", "--iterations", "6",
                                    "--workers", std::to_string(p), "--out", dir + "/p" + std::to_string(p), "--quiet"});
    REQUIRE(r.exit_code == 0);
    const std::string model = test::slurp(dir + "/p" + std::to_string(p) + "/model.bin");
    if (first.empty()) first = model;
    else CHECK(model == first);
  }
}
