// The depth study's building blocks: --init plain changes only the initial weights (the branch
// layers by exactly sqrt(N)); a diverging gd run exits 3 naming layer and epoch; the gradient
// norms in summary.json match central finite differences of an independently computed loss.
#include <doctest/doctest.h>

#include <cmath>
#include <regex>

#include "common/backprop.hpp"
#include "common/csv.hpp"
#include "common/settings.hpp"
#include "coordinator/trainer.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

/// A small regression fixture: 60 rows, 3 features, a nonlinear target.
std::string write_fixture(const std::string& dir) {
  Rng rng(5);
  std::string csv = "a,b,c,y\n";
  for (int r = 0; r < 60; ++r) {
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    csv += std::to_string(a) + "," + std::to_string(b) + "," + std::to_string(c) + "," +
           std::to_string(std::tanh(a - b) + 0.3 * c * c) + "\n";
  }
  const std::string path = dir + "/fixture.csv";
  test::write_text(path, csv);
  return path;
}

/// The numbers of a JSON list "key": [a, b, ...] in `json`.
std::vector<double> json_list(const std::string& json, const std::string& key) {
  std::smatch m;
  REQUIRE(std::regex_search(json, m, std::regex("\"" + key + "\": \\[([^\\]]*)\\]")));
  std::vector<double> out;
  std::stringstream in(m[1].str());
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stod(item));
  return out;
}

/// 1/(2n)||Phi(X) - Y||^2 + mu/2 sum ||W_i||^2 through Model::forward (not the backprop code).
double objective(const Model& m, const Mat& x, const Mat& y, double mu) {
  double l = 0.5 * (m.forward(x) - y).squaredNorm() / static_cast<double>(x.cols());
  for (const Mat& w : m.w) l += 0.5 * mu * w.squaredNorm();
  return l;
}

}  // namespace

TEST_CASE("--init plain: the same numbers, branch layers larger by exactly sqrt(N), nothing else changes") {
  const int depth = 6;
  const Dims d = test::make_dims(depth, 4, 7, 1, 13);
  StateBuffer a_buf(d), b_buf(d);
  const State a = a_buf.state(), b = b_buf.state();
  Rng rng(3);
  for (const State* s : {&a, &b}) {
    Rng r(3);
    for (Eigen::Index e = 0; e < s->X().size(); ++e) s->X().data()[e] = r.normal();
    for (Eigen::Index e = 0; e < s->Y().size(); ++e) s->Y().data()[e] = r.normal();
  }
  initialise_state(a, Activation::kRelu, 9, true);
  initialise_state(b, Activation::kRelu, 9, false);
  CHECK(Mat(a.W(1)) == Mat(b.W(1)));          // the lifting layer: He, no branch factor either way
  CHECK(Mat(a.W(depth)) == Mat(b.W(depth)));  // the head
  for (int i = 2; i < depth; ++i) {
    const Mat scaled = a.W(i), plain = b.W(i);
    CHECK((plain - std::sqrt(double(depth)) * scaled).cwiseAbs().maxCoeff() <= 1e-12 * plain.cwiseAbs().maxCoeff());
    CHECK(plain.col(plain.cols() - 1).isZero(0));  // zero biases
  }
  // Plain is He: the sample variance of the branch weights is near 2 / fan_in.
  double sum_sq = 0;
  Eigen::Index count = 0;
  for (int i = 2; i < depth; ++i) sum_sq += b.W(i).leftCols(d.width).squaredNorm(), count += b.W(i).leftCols(d.width).size();
  CHECK(sum_sq / double(count) == doctest::Approx(2.0 / d.width).epsilon(0.2));

  // The setting: validated, in the INI, part of what resume refuses to change.
  Settings s;
  CHECK(s.init == "scaled");
  s.init = "plain";
  s.validate();
  CHECK(settings_to_ini(s).find("init = plain\n") != std::string::npos);
  CHECK(settings_to_json(s).find("\"init\": \"plain\"") != std::string::npos);
  CHECK(first_math_difference(s, Settings{}) == "init");
  s.init = "xavier";
  CHECK_THROWS(s.validate());
  CHECK(parse_train_command({"--init", "plain"}).settings.init == "plain");
}

TEST_CASE("--init plain leaves the split alone, and resume refuses to change it") {
  const std::string dir = test::temp_dir("init-plain");
  const std::string data = write_fixture(dir);
  const auto a = test::run_radmm({"split", "--data", data, "--seed", "4"});
  const auto b = test::run_radmm({"split", "--data", data, "--seed", "4", "--init", "plain"});
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
  const auto bad = test::run_radmm({"train", "--quiet", "--data", data, "--init", "he"});
  CHECK(bad.exit_code == 64);
  CHECK(bad.err.find("--init") != std::string::npos);
  const std::string run = dir + "/run";
  REQUIRE(test::run_radmm({"train", "--quiet", "--data", data, "--workers", "0", "--depth", "4", "--iterations", "4",
                           "--checkpoint-every", "2", "--out", run})
              .exit_code == 0);
  const auto resumed = test::run_radmm({"train", "--quiet", "--resume", run, "--iterations", "6", "--init", "plain"});
  CHECK(resumed.exit_code == 64);
  CHECK(resumed.err.find("--init differs") != std::string::npos);
}

