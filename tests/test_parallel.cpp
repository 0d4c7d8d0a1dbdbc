// The multi-process trainer through the binary: P-independence (bit-identical model.bin and
// metrics for P = 0..4), and faults: a worker killed, stopped, throwing or exiting mid-phase,
// an external kill -9 of a worker or of the coordinator, SIGINT. Each asserts the exit code,
// the time to exit, no /dev/shm entry of radmm left and no orphan process.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>

#include "common/io.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

/// metrics.csv without the timing columns (elapsed_s, admm_s, phase_*_s, overhead_*_s): the iterates'
/// figures and the diagnostics (step norms, decreases, relaxation gap, restarts).
std::string metrics_without_timings(const std::string& path) {
  std::istringstream in(test::slurp(path));
  std::ostringstream out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream cells(line);
    std::string cell;
    int col = 0;
    while (std::getline(cells, cell, ',')) {
      if (col != 1 && (col < 7 || col >= 16)) out << cell << ',';
      ++col;
    }
    out << '\n';
  }
  return out.str();
}

void expect_clean(const std::string& unique) {
  CHECK(test::radmm_shm_entries().empty());
  // Orphans would still show the run's unique folder in their command line.
  for (int i = 0; i < 100 && !test::processes_with(unique).empty(); ++i) ::usleep(10000);
  CHECK(test::processes_with(unique).empty());
}

std::vector<std::string> small_run(const std::string& out, int workers, int iterations = 6) {
  return {"train", "--depth", "6", "--width", "12", "--iterations", std::to_string(iterations), "--workers",
          std::to_string(workers), "--schedule", "phase", "--out", out, "--quiet"};
}

}  // namespace

