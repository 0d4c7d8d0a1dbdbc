// End to end through the binary: radmm train on a tiny config writes metrics.csv (the
// documented columns, one row per iteration), summary.json and model.bin; predict reads it back.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
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
  CHECK(metrics[0].rfind("iter,elapsed_s,lagrangian,train_mse,val_mse,constraint_residual", 0) == 0);
  for (int k = 1; k <= 5; ++k) CHECK(metrics[k].rfind(std::to_string(k) + ",", 0) == 0);
  const std::string summary = test::slurp(dir + "/run/summary.json");
  for (const char* key : {"\"termination\": \"iterations\"", "\"iterations\": 5", "\"train_mse\"", "\"test_mse\"",
                          "\"lagrangian\"", "\"elapsed_s\"", "\"workers\": 2", "\"settings\"", "\"worker_stats\"",
                          "\"peak_rss_bytes\"", "\"first_layer\"", "\"split\": \"grouped\"",
                          "\"duplicate_rows\": 240", "\"val_mse\"", "\"selected_iteration\"",
                          "\"validation_rows\": 192"})
    CHECK_MESSAGE(summary.find(key) != std::string::npos, key);
  const std::string model = test::slurp(dir + "/run/model.bin");
  CHECK(model.rfind("RADMMMDL", 0) == 0);
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("radmm predict reproduces the trained model's test error on the training file") {
  const std::string dir = test::temp_dir("predict");
  const auto r = test::run_radmm({"train", "--config", std::string(RADMM_SOURCE_DIR) + "/configs/smoke.ini", "--out",
                                  dir + "/run", "--test-fraction", "0", "--validation-fraction", "0"});
  REQUIRE(r.exit_code == 0);
  const std::string csv = std::string(RADMM_SOURCE_DIR) + "/data/winequality-red.csv";
  const auto p = test::run_radmm({"predict", "--model", dir + "/run/model.bin", "--data", csv, "--out", dir + "/p.csv"});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const auto rows = lines_of(test::slurp(dir + "/p.csv"));
  CHECK(rows.size() == 1600);
  CHECK(rows[0] == "prediction,target");
  // With no test or validation rows, the whole file is the training set: predict's MSE is summary's train_mse.
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

TEST_CASE("radmm bench on a tiny config: documented columns, speedup exactly 1 at P = 1") {
  const std::string dir = test::temp_dir("bench");
  const auto r = test::run_radmm({"bench", "--depth", "4", "--width", "8", "--iterations", "3", "--repeats", "2",
                                  "--worker-list", "0,1,2", "--data", "builtin:wine-red", "--bench-out", dir});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto csv = lines_of(test::slurp(dir + "/bench.csv"));
  REQUIRE(csv.size() == 1 + 3 * 2);
  CHECK(csv[0] ==
        "workers,repeat,s_per_iter,phase_w_s,phase_v_even_s,phase_v_odd_s,phase_u_s,overhead_w_us,"
        "overhead_v_even_us,overhead_v_odd_us,overhead_u_us,max_worker_peak_rss_bytes,grid,transport");
  const std::string json = test::slurp(dir + "/bench.json");
  CHECK(json.find("\"workers\": 1, \"grid\": \"1x1\", \"s_per_iter_median\"") != std::string::npos);
  const auto at = json.find("\"workers\": 1, ");
  REQUIRE(at != std::string::npos);
  CHECK(json.substr(at).find("\"speedup_vs_1\": 1, \"efficiency\": 1,") != std::string::npos);
  for (const char* key : {"\"machine\"", "\"cpu\"", "\"compiler\"", "\"eigen\"", "\"boost\"", "\"reproduce\""})
    CHECK_MESSAGE(json.find(key) != std::string::npos, key);
  CHECK(r.out.find("reproduce: radmm bench") != std::string::npos);
  const auto bad = test::run_radmm({"bench", "--worker-list", "0,99", "--depth", "4"});  // no grid of 99 fits
  CHECK(bad.exit_code == 64);
  const auto badgrid = test::run_radmm({"bench", "--worker-list", "1,4x1", "--depth", "4"});  // R > depth - 1
  CHECK(badgrid.exit_code == 64);
  // Grid entries: the same P as a layer split and as a sample split, each reported.
  const std::string gdir = test::temp_dir("benchgrid");
  const auto g = test::run_radmm({"bench", "--depth", "3", "--width", "8", "--iterations", "2", "--repeats", "1",
                                  "--worker-list", "1,2x1,1x2", "--data", "builtin:wine-red", "--bench-out", gdir});
  INFO(g.err);
  REQUIRE(g.exit_code == 0);
  const std::string gjson = test::slurp(gdir + "/bench.json");
  CHECK(gjson.find("\"workers\": 2, \"grid\": \"2x1\"") != std::string::npos);
  CHECK(gjson.find("\"workers\": 2, \"grid\": \"1x2\"") != std::string::npos);
}

TEST_CASE("radmm bench --config: the file wins over bench's defaults, the command line over the file") {
  const std::string dir = test::temp_dir("benchcfg");
  test::write_text(dir + "/small.ini", "data = builtin:wine-red\ndepth = 4\nwidth = 8\n");
  const auto r = test::run_radmm({"bench", "--config", dir + "/small.ini", "--iterations=2", "--repeats", "1",
                                  "--worker-list", "0", "--bench-out", dir + "/b"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string json = test::slurp(dir + "/b/bench.json");
  for (const char* key : {"\"depth\": 4", "\"width\": 8", "\"iterations\": 2", "\"data\": \"builtin:wine-red\"",
                          "\"schedule\": \"phase\""})
    CHECK_MESSAGE(json.find(key) != std::string::npos, key);
  // A bench option without its value, or a bad list, is a usage error naming the option.
  const auto bad = test::run_radmm({"bench", "--config", dir + "/small.ini", "--repeats"});
  CHECK(bad.exit_code == 64);
  CHECK(bad.err.find("--repeats needs a value") != std::string::npos);
  CHECK(test::run_radmm({"bench", "--config", dir + "/small.ini", "--repeats=x"}).exit_code == 64);
}

TEST_CASE("a closed stdout (radmm train | head -1) does not kill the run") {
  const std::string dir = test::temp_dir("pipe");
  const std::string cmd = std::string("bash -c '\"$0\" train --iterations 30 --out \"$1\" | head -1 >/dev/null; "
                                      "exit ${PIPESTATUS[0]}' ") + RADMM_BINARY + " " + dir + "/run";
  const int status = std::system(cmd.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(test::slurp(dir + "/run/summary.json").find("\"iterations\": 30") != std::string::npos);
}

TEST_CASE("plots are well-formed SVG with one polyline per series") {
  const std::string dir = test::temp_dir("svg");
  REQUIRE(test::run_radmm({"train", "--config", std::string(RADMM_SOURCE_DIR) + "/configs/smoke.ini", "--out",
                           dir + "/run"}).exit_code == 0);
  const std::string svg = test::slurp(dir + "/run/convergence.svg");
  CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.size() > 1000);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  // 4 panels: L_beta (1 series) twice, MSE (train, test, relaxed) twice.
  std::size_t lines = 0;
  for (std::size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  CHECK(lines == 8);
  // Every opened group is closed, and no NaN or inf leaked into coordinates.
  std::size_t open = 0, close = 0;
  for (std::size_t p = svg.find("<g "); p != std::string::npos; p = svg.find("<g ", p + 1)) ++open;
  for (std::size_t p = svg.find("</g>"); p != std::string::npos; p = svg.find("</g>", p + 1)) ++close;
  CHECK(open == close);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

TEST_CASE("radmm plot draws one line per run and method in each panel, and names a bad folder") {
  const std::string dir = test::temp_dir("plot");
  const std::string smoke = std::string(RADMM_SOURCE_DIR) + "/configs/smoke.ini";
  REQUIRE(test::run_radmm({"train", "--config", smoke, "--out", dir + "/a", "--splitting", "ts2", "--inner-passes", "2"}).exit_code == 0);
  REQUIRE(test::run_radmm({"train", "--config", smoke, "--out", dir + "/b", "--method", "adam", "--workers", "0"}).exit_code == 0);
  const auto r = test::run_radmm({"plot", "--out", dir + "/cmp.svg", dir + "/a", dir + "/b"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string svg = test::slurp(dir + "/cmp.svg");
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  std::size_t lines = 0;
  for (std::size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1)) ++lines;
  CHECK(lines == 8);  // 4 panels x 2 runs
  CHECK(svg.find(">admm ts2 proximal reproject 3 inner 2</text>") != std::string::npos);
  CHECK(svg.find(">adam</text>") != std::string::npos);
  const auto missing = test::run_radmm({"plot", "--out", dir + "/x.svg", dir + "/none"});
  CHECK(missing.exit_code == 66);
  CHECK(missing.err.find(dir + "/none/metrics.csv") != std::string::npos);
  CHECK(test::run_radmm({"plot", dir + "/a"}).exit_code == 64);  // --out is required
  // A truncated row names file and line.
  test::write_text(dir + "/a/metrics.csv", test::slurp(dir + "/a/metrics.csv") + "7,0.1\n");
  const auto bad = test::run_radmm({"plot", "--out", dir + "/y.svg", dir + "/a"});
  CHECK(bad.exit_code == 65);
  CHECK(bad.err.find("metrics.csv:") != std::string::npos);
}

TEST_CASE("--precision float follows the double run closely, with half the state") {
  const std::string dir = test::temp_dir("precision");
  double mse[2] = {}, bytes[2] = {}, lagrangian[2] = {};
  int k = 0;
  for (const char* p : {"double", "float"}) {
    const auto r = test::run_radmm({"train", "--depth", "5", "--width", "16", "--iterations", "40", "--workers", "2",
                                    "--precision", p, "--out", dir + "/" + p, "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string s = test::slurp(dir + "/" + p + "/summary.json");
    auto num = [&](const std::string& key) { return std::atof(s.c_str() + s.find("\"" + key + "\": ") + key.size() + 4); };
    mse[k] = num("test_mse");
    bytes[k] = num("state_bytes");
    lagrangian[k] = num("lagrangian");
    CHECK(s.find("\"violations\": 0") != std::string::npos);  // monotone within float rounding
    CHECK(s.find("\"precision\": \"" + std::string(p) + "\"") != std::string::npos);
    ++k;
  }
  CHECK(mse[1] == doctest::Approx(mse[0]).epsilon(1e-3));
  CHECK(lagrangian[1] == doctest::Approx(lagrangian[0]).epsilon(1e-3));
  CHECK(bytes[1] < 0.55 * bytes[0]);
  CHECK(mse[1] != mse[0]);  // it really ran in float
}
