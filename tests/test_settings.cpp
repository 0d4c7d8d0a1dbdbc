// Settings: the defaults are valid, every rule rejects a bad and a NaN value naming the
// option, config files load with the command line winning, and bad files name the line.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <functional>

#include "common/error.hpp"
#include "common/partition.hpp"
#include "common/settings.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {
void expect_usage(const Settings& s, const std::string& option) {
  try {
    s.validate();
    FAIL("accepted a bad --" << option);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kUsage);
    CHECK(std::string(e.what()).find("--" + option) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("the defaults are valid and round-trip through --print-config") {
  Settings s;
  CHECK_NOTHROW(s.validate());
  const std::string dir = test::temp_dir("cfg");
  test::write_text(dir + "/all.ini", settings_to_ini(s));
  const ParsedCommand c = parse_train_command({"--config", dir + "/all.ini"});
  CHECK(settings_to_ini(c.settings) == settings_to_ini(s));
}

TEST_CASE("every rule rejects a bad value and a NaN") {
  const double nan = std::nan("");
  struct Rule {
    std::string option;
    std::function<void(Settings&)> bad, not_a_number;
  };
  const std::vector<Rule> rules = {
      {"test-fraction", [](Settings& s) { s.test_fraction = 1.0; }, [&](Settings& s) { s.test_fraction = nan; }},
      {"validation-fraction", [](Settings& s) { s.validation_fraction = -0.1; },
       [&](Settings& s) { s.validation_fraction = nan; }},
      {"gamma", [](Settings& s) { s.gamma = 0; }, [&](Settings& s) { s.gamma = nan; }},
      {"rho", [](Settings& s) { s.rho = -1; }, [&](Settings& s) { s.rho = nan; }},
      {"beta", [](Settings& s) { s.beta = 1.0; }, [&](Settings& s) { s.beta = nan; }},
      {"alpha", [](Settings& s) { s.alpha = -0.1; }, [&](Settings& s) { s.alpha = nan; }},
      {"lambda", [](Settings& s) { s.lambda = -1; }, [&](Settings& s) { s.lambda = nan; }},
      {"phase-timeout", [](Settings& s) { s.phase_timeout = 0; }, [&](Settings& s) { s.phase_timeout = nan; }},
      {"gamma", [](Settings& s) { s.gamma = INFINITY; }, [&](Settings& s) { s.gamma = -nan; }},
      {"learning-rate", [](Settings& s) { s.learning_rate = -1; }, [&](Settings& s) { s.learning_rate = nan; }},
  };
  for (const Rule& r : rules) {
    CAPTURE(r.option);
    Settings a, b;
    r.bad(a);
    r.not_a_number(b);
    expect_usage(a, r.option);
    expect_usage(b, r.option);
  }
  const std::vector<std::pair<std::string, std::function<void(Settings&)>>> ints = {
      {"depth", [](Settings& s) { s.depth = 1; }},
      {"width", [](Settings& s) { s.width = 0; }},
      {"iterations", [](Settings& s) { s.iterations = -1; }},
      {"eval-every", [](Settings& s) { s.eval_every = -2; }},
      {"patience", [](Settings& s) { s.patience = -1; }},
      {"workers", [](Settings& s) { s.workers = -2; }},
      {"workers", [](Settings& s) { s.splitting = "ts2"; s.workers = 5; }},  // > depth - 1 = 4 hidden layers, no shards
      {"grid", [](Settings& s) { s.workers = 4; s.grid = "2x3"; }},          // R x S != P
      {"grid", [](Settings& s) { s.workers = 5; s.grid = "5x1"; }},          // R > depth - 1 = 4
      {"grid", [](Settings& s) { s.workers = 4; s.grid = "2x2x1"; }},
      {"grid", [](Settings& s) { s.workers = 4; s.grid = "0x4"; }},
      {"grid", [](Settings& s) { s.workers = 0; s.grid = "1x1"; }},          // in-process has no grid
      {"grid", [](Settings& s) { s.workers = 2; s.grid = "1x2"; s.update = "linearized"; }},  // shards need exact ts3
      {"chunk-columns", [](Settings& s) { s.chunk_columns = 0; }},
      {"spin-us", [](Settings& s) { s.spin_us = -1; }},
      {"spin-us", [](Settings& s) { s.spin_us = 1000001; }},
      {"workers", [](Settings& s) { s.schedule = "sweep"; s.workers = 1; }},
      {"activation", [](Settings& s) { s.activation = "tanh"; }},
      {"schedule", [](Settings& s) { s.schedule = "random"; }},
      {"data", [](Settings& s) { s.data = ""; }},
      {"method", [](Settings& s) { s.method = "sgd"; }},
      {"batch-size", [](Settings& s) { s.batch_size = -1; }},
      {"checkpoint-every", [](Settings& s) { s.checkpoint_every = -1; }},
      {"checkpoint-every", [](Settings& s) { s.method = "adam"; s.checkpoint_every = 5; }},
      {"precision", [](Settings& s) { s.precision = "half"; }},
      {"precision", [](Settings& s) { s.method = "gd"; s.precision = "float"; }},
      {"split", [](Settings& s) { s.split = "stratified"; }},
      {"splitting", [](Settings& s) { s.splitting = "ts4"; }},
      {"update", [](Settings& s) { s.update = "newton"; }},
      {"reproject-every", [](Settings& s) { s.reproject_every = -1; }},
      {"inner-passes", [](Settings& s) { s.inner_passes = 0; }},
      {"inner-passes", [](Settings& s) { s.inner_passes = kMaxInnerPasses + 1; }},
  };
  for (const auto& [option, set] : ints) {
    CAPTURE(option);
    Settings s;
    set(s);
    expect_usage(s, option);
  }
}

TEST_CASE("command line beats the config file; bad files name file:line") {
  const std::string dir = test::temp_dir("cfg");
  test::write_text(dir + "/a.ini", "# comment\nrho = 3\ngamma = 2\nschedule = sweep\n");
  const ParsedCommand c = parse_train_command({"--config", dir + "/a.ini", "--rho", "5"});
  CHECK(c.settings.rho == 5);
  CHECK(c.settings.gamma == 2);
  CHECK(c.settings.schedule == "sweep");

  test::write_text(dir + "/unknown.ini", "rho = 1\nrh0 = 2\n");
  test::write_text(dir + "/dup.ini", "rho = 1\nrho = 2\n");
  test::write_text(dir + "/type.ini", "depth = ten\n");
  test::write_text(dir + "/noeq.ini", "depth 10\n");
  for (const auto& [file, where] : std::vector<std::pair<std::string, std::string>>{
           {"unknown.ini", "unknown.ini:2:1"}, {"dup.ini", "dup.ini:2:1"}, {"type.ini", "type.ini:1:1"},
           {"noeq.ini", "noeq.ini:1:1"}}) {
    CAPTURE(file);
    try {
      parse_train_command({"--config", dir + "/" + file});
      FAIL("accepted " << file);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kUsage);
      CHECK(std::string(e.what()).find(where) != std::string::npos);
    }
  }
  CHECK_THROWS_AS(parse_train_command({"--nope"}), Error);
  try {
    parse_train_command({"--config", dir + "/missing.ini"});
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kNoInput);
  }
}