TEST_CASE("P-independence: workers 0..4 give bit-identical weights and metrics, for every variant") {
  const std::vector<std::vector<std::string>> variants = {
      {},
      {"--splitting", "ts2"},
      {"--update", "linearized"},
      {"--splitting", "ts2", "--update", "linearized", "--method", "bcd"},
      {"--reproject-every", "2"},
      {"--inner-passes", "3", "--reproject-every", "2"},
      {"--precision", "float"},
      {"--precision", "float", "--splitting", "ts2", "--update", "linearized"}};
  for (std::size_t v = 0; v < variants.size(); ++v) {
  CAPTURE(v);
  const std::string dir = test::temp_dir("pind" + std::to_string(v));
  std::string model0, metrics0;
  for (int p = 0; p <= 4; ++p) {
    if (v > 0 && (p == 1 || p == 3)) continue;  // 0, 2, 4 workers for the variants
    CAPTURE(p);
    auto args = small_run(dir + "/p" + std::to_string(p), p);
    args.insert(args.end(), {"--refit-head", "false"});
    args.insert(args.end(), variants[v].begin(), variants[v].end());
    const auto r = test::run_radmm(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::string model = test::slurp(dir + "/p" + std::to_string(p) + "/model.bin");
    const std::string metrics = metrics_without_timings(dir + "/p" + std::to_string(p) + "/metrics.csv");
    REQUIRE(model.size() > 100);
    if (p == 0) {
      model0 = model;
      metrics0 = metrics;
    } else {
      CHECK(model == model0);
      CHECK(metrics == metrics0);
    }
  }
  CHECK(metrics0.find(",,") == std::string::npos);  // every diagnostic measured
  expect_clean(dir);
  }
}

TEST_CASE("grid: model.bin byte-identical for workers 0, 1, 2, 3, 4, 8 and grids 1x4, 4x1, 2x2, for every variant") {
  // Depth 5 (4 hidden layers), chunks of 64 samples (the 1087 training rows make 17 chunks).
  struct Variant {
    std::vector<std::string> args;
    std::vector<std::pair<int, std::string>> runs;  // (workers, grid; "" = auto)
  };
  const std::vector<std::pair<int, std::string>> all = {{0, ""}, {1, ""}, {2, ""}, {3, ""}, {4, ""}, {8, ""},
                                                        {4, "1x4"}, {4, "4x1"}, {4, "2x2"}};
  const std::vector<std::pair<int, std::string>> some = {{0, ""}, {3, "1x3"}, {4, "2x2"}};
  const std::vector<Variant> variants = {
      {{}, all},
      {{"--precision", "float"}, some},
      {{"--method", "bcd", "--inner-passes", "2"}, some},
      {{"--loss", "softmax", "--beta", "1.05"}, some},
      // ts2 / linearized cannot shard the samples: layer regions only.
      {{"--splitting", "ts2"}, {{0, ""}, {2, "2x1"}, {4, "4x1"}}},
      {{"--update", "linearized"}, {{0, ""}, {3, "3x1"}}},
      // A polling handshake (applied where P + 1 <= cores, e.g. P = 1 on 2 cores) changes no byte.
      {{"--spin-us", "2000"}, {{0, ""}, {1, ""}, {2, "1x2"}}}};
  for (std::size_t v = 0; v < variants.size(); ++v) {
    CAPTURE(v);
    const std::string dir = test::temp_dir("grid" + std::to_string(v));
    std::string model0, metrics0;
    for (const auto& [p, grid] : variants[v].runs) {
      CAPTURE(p);
      CAPTURE(grid);
      const std::string out = dir + "/p" + std::to_string(p) + grid;
      std::vector<std::string> args = {"train", "--depth", "5", "--width", "10", "--iterations", "5", "--workers",
                                       std::to_string(p), "--chunk-columns", "64", "--refit-head", "false",
                                       "--out", out, "--quiet"};
      if (!grid.empty()) args.insert(args.end(), {"--grid", grid});
      args.insert(args.end(), variants[v].args.begin(), variants[v].args.end());
      const auto r = test::run_radmm(args);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const std::string model = test::slurp(out + "/model.bin");
      const std::string metrics = metrics_without_timings(out + "/metrics.csv");
      if (!grid.empty()) CHECK(test::slurp(out + "/summary.json").find("\"text\": \"" + grid + "\"") != std::string::npos);
      if (model0.empty()) {
        model0 = model;
        metrics0 = metrics;
      } else {
        CHECK(model == model0);
        CHECK(metrics == metrics0);
      }
    }
    expect_clean(dir);
  }
}

TEST_CASE("grid: a checkpoint of a 2x2 run resumes with --workers 3 and with --workers 0 to the same bytes") {
  const std::string dir = test::temp_dir("gridresume");
  auto args = [&](const std::string& out, int iterations, int workers) {
    return std::vector<std::string>{"train", "--depth", "5", "--width", "10", "--iterations", std::to_string(iterations),
                                    "--workers", std::to_string(workers), "--chunk-columns", "64", "--out", out,
                                    "--quiet", "--checkpoint-every", "3"};
  };
  const auto whole = test::run_radmm(args(dir + "/whole", 6, 1));
  REQUIRE(whole.exit_code == 0);
  auto first = args(dir + "/a", 3, 4);
  first.insert(first.end(), {"--grid", "2x2"});
  REQUIRE(test::run_radmm(first).exit_code == 0);
  const auto again = test::run_radmm({"train", "--resume", dir + "/a", "--iterations", "6", "--workers", "3", "--quiet"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(test::slurp(dir + "/a/model.bin") == test::slurp(dir + "/whole/model.bin"));
  expect_clean(dir);
}

TEST_CASE("the summary names each worker's layers, timings and memory") {
  const std::string dir = test::temp_dir("acct");
  const auto r = test::run_radmm(small_run(dir + "/run", 3));
  REQUIRE(r.exit_code == 0);
  const std::string s = test::slurp(dir + "/run/summary.json");
  CHECK(s.find("\"rank\": 2") != std::string::npos);
  CHECK(s.find("\"first_layer\": 1") != std::string::npos);
  CHECK(s.find("\"last_layer\": 5, \"owns_head\": true") != std::string::npos);
  CHECK(s.find("\"wait_s\"") != std::string::npos);
  CHECK(s.find("\"peak_rss_bytes\": 0") == std::string::npos);
}

TEST_CASE("injected worker faults stop the whole job fast with one clear line") {
  struct Case {
    std::string fault;
    int code;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"worker=1,iter=3,phase=V-odd,action=sigkill", 4, "worker 1 (pid "},
      {"worker=0,iter=2,phase=W,action=sigkill", 4, "killed by signal 9 (SIGKILL), phase W of iteration 2"},
      {"worker=1,iter=2,phase=U,action=throw", 4, "reported: injected fault"},
      {"worker=0,iter=4,phase=V-even,action=exit:7", 4, "exited with status 7"},
      {"worker=1,iter=2,phase=W,action=sigstop", 5, "did not finish within --phase-timeout 1 s"},
      {"worker=1,iter=3,phase=U,action=segv", 4, "killed by signal 11 (SIGSEGV)"},
      {"worker=0,iter=3,phase=V-odd,action=abort", 4, "killed by signal 6 (SIGABRT)"},
      {"worker=*,iter=2,phase=W,action=sigkill", 4, "was killed by signal 9 (SIGKILL)"},  // all at once
  };
  for (const std::string grid : {"2x1", "1x2"})  // layer regions, and sample shards (two rounds in W and U)
  for (const Case& c : cases) {
    CAPTURE(c.fault);
    CAPTURE(grid);
    const std::string dir = test::temp_dir("fault");
    auto args = small_run(dir + "/run", 2, 50);
    args.insert(args.end(), {"--phase-timeout", "1", "--grid", grid});
    // Under AddressSanitizer the injected SIGSEGV must reach the kernel, not ASan's report.
    const auto r = test::run_radmm(args, {"RADMM_FAULT=" + c.fault, "ASAN_OPTIONS=handle_segv=0:detect_leaks=0"}, 30);
    CHECK(r.exit_code == c.code);
    CHECK(r.err.find(c.text) != std::string::npos);
    CHECK(r.err.rfind("radmm: error[", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.seconds < 6.0);  // fault -> exit well inside 5 s after detection (1 s deadline)
    CHECK(test::slurp(dir + "/run/failure.json").find("\"exit_code\": " + std::to_string(c.code)) !=
          std::string::npos);
    expect_clean(dir);
  }
}

TEST_CASE("external kill -9 of a worker, of the coordinator, and Ctrl-C") {
  for (const std::string target : {"worker", "coordinator", "sigint", "sigterm"}) {
    CAPTURE(target);
    const std::string dir = test::temp_dir("kill");
    auto args = small_run(dir + "/run", 2, 100000);
    const test::Child c = test::spawn_radmm(args);
    std::vector<int> kids;
    for (int i = 0; i < 500 && kids.size() < 2; ++i) {
      ::usleep(10000);
      kids = test::children_of(c.pid);
    }
    REQUIRE(kids.size() == 2);
    ::usleep(300000);  // let it iterate
    const double t0 = now_seconds();
    if (target == "worker") ::kill(kids[1], SIGKILL);
    if (target == "coordinator") ::kill(c.pid, SIGKILL);
    if (target == "sigint") ::kill(-c.pid, SIGINT);  // what Ctrl-C does: the whole group
    if (target == "sigterm") ::kill(c.pid, SIGTERM);
    const auto r = test::wait_radmm(c, 30, t0);
    CHECK(r.seconds < 5.0);
    if (target == "worker") {
      CHECK(r.exit_code == 4);
      CHECK(r.err.find("worker 1 (pid " + std::to_string(kids[1])) != std::string::npos);
    } else if (target == "coordinator") {
      CHECK(r.exit_code == 128 + SIGKILL);
    } else {
      CHECK(r.exit_code == (target == "sigint" ? 130 : 143));
      CHECK(r.err.find("interrupted by") != std::string::npos);
    }
    expect_clean(dir);
  }
}

TEST_CASE("concurrent runs do not collide and match a solo run bit for bit") {
  const std::string dir = test::temp_dir("concurrent");
  auto args = small_run(dir + "/solo", 2, 8);
  REQUIRE(test::run_radmm(args).exit_code == 0);
  const std::string solo = test::slurp(dir + "/solo/model.bin");
  std::vector<test::Child> kids;
  for (int k = 0; k < 4; ++k) kids.push_back(test::spawn_radmm(small_run(dir + "/c" + std::to_string(k), 2, 8)));
  for (int k = 0; k < 4; ++k) {
    const auto r = test::wait_radmm(kids[k], 60, kids[k].started);
    CHECK(r.exit_code == 0);
    CHECK(test::slurp(dir + "/c" + std::to_string(k) + "/model.bin") == solo);
  }
  expect_clean(dir);
}