TEST_CASE("a diverging gd run (huge step, plain init, deep) exits 3 naming the layer and the epoch") {
  const std::string dir = test::temp_dir("gd-diverge");
  const std::string data = write_fixture(dir);
  const auto r = test::run_radmm({"train", "--quiet", "--data", data, "--method", "gd", "--init", "plain", "--depth",
                                  "30", "--learning-rate", "100", "--iterations", "20", "--out", dir + "/run"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("error[diverged]") != std::string::npos);
  CHECK(std::regex_search(r.err, std::regex("epoch [0-9]+, layer [0-9]+ \\(")));
  const std::string failure = test::slurp(dir + "/run/failure.json");
  CHECK(failure.find("\"exit_code\": 3") != std::string::npos);
  CHECK(failure.find("layer") != std::string::npos);
  // The same run with a small step and scaled init trains.
  const auto ok = test::run_radmm({"train", "--quiet", "--data", data, "--method", "gd", "--depth", "30",
                                   "--learning-rate", "0.001", "--iterations", "3", "--out", dir + "/ok"});
  CHECK(ok.exit_code == 0);
}

TEST_CASE("summary.json's first-step gradient norms match central finite differences of the objective") {
  const std::string dir = test::temp_dir("grad-norms");
  const std::string data = write_fixture(dir);
  for (const char* init : {"scaled", "plain"}) {
    const std::string run = dir + "/" + init;
    const std::vector<std::string> args = {"--data", data, "--method", "gd", "--depth", "4", "--width", "5",
                                           "--init", init, "--seed", "7", "--iterations", "2"};
    std::vector<std::string> train_args = {"train", "--quiet", "--out", run};
    train_args.insert(train_args.end(), args.begin(), args.end());
    REQUIRE(test::run_radmm(train_args).exit_code == 0);
    const std::string summary = test::slurp(run + "/summary.json");
    const std::vector<double> first = json_list(summary, "norm_first_step"), top = json_list(summary, "norm_max");

    // The same data set and initial weights in-process, the gradient by central differences.
    const Settings st = parse_train_command(args).settings;
    const Dataset ds = make_dataset(read_csv(st.data), st.target, st.test_fraction, st.seed, st.grouped_split(),
                                    st.validation_fraction);
    const Dims d = dims_of(st, ds);
    StateBuffer buf(d);
    const State s = buf.state();
    s.X() = ds.x_train;
    s.Y() = ds.y_scaler.apply(ds.y_train);
    initialise_state(s, st.activation_kind(), st.seed, st.scaled_init());
    Model m = model_of(s, st.activation_kind(), ds);
    const Mat y = ds.y_scaler.apply(ds.y_train);
    const double mu = st.lambda / static_cast<double>(ds.x_train.cols()), h = 1e-6;
    REQUIRE(first.size() == m.w.size());
    for (std::size_t l = 0; l < m.w.size(); ++l) {
      double sq = 0;
      for (Eigen::Index e = 0; e < m.w[l].size(); ++e) {
        const double keep = m.w[l].data()[e];
        m.w[l].data()[e] = keep + h;
        const double fp = objective(m, ds.x_train, y, mu);
        m.w[l].data()[e] = keep - h;
        const double fm = objective(m, ds.x_train, y, mu);
        m.w[l].data()[e] = keep;
        sq += std::pow((fp - fm) / (2 * h), 2);
      }
      CAPTURE(init);
      CAPTURE(l);
      CHECK(first[l] == doctest::Approx(std::sqrt(sq)).epsilon(1e-5));
      CHECK(top[l] >= first[l]);
    }
  }
}

TEST_CASE("radmm compare --inits with several depths: a row per init, the depth figure and tables, diverged shown") {
  const std::string dir = test::temp_dir("compare-depth");
  const auto r = test::run_radmm({"compare", "--depths", "3,4", "--seeds", "11", "--inits", "scaled,plain", "--methods",
                                  "admm,gd,ridge", "--epochs", "3", "--iterations", "4", "--width", "6", "--gd-lrs",
                                  "1e3", "--compare-out", dir},
                                 {}, 120);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string md = test::slurp(dir + "/compare.md"), csv = test::slurp(dir + "/compare.csv");
  CHECK(csv.find("init,lbeta_increases,relaxation_gap,diverged_at") != std::string::npos);
  for (const char* depth : {"3", "4"})
    for (const char* init : {"scaled", "plain"}) {
      CAPTURE(depth);
      CAPTURE(init);
      // ADMM rows carry the L_beta increases (0 with beta > 1) and a relaxation gap.
      CHECK(std::regex_search(csv, std::regex(std::string("wine-red,") + depth + ",11,admm,[^\n]*," + init +
                                              ",0,[0-9.e-]+,\n")));
      // gd's only learning rate (1e3) diverges: the row says so and names epoch and layer.
      CHECK(std::regex_search(csv, std::regex(std::string("wine-red,") + depth + ",11,gd,[^\n]*diverged[^\n]*," +
                                              init + ",,,lr 1000: [^\n]*epoch [0-9]+; layer [0-9]+")));
    }
  CHECK(md.find("| admm (plain) |") != std::string::npos);
  CHECK(md.find("| gd (scaled) | diverged | diverged |") != std::string::npos);
  CHECK(md.find("depth study") != std::string::npos);
  const std::string svg = test::slurp(dir + "/wine-red-depth.svg");
  CHECK(svg.find("test MSE, plain init") != std::string::npos);
  CHECK(svg.find("gd (diverged at 3,4)") != std::string::npos);
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(test::run_radmm({"compare", "--inits", "scaled,xavier", "--compare-out", dir + "/x"}).exit_code == 64);
}
