// Validation rows and model selection (--validation-fraction, --early-stop, --patience): the
// three sets never share a row or a copy of one, the reported weights are the best-validation
// ones for ADMM and backprop alike, patience stops, and a resume selects as a straight run.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/csv.hpp"
#include "common/dataset.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

using Rows = std::set<std::vector<double>>;
Rows rows_of(const Eigen::MatrixXd& x) {
  Rows r;
  for (Eigen::Index j = 0; j < x.cols(); ++j) r.emplace(x.col(j).data(), x.col(j).data() + x.rows());
  return r;
}
int shared(const Rows& a, const Rows& b) {
  return static_cast<int>(std::count_if(a.begin(), a.end(), [&](const auto& v) { return b.count(v) > 0; }));
}

/// A number after "key": in summary.json.
double field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\": ");
  REQUIRE(at != std::string::npos);
  return std::atof(json.c_str() + at + key.size() + 4);
}

/// The iteration of the lowest val_mse in metrics.csv (the first of ties).
int argmin_val(const std::string& metrics) {
  std::istringstream in(metrics);
  std::string line;
  std::getline(in, line);
  int best = 0;
  double best_v = 1e300;
  while (std::getline(in, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) c.push_back(x);
    if (c.size() > 4 && !c[4].empty() && std::atof(c[4].c_str()) < best_v) best_v = std::atof(c[4].c_str()), best = std::atoi(c[0].c_str());
  }
  return best;
}

}  // namespace

TEST_CASE("validation rows come out of the training rows, grouped: no row or copy is shared by two sets") {
  const Table white = read_csv("builtin:wine-white");
  for (std::uint64_t seed : {1, 2, 3}) {
    const Dataset g = make_dataset(white, "", 0.2, seed, true, 0.15), plain = make_dataset(white, "", 0.2, seed, true);
    CHECK(g.x_test.cols() == 980);
    CHECK(g.x_val.cols() == 588);  // round(0.15 * 3918), filled exactly
    CHECK(g.x_train.cols() + g.x_val.cols() == plain.x_train.cols());
    // Standardised with different training statistics: compare raw rows.
    const Rows train = rows_of(g.x_scaler.invert(g.x_train)), val = rows_of(g.x_scaler.invert(g.x_val)),
               test = rows_of(g.x_scaler.invert(g.x_test));
    CHECK(shared(val, train) == 0);
    CHECK(shared(val, test) == 0);
    CHECK(shared(test, train) == 0);
    CHECK(plain.y_test == g.y_test);  // the test rows do not depend on the validation fraction
    CHECK(g.fingerprint != plain.fingerprint);
    const Dataset r = make_dataset(white, "", 0.2, seed, false, 0.15);
    CHECK(shared(rows_of(r.x_scaler.invert(r.x_val)), rows_of(r.x_scaler.invert(r.x_train))) > 20);  // random leaks
  }
  const Dataset none = make_dataset(white, "", 0.2, 1, true, 0);
  CHECK(none.x_val.cols() == 0);
}

TEST_CASE("radmm split prints the validation rows and train uses them") {
  const auto r = test::run_radmm({"split", "--data", "builtin:wine-red", "--validation-fraction", "0.25"});
  REQUIRE(r.exit_code == 0);
  const auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = r.out.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  CHECK(count(",test,") == 320);
  CHECK(count(",validation,") == 320);  // round(0.25 * 1279)
  CHECK(count(",validation,1") == 0);   // grouped: no validation row copies a training row
  CHECK(count(",train,") == 959);
}