TEST_CASE("radmm train: --help lists every option with its default, bad options exit 64") {
  const auto help = test::run_radmm({"train", "--help"});
  CHECK(help.exit_code == 0);
  for (const char* opt : {"--data", "--target", "--test-fraction", "--seed", "--split", "--depth", "--width", "--activation",
                          "--iterations", "--gamma", "--rho", "--beta", "--alpha", "--lambda", "--schedule",
                          "--refit-head", "--workers", "--phase-timeout", "--out", "--eval-every", "--quiet",
                          "--config", "--print-config", "--method",
                          "--learning-rate", "--batch-size", "--checkpoint-every", "--resume"})
    CHECK_MESSAGE(help.out.find(opt) != std::string::npos, opt);
  const auto bad = test::run_radmm({"train", "--beta", "0.5"});
  CHECK(bad.exit_code == 64);
  CHECK(bad.err.rfind("radmm: error[usage]: --beta must be > 1", 0) == 0);
  const auto nan = test::run_radmm({"train", "--rho", "nan"});
  CHECK(nan.exit_code == 64);
  const auto typo = test::run_radmm({"train", "--dpeth", "3"});
  CHECK(typo.exit_code == 64);
  const auto many = test::run_radmm({"train", "--depth", "3", "--workers", "3", "--splitting", "ts2"});
  CHECK(many.exit_code == 64);
  CHECK(many.err.find("hidden layers") != std::string::npos);
  // --grid: exit 64 with the rule, before any run folder exists.
  const std::string gdir = test::temp_dir("grid64");
  const std::vector<std::pair<std::vector<std::string>, std::string>> grids = {
      {{"--workers", "4", "--grid", "3x1"}, "R x S must equal --workers 4"},
      {{"--workers", "3", "--grid", "3x1"}, "R must not exceed the number of hidden layers"},
      {{"--workers", "2", "--grid", "2by1"}, "must be auto or RxS"},
      {{"--workers", "2", "--grid", "1x2", "--splitting", "ts2"}, "exact ts3 updates"},
      {{"--workers", "2", "--grid", "1x2", "--chunk-columns", "100000"}, "sample shards but the"},
      {{"--workers", "7", "--chunk-columns", "100000"}, "has no grid R x S = P"}};
  for (const auto& [extra, text] : grids) {
    std::vector<std::string> args = {"train", "--depth", "3", "--width", "4", "--iterations", "1", "--out", gdir + "/r"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = test::run_radmm(args);
    CAPTURE(text);
    CHECK(r.exit_code == 64);
    CHECK(r.err.find(text) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    CHECK(::access((gdir + "/r").c_str(), F_OK) != 0);
  }
  const auto cfg = test::run_radmm({"train", "--print-config", "--rho", "7"});
  CHECK(cfg.exit_code == 0);
  CHECK(cfg.out.find("rho = 7\n") != std::string::npos);
}

TEST_CASE("every file in configs/ loads and validates") {
  int count = 0;
  for (const char* name : {"wine-red.ini", "wine-white.ini", "smoke.ini", "red-d20-w32.ini", "red-d50-w32.ini",
                           "white-d5-w32.ini", "white-d10-w64.ini", "white-d20-w128.ini", "white-d20-w256.ini",
                           "white-d50-w64.ini"}) {
    CAPTURE(name);
    const ParsedCommand c = parse_train_command({"--config", std::string(RADMM_SOURCE_DIR) + "/configs/" + name});
    CHECK_NOTHROW(c.settings.validate());
    ++count;
  }
  // The default run's file agrees with the built-in defaults it documents.
  const Settings red = parse_train_command({"--config", std::string(RADMM_SOURCE_DIR) + "/configs/wine-red.ini"}).settings;
  CHECK(settings_to_ini(red) == settings_to_ini(Settings{}));
  CHECK(count == 10);
}

TEST_CASE("flop count of a tiny network against a hand count") {
  // depth 3, d0 = 2, d = 3, c = 1, n = 4 (see common/partition.cpp for the terms):
  // layer 1 (k = 2): W 2*3*4 + 2*2*3*4 + 3^3/3 + 2*3^2*3 = 135; U 2*3*2*4 = 48;
  //   V (A = W_2, 3 x 3): 3*4*3 + 2*3*3*4 + 27/3 + 2*9*4 = 189                      -> 372
  // layer 2 (k = 3, last): W 3*4*4 + 2*3*3*4 + 4^3/3 + 2*16*3 = 237 1/3; U 72;
  //   V (A = W_3, 1 x 3): 3*4*1 + 2*3*1*4*2 + 9 + 72 = 141; W_3: 48 + 24 + 64/3 + 32 -> 575 2/3
  // Z_N = 2*1*3*4 = 24.                                                    total 971 2/3
  const Dims d = test::make_dims(3, 2, 3, 1, 4);
  CHECK(layer_flops(d, 1) == doctest::Approx(372));
  CHECK(layer_flops(d, 2) == doctest::Approx(575.0 + 2.0 / 3));
  CHECK(iteration_flops(d) == doctest::Approx(971.0 + 2.0 / 3));
}

TEST_CASE("every option of radmm train --help has a row in the README settings table") {
  const std::string help = parse_train_command({"--help"}).help_text;
  const std::string readme = test::slurp(std::string(RADMM_SOURCE_DIR) + "/README.md");
  std::size_t pos = 0, found = 0;
  while ((pos = help.find("--", pos)) != std::string::npos) {
    std::size_t end = pos + 2;
    while (end < help.size() && (std::isalnum(static_cast<unsigned char>(help[end])) || help[end] == '-')) ++end;
    const std::string name = help.substr(pos, end - pos);
    pos = end;
    if (name.size() <= 2) continue;
    CAPTURE(name);
    CHECK(readme.find("| `" + name) != std::string::npos);
    ++found;
  }
  CHECK(found > 25);
}
