// The convergence diagnostics (ALGORITHM.md O6, O7) on sequences with known answers, and on a
// real run: every a_j at least alpha/2 (O1 + O3), no L_beta increase, the columns filled.
#include <doctest/doctest.h>

#include <cmath>

#include "common/diagnostics.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

/// Steps of a sequence L^0, L^1, ... with unit step norms.
std::vector<StepRecord> steps_of(const std::vector<double>& l) {
  std::vector<StepRecord> s;
  for (std::size_t k = 1; k < l.size(); ++k) s.push_back({static_cast<int>(k), l[k - 1], l[k], 1.0, false});
  return s;
}

}  // namespace

TEST_CASE("a geometric tail is recognised and its ratio recovered") {
  std::vector<double> l;
  for (int k = 0; k <= 200; ++k) l.push_back(5 + 3 * std::pow(0.9, k));
  const RateFit f = fit_rate(steps_of(l));
  CHECK(f.kind == "geometric");
  CHECK(f.q == doctest::Approx(0.9).epsilon(1e-9));
  CHECK(f.r2_geometric > f.r2_power);
  CHECK(f.kl_exponent == 0.5);
  CHECK(f.tail_from == 101);
}

TEST_CASE("a power-law tail is recognised and its exponent and KL exponent recovered") {
  std::vector<double> l;
  for (int k = 0; k <= 400; ++k) l.push_back(5 + 2 * std::pow(k + 1.0, -1.5));
  const RateFit f = fit_rate(steps_of(l));
  CHECK(f.kind == "power-law");
  CHECK(f.p == doctest::Approx(1.5).epsilon(0.02));
  CHECK(f.kl_exponent == doctest::Approx(2.5 / 3.0).epsilon(0.01));  // (1 + p) / (2 p)
}

TEST_CASE("too short or flat tails are reported as insufficient") {
  CHECK(fit_rate(steps_of({3, 2, 1.5, 1.2, 1.1, 1.05})).kind == "insufficient");
  CHECK(fit_rate(steps_of(std::vector<double>(50, 1.0))).kind == "insufficient");
  CHECK(fit_rate({}).kind == "insufficient");
}

TEST_CASE("j-step sufficient-decrease constants on a known sequence, windows split by restarts") {
  // decreases 4, 1, 3, 2 with step norms 1, 1, 2, 1.
  std::vector<StepRecord> s = {{1, 10, 6, 1, false}, {2, 6, 5, 1, false}, {3, 5, 2, 2, false}, {4, 2, 0, 1, false}};
  auto a = sufficient_decrease_constants(s);
  REQUIRE(a.size() == 4);
  CHECK(a[0] == doctest::Approx(1.0));      // min(4, 1, 1.5, 2)
  CHECK(a[1] == doctest::Approx(4.0 / 3));  // min(5/2, 4/3, 5/3)
  CHECK(a[2] == doctest::Approx(1.5));      // min(8/4, 6/4)
  CHECK(a[3] == doctest::Approx(2.0));      // 10/5
  s[2].restart = true;
  s[2].l_before = 7;  // re-projected: decrease 5 over step 2
  a = sufficient_decrease_constants(s);
  CHECK(a[0] == doctest::Approx(1.0));
  CHECK(a[1] == doctest::Approx(7.0 / 3));  // only (3, 4): (7 - 0) / 3 and (1, 2): 5 / 2
  CHECK(std::isnan(a[2]));
  CHECK(std::isnan(a[3]));
  // An increase gives a negative constant and is flagged.
  s[3].l_after = 2.5;
  CHECK(raised(s[3]));
  CHECK(!raised(s[0]));
  CHECK(!raised({1, 1e6, 1e6 + 1e-5, 1, false}));  // rounding of a large L_beta
  CHECK(sufficient_decrease_constants(s)[0] < 0);
}

TEST_CASE("a run reports the diagnostics: a_j >= alpha/2, no increase, every column filled") {
  const std::string dir = test::temp_dir("diag");
  for (const char* update : {"proximal", "linearized"}) {
    CAPTURE(update);
    // No re-projection, so every window of 4 iterations is one stretch of ADMM.
    const auto r = test::run_radmm({"train", "--depth", "4", "--width", "8", "--iterations", "30", "--workers", "0",
                                    "--update", update, "--out", dir + "/" + update, "--quiet", "--alpha", "0.1",
                                    "--beta", "2", "--reproject-every", "0"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find("warning") == std::string::npos);
    const std::string s = test::slurp(dir + "/" + update + "/summary.json");
    CHECK(s.find("\"violations\": 0") != std::string::npos);
    for (int j = 1; j <= 4; ++j) {
      const auto at = s.find("\"a" + std::to_string(j) + "\": ");
      REQUIRE(at != std::string::npos);
      CHECK(std::atof(s.c_str() + at + 6) >= 0.05);  // alpha / 2
    }
    CHECK(s.find("\"kind\": \"") != std::string::npos);
    const std::string m = test::slurp(dir + "/" + update + "/metrics.csv");
    CHECK(m.find("step_sq,decrease,relaxation_gap,restart") != std::string::npos);
    CHECK(m.find(",,") == std::string::npos);
  }
  // With re-projection every 2 iterations only windows inside one stretch count: a3, a4 undefined.
  const auto r = test::run_radmm({"train", "--depth", "4", "--width", "8", "--iterations", "10", "--workers", "0",
                                  "--reproject-every", "2", "--out", dir + "/rp", "--quiet"});
  REQUIRE(r.exit_code == 0);
  const std::string s = test::slurp(dir + "/rp/summary.json");
  CHECK(s.find("\"restarts\": 4") != std::string::npos);  // before iterations 3, 5, 7, 9
  CHECK(s.find("\"a3\": null, \"a4\": null") != std::string::npos);
  CHECK(s.find("\"violations\": 0") != std::string::npos);
}