TEST_CASE("--early-stop reports the best-validation weights, for ADMM and for Adam") {
  const std::string dir = test::temp_dir("select");
  struct Case {
    std::string name;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {"admm", {"--depth", "4", "--width", "8", "--iterations", "30", "--workers", "0"}},
      {"adam", {"--method", "adam", "--learning-rate", "0.01", "--depth", "3", "--iterations", "40"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto args = c.args;
    args.insert(args.begin(), "train");
    args.insert(args.end(), {"--patience", "0", "--quiet", "--out", dir + "/" + c.name});
    const auto r = test::run_radmm(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string summary = test::slurp(dir + "/" + c.name + "/summary.json");
    const int selected = static_cast<int>(field(summary, "selected_iteration"));
    const int last = static_cast<int>(field(summary, "iterations"));
    CHECK(selected == argmin_val(test::slurp(dir + "/" + c.name + "/metrics.csv")));
    REQUIRE(selected < last);  // these settings overfit: the test needs a best that is not the last
    // Training only up to the selected iteration gives the same final model, byte for byte.
    auto upto = c.args;
    upto.insert(upto.begin(), "train");
    for (std::size_t k = 0; k + 1 < upto.size(); ++k)
      if (upto[k] == "--iterations") upto[k + 1] = std::to_string(selected);
    upto.insert(upto.end(), {"--early-stop", "false", "--quiet", "--out", dir + "/" + c.name + "-upto"});
    REQUIRE(test::run_radmm(upto).exit_code == 0);
    CHECK(test::slurp(dir + "/" + c.name + "/model.bin") == test::slurp(dir + "/" + c.name + "-upto/model.bin"));
    CHECK(field(test::slurp(dir + "/" + c.name + "-upto/summary.json"), "selected_iteration") == 0);
  }
}

TEST_CASE("--patience k stops k evaluations after the best one") {
  const std::string dir = test::temp_dir("patience");
  const auto r = test::run_radmm({"train", "--method", "adam", "--learning-rate", "0.01", "--depth", "3",
                                  "--iterations", "200", "--patience", "5", "--quiet", "--out", dir + "/run"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string summary = test::slurp(dir + "/run/summary.json");
  CHECK(summary.find("\"termination\": \"early_stop\"") != std::string::npos);
  CHECK(field(summary, "iterations") == field(summary, "selected_iteration") + 5);
  CHECK(field(summary, "iterations") < 200);
}

TEST_CASE("a resumed run selects the same model as an uninterrupted one") {
  const std::string dir = test::temp_dir("select-resume");
  const std::vector<std::string> base = {"train", "--depth", "4", "--width", "8", "--workers", "0", "--patience", "4",
                                         "--checkpoint-every", "5", "--quiet"};
  auto straight = base, first = base, resume = base;
  straight.insert(straight.end(), {"--iterations", "40", "--out", dir + "/straight"});
  first.insert(first.end(), {"--iterations", "20", "--out", dir + "/split"});
  resume.insert(resume.end(), {"--iterations", "40", "--resume", dir + "/split"});
  REQUIRE(test::run_radmm(straight).exit_code == 0);
  REQUIRE(test::run_radmm(first).exit_code == 0);
  const auto r = test::run_radmm(resume);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(test::slurp(dir + "/straight/model.bin") == test::slurp(dir + "/split/model.bin"));
  const std::string a = test::slurp(dir + "/straight/summary.json"), b = test::slurp(dir + "/split/summary.json");
  CHECK(field(a, "selected_iteration") == field(b, "selected_iteration"));
  CHECK(field(a, "iterations") == field(b, "iterations"));
}

TEST_CASE("radmm compare: every method and reference line in the table, each chosen on validation") {
  const std::string dir = test::temp_dir("compare");
  const auto r = test::run_radmm({"compare", "--depths", "3", "--seeds", "11,12", "--epochs", "15", "--iterations",
                                  "10", "--width", "8", "--adam-lrs", "1e-3,1e-2", "--gd-lrs", "1e-2,1e3",
                                  "--compare-out", dir}, {}, 120);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string md = test::slurp(dir + "/compare.md"), csv = test::slurp(dir + "/compare.csv");
  for (const char* m : {"admm", "adam", "gd", "ridge", "untrained"}) {
    CAPTURE(m);
    CHECK(md.find(std::string("| ") + m + " | ") != std::string::npos);
    for (const char* seed : {",11,", ",12,"})
      CHECK(csv.find(std::string("wine-red,3") + seed + m + ",") != std::string::npos);
  }
  CHECK(md.find("radmm compare --depths 3") != std::string::npos);  // the command that made it
  CHECK(csv.find("gd,lr 1000") == std::string::npos);  // gd's lr 1e3 diverged and was not chosen
  CHECK(csv.find("gd,lr 0.01") != std::string::npos);
  CHECK(test::slurp(dir + "/wine-red-d3.svg").find("<svg") != std::string::npos);
  // Every method's row carries the target (the tuned Adam's lowest validation MSE) of its seed.
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    CHECK(std::count(line.begin(), line.end(), ',') == 17);  // 14 columns + the depth study's 4 (test_depth)
  }
  CHECK(rows == 10);
  CHECK(test::run_radmm({"compare", "--methods", "admm,svm", "--compare-out", dir + "/x"}).exit_code == 64);
  CHECK(test::run_radmm({"compare", "--validation-fraction", "0", "--compare-out", dir + "/x"}).exit_code == 64);
  const auto cls = test::run_radmm({"compare", "--loss", "onehot", "--compare-out", dir + "/x"});
  CHECK(cls.exit_code == 64);
  CHECK(cls.err.find("compare measures regression") != std::string::npos);
  CHECK(test::run_radmm({"compare", "--depths=3", "--seeds", "11", "--epochs", "x", "--compare-out", dir + "/x"})
            .exit_code == 64);  // own options take --name=value too; a bad value names the option
}
