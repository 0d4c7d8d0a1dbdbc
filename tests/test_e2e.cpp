// End to end through the binary: radmm train on a tiny config writes metrics.csv (the
// documented columns, one row per iteration), summary.json and model.bin; predict reads it back.
#include <doctest/doctest.h>

#include <sstream>

#include "common/io.hpp"
#include "coordinator/run_output.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}
}  // namespace

TEST_CASE("radmm train on configs/smoke.ini writes the three documented files") {
  const std::string dir = test::temp_dir("e2e");
  const auto r = test::run_radmm({"train", "--config", std::string(RADMM_SOURCE_DIR) + "/configs/smoke.ini", "--out",
                                  dir + "/run"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("run folder " + dir + "/run") != std::string::npos);
  CHECK(r.out.find("test MSE") != std::string::npos);
  const auto metrics = lines_of(test::slurp(dir + "/run/metrics.csv"));
  REQUIRE(metrics.size() == 6);
  CHECK(metrics[0] + "\n" == RunOutput::metrics_header());
  CHECK(metrics[0].rfind("iter,elapsed_s,lagrangian,train_mse,test_mse,constraint_residual", 0) == 0);
  for (int k = 1; k <= 5; ++k) CHECK(metrics[k].rfind(std::to_string(k) + ",", 0) == 0);
  const std::string summary = test::slurp(dir + "/run/summary.json");
  for (const char* key : {"\"termination\": \"iterations\"", "\"iterations\": 5", "\"train_mse\"", "\"test_mse\"",
                          "\"lagrangian\"", "\"elapsed_s\"", "\"workers\": 2", "\"settings\"", "\"worker_stats\"",
                          "\"peak_rss_bytes\"", "\"first_layer\""})
    CHECK_MESSAGE(summary.find(key) != std::string::npos, key);
  const std::string model = test::slurp(dir + "/run/model.bin");
  CHECK(model.rfind("RADMMMDL", 0) == 0);
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("radmm predict reproduces the trained model's test error on the training file") {
  const std::string dir = test::temp_dir("predict");
  const auto r = test::run_radmm({"train", "--config", std::string(RADMM_SOURCE_DIR) + "/configs/smoke.ini", "--out",
                                  dir + "/run", "--test-fraction", "0"});
  REQUIRE(r.exit_code == 0);
  const std::string csv = std::string(RADMM_SOURCE_DIR) + "/data/winequality-red.csv";
  const auto p = test::run_radmm({"predict", "--model", dir + "/run/model.bin", "--data", csv, "--out", dir + "/p.csv"});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const auto rows = lines_of(test::slurp(dir + "/p.csv"));
  CHECK(rows.size() == 1600);
  CHECK(rows[0] == "prediction,target");
  // With no test rows, the whole file is the training set: predict's MSE is summary's train_mse.
  const std::string summary = test::slurp(dir + "/run/summary.json");
  const auto at = summary.find("\"train_mse\": ") + 13;
  const double train_mse = std::stod(summary.substr(at));
  const auto m = p.out.find("MSE ");
  REQUIRE(m != std::string::npos);
  CHECK(std::stod(p.out.substr(m + 4)) == doctest::Approx(train_mse).epsilon(1e-5));

  const auto bad = test::run_radmm({"predict", "--model", csv, "--data", csv});
  CHECK(bad.exit_code == 65);
}

TEST_CASE("an unwritable output folder is refused before training (exit 73)") {
  const std::string dir = test::temp_dir("out");
  test::write_text(dir + "/file", "x");
  const auto r = test::run_radmm({"train", "--out", dir + "/file/sub", "--iterations", "1"});
  CHECK(r.exit_code == 73);
  CHECK(r.err.rfind("radmm: error[cantcreate]", 0) == 0);
}
