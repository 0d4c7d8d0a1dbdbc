// The reliability contract through the binary: bit-exact resume after SIGINT / SIGTERM and
// from periodic checkpoints (also with another worker count), refusal of damaged or foreign
// checkpoints (exit 65), NaN injection (exit 3 naming layer, block, phase, iteration, and no
// non-finite checkpoint), mode 0600 of every IPC object and checkpoint, radmm cleanup.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <cmath>
#include <cstdlib>

#include "common/checkpoint.hpp"
#include "common/io.hpp"
#include "coordinator/cli.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

std::vector<std::string> run_args(const std::string& out, int workers, int iterations) {
  return {"train", "--depth", "6", "--width", "10", "--iterations", std::to_string(iterations), "--workers",
          std::to_string(workers), "--out", out, "--quiet", "--eval-every", "0"};
}

std::string metrics_rows_without_time(const std::string& path) {
  std::string out;
  for (const std::string& line : [&] {
         std::vector<std::string> v;
         std::string text = test::slurp(path), l;
         std::size_t pos = 0;
         while (pos < text.size()) {
           std::size_t nl = text.find('\n', pos);
           v.push_back(text.substr(pos, nl - pos));
           pos = nl + 1;
         }
         return v;
       }()) {
    // Everything but the times: drop elapsed_s, admm_s, the phase timings and overheads (cells 1, 7-15).
    std::vector<std::string> cells;
    std::size_t a = 0;
    while (true) {
      std::size_t b = line.find(',', a);
      cells.push_back(line.substr(a, b == std::string::npos ? std::string::npos : b - a));
      if (b == std::string::npos) break;
      a = b + 1;
    }
    for (std::size_t c = 0; c < cells.size(); ++c)
      if (c != 1 && (c < 7 || c > 15)) out += cells[c] + ",";
    out += "\n";
  }
  return out;
}

/// summary.json's "diagnostics" object.
std::string diagnostics_of(const std::string& summary) {
  const std::string text = test::slurp(summary);
  const auto a = text.find("\"diagnostics\""), b = text.find("\"state_bytes\"");
  return a == std::string::npos || b == std::string::npos ? "missing" : text.substr(a, b - a);
}

}  // namespace

TEST_CASE("resume after SIGINT / SIGTERM mid-run is bit-exact, for any worker count") {
  const std::string dir = test::temp_dir("resume");
  const auto ref = test::run_radmm(run_args(dir + "/ref", 2, 400));
  REQUIRE(ref.exit_code == 0);
  const std::string ref_model = test::slurp(dir + "/ref/model.bin");
  int resumed = 0;
  for (const auto& [sig, workers_after] : std::vector<std::pair<int, int>>{{SIGINT, 2}, {SIGTERM, 1}, {SIGINT, 0}}) {
    CAPTURE(sig);
    const std::string run = dir + "/run" + std::to_string(sig) + "-" + std::to_string(workers_after);
    const test::Child c = test::spawn_radmm(run_args(run, 2, 400));
    // Wait until it is iterating, then interrupt the whole group as Ctrl-C does.
    for (int i = 0; i < 500 && test::slurp(run + "/metrics.csv").find("\n5,") == std::string::npos; ++i)
      ::usleep(10000);
    const double t0 = now_seconds();
    ::kill(-c.pid, sig);
    const auto r = test::wait_radmm(c, 30, t0);
    INFO(r.err);
    if (r.exit_code == 0) continue;  // finished before the signal arrived: nothing to resume
    CHECK(r.exit_code == (sig == SIGINT ? 130 : 143));
    CHECK(r.seconds < 5);
    CHECK(r.err.find("checkpoint") != std::string::npos);
    CHECK(test::radmm_shm_entries().empty());
    REQUIRE(!list_checkpoints(run).empty());
    auto resume = run_args(run, workers_after, 400);
    resume.insert(resume.end(), {"--resume", run});
    const auto r2 = test::run_radmm(resume);
    INFO(r2.err);
    REQUIRE(r2.exit_code == 0);
    CHECK(r2.out.find("resuming from") != std::string::npos);
    CHECK(test::slurp(run + "/model.bin") == ref_model);
    CHECK(metrics_rows_without_time(run + "/metrics.csv") == metrics_rows_without_time(dir + "/ref/metrics.csv"));
    // The diagnostics (history, counters, fits) continue as if the run had not stopped.
    CHECK(diagnostics_of(run + "/summary.json") == diagnostics_of(dir + "/ref/summary.json"));
    ++resumed;
  }
  CHECK(resumed >= 2);  // the signal normally lands mid-run; a loaded machine may finish one first
}

TEST_CASE("with --inner-passes a stop inside a repeated phase resumes at that position, bit-exact") {
  // Iteration = W, then 3 x (V-even, V-odd, U). Worker 0 sleeps in the U phases of iteration 5,
  // the signal lands in the first of them, and the coordinator stops before position 4.
  const std::string dir = test::temp_dir("inner");
  auto args = [&](const std::string& out, int workers) {
    auto a = run_args(out, workers, 8);
    a.insert(a.end(), {"--inner-passes", "3"});
    return a;
  };
  const auto ref = test::run_radmm(args(dir + "/ref", 2));
  REQUIRE(ref.exit_code == 0);
  const std::string run = dir + "/run";
  const test::Child c = test::spawn_radmm(args(run, 2), {"RADMM_FAULT=worker=0,iter=5,phase=U,action=sleep:1500"});
  for (int i = 0; i < 1000 && test::slurp(run + "/metrics.csv").find("\n4,") == std::string::npos; ++i)
    ::usleep(10000);
  ::usleep(300000);
  const double t0 = now_seconds();
  ::kill(-c.pid, SIGINT);
  const auto r = test::wait_radmm(c, 30, t0);
  INFO(r.err);
  REQUIRE(r.exit_code == 130);
  const auto names = list_checkpoints(run);
  REQUIRE(names.size() == 1);
  CHECK(names[0].find("ckpt-000000004-0004-") != std::string::npos);
  auto resume = args(run, 0);
  resume.insert(resume.end(), {"--resume", run});
  const auto r2 = test::run_radmm(resume);
  INFO(r2.err);
  REQUIRE(r2.exit_code == 0);
  CHECK(test::slurp(run + "/model.bin") == test::slurp(dir + "/ref/model.bin"));
  // The position belongs to the run's --inner-passes: another value is refused as a settings change.
  auto other = run_args(run, 0, 8);
  other.insert(other.end(), {"--resume", run, "--inner-passes", "1"});
  const auto r3 = test::run_radmm(other);
  CHECK(r3.exit_code == 64);
  CHECK(r3.err.find("--inner-passes differs from the checkpoint's settings") != std::string::npos);
  // So is another split: the training rows would change under the checkpoint.
  auto split = args(run, 0);
  split.insert(split.end(), {"--resume", run, "--split", "random"});
  const auto r4 = test::run_radmm(split);
  CHECK(r4.exit_code == 64);
  CHECK(r4.err.find("--split differs from the checkpoint's settings") != std::string::npos);
}

TEST_CASE("periodic checkpoints keep the last two, are 0600, and resume to the same model") {
  const std::string dir = test::temp_dir("ckpt");
  auto args = run_args(dir + "/a", 0, 12);
  args.insert(args.end(), {"--checkpoint-every", "4", "--schedule", "sweep"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  const auto files = list_checkpoints(dir + "/a");
  REQUIRE(files.size() == 2);
  CHECK(files[0].find("ckpt-000000012-0000-") != std::string::npos);
  CHECK(files[1].find("ckpt-000000008-0000-") != std::string::npos);
  struct stat st {};
  REQUIRE(::stat(files[0].c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string final_model = test::slurp(dir + "/a/model.bin");
  // Drop the newest: resuming from iteration 8 must reproduce iterations 9-12 exactly.
  ::unlink(files[0].c_str());
  auto resume = run_args(dir + "/a", 0, 12);
  resume.insert(resume.end(), {"--resume", dir + "/a", "--schedule", "sweep"});
  const auto r = test::run_radmm(resume);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(test::slurp(dir + "/a/model.bin") == final_model);
  // Changing the maths on resume is refused.
  auto changed = resume;
  changed.insert(changed.end(), {"--rho", "3"});
  const auto bad = test::run_radmm(changed);
  CHECK(bad.exit_code == 64);
  CHECK(bad.err.find("--rho differs") != std::string::npos);
}

TEST_CASE("float checkpoints resume bit-exactly with another worker count, and keep their precision") {
  const std::string dir = test::temp_dir("ckptf");
  auto args = run_args(dir + "/a", 2, 10);
  args.insert(args.end(), {"--checkpoint-every", "4", "--precision", "float"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  const std::string final_model = test::slurp(dir + "/a/model.bin");
  ::unlink(list_checkpoints(dir + "/a")[0].c_str());  // resume from iteration 4
  auto resume = run_args(dir + "/a", 1, 10);
  resume.insert(resume.end(), {"--resume", dir + "/a"});
  const auto r = test::run_radmm(resume);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(test::slurp(dir + "/a/model.bin") == final_model);
  resume.insert(resume.end(), {"--precision", "double"});
  const auto bad = test::run_radmm(resume);
  CHECK(bad.exit_code == 64);
  CHECK(bad.err.find("--precision differs") != std::string::npos);
}

TEST_CASE("damaged, truncated and foreign checkpoints are refused with exit 65") {
  const std::string dir = test::temp_dir("badckpt");
  auto args = run_args(dir + "/a", 0, 3);
  args.insert(args.end(), {"--checkpoint-every", "3"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  const std::string path = list_checkpoints(dir + "/a").front();
  const std::string good = test::slurp(path);
  CHECK_NOTHROW(deserialize_checkpoint(good, path));
  std::vector<std::string> bad = {good.substr(0, good.size() / 2), good.substr(0, 10), ""};
  for (std::size_t pos : {3ul, 20ul, 60ul, good.size() / 2, good.size() - 2}) {
    std::string f = good;
    f[pos] = static_cast<char>(f[pos] ^ 1);
    bad.push_back(f);
  }
  auto resume = run_args(dir + "/a", 0, 6);
  resume.insert(resume.end(), {"--resume", dir + "/a"});
  for (const std::string& b : bad) {
    test::write_text(path, b);
    const auto r = test::run_radmm(resume);
    CHECK(r.exit_code == 65);
    CHECK(r.err.find("bad checkpoint") != std::string::npos);
  }
  // A valid checkpoint of other data is foreign.
  test::write_text(path, good);
  auto other = resume;
  other.insert(other.end(), {"--data", "builtin:wine-white"});
  const auto r = test::run_radmm(other);
  CHECK(r.exit_code == 64);  // --data differs from the checkpoint's settings
  const auto none = test::run_radmm({"train", "--resume", dir + "/nothing-here"});
  CHECK(none.exit_code == 66);
}

TEST_CASE("a NaN injected into a block ends the run with exit 3 naming it; no non-finite checkpoint") {
  for (int workers : {0, 2}) {
    CAPTURE(workers);
    const std::string dir = test::temp_dir("nan");
    auto args = run_args(dir + "/a", workers, 20);
    args.insert(args.end(), {"--checkpoint-every", "2"});
    const auto r = test::run_radmm(args, {"RADMM_FAULT=worker=0,iter=5,phase=W,action=nan"});
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("non-finite value in W_1 (layer 1), phase W of iteration 5") != std::string::npos);
    CHECK(r.err.find("ckpt-000000004-0000-") != std::string::npos);
    const auto files = list_checkpoints(dir + "/a");
    REQUIRE(!files.empty());
    const Checkpoint c = deserialize_checkpoint(test::slurp(files.front()), files.front());
    CHECK(c.iteration == 4);
    const double* p = reinterpret_cast<const double*>(c.state.data());
    bool finite = true;
    for (std::size_t i = 0; i < c.state.size() / sizeof(double); ++i) finite = finite && std::isfinite(p[i]);
    CHECK(finite);
    CHECK(test::slurp(dir + "/a/failure.json").find("\"exit_code\": 3") != std::string::npos);
  }
}

TEST_CASE("IPC objects are 0600 whatever the umask; cleanup removes only dead runs' objects") {
  namespace ipc = boost::interprocess;
  const mode_t old = ::umask(0);
  // A live run's queue is left alone, a dead coordinator's is removed.
  const std::string live = "radmm_" + std::to_string(::getuid()) + "_" + std::to_string(::getpid()) + "_test_rep";
  const std::string dead = "radmm_" + std::to_string(::getuid()) + "_999999999_test_rep";
  ipc::permissions perm;
  perm.set_permissions(0600);
  ipc::message_queue::remove(live.c_str());
  ipc::message_queue::remove(dead.c_str());
  { ipc::message_queue q(ipc::create_only, live.c_str(), 1, 8, perm); }
  { ipc::message_queue q(ipc::create_only, dead.c_str(), 1, 8, perm); }
  ::umask(old);
  struct stat st {};
  REQUIRE(::stat(("/dev/shm/" + live).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto r = test::run_radmm({"cleanup"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(dead) != std::string::npos);
  CHECK(::access(("/dev/shm/" + dead).c_str(), F_OK) != 0);
  CHECK(::access(("/dev/shm/" + live).c_str(), F_OK) == 0);
  ipc::message_queue::remove(live.c_str());
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("a file size limit while checkpointing: exit 74, no temp file, not killed by SIGXFSZ") {
  const std::string dir = test::temp_dir("efbig");
  auto args = run_args(dir + "/a", 0, 10);
  args.insert(args.end(), {"--checkpoint-every", "2"});
  const test::Child c = test::spawn_radmm(args, {}, 200 * 1024);  // the state is ~1 MB
  const auto r = test::wait_radmm(c, 30, c.started);
  CHECK(r.exit_code == 74);
  CHECK(r.err.rfind("radmm: error[io]: write failed: File too large", 0) == 0);
  CHECK(r.err.find("ckpt-000000002-0000-") != std::string::npos);
  CHECK(list_checkpoints(dir + "/a").empty());
  CHECK(test::slurp(dir + "/a/failure.json").find("\"exit_code\": 74") != std::string::npos);
  std::string left = test::slurp(dir + "/a/metrics.csv");
  CHECK(left.find("\n2,") != std::string::npos);  // complete rows up to the failure
}

TEST_CASE("SIGKILL during checkpoint writes never leaves a damaged newest checkpoint") {
  const std::string dir = test::temp_dir("killckpt");
  const std::string run = dir + "/a";
  auto args = run_args(run, 0, 100000);
  args[4] = "64";  // wider: each checkpoint takes a while to write
  args.insert(args.end(), {"--checkpoint-every", "1"});
  Rng rng(5);
  int loaded = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto a = args;
    if (attempt > 0 && !list_checkpoints(run).empty()) a.insert(a.end(), {"--resume", run});
    else std::system(("rm -rf '" + run + "'").c_str());  // killed before its first checkpoint: start afresh
    const auto before = list_checkpoints(run);
    const test::Child c = test::spawn_radmm(a);
    // Wait until this attempt has written a checkpoint (start-up time varies a lot, e.g. under
    // ASan), then kill it at a random moment of the following ones.
    for (int i = 0; i < 2000; ++i) {
      const auto now = list_checkpoints(run);
      if (!now.empty() && (before.empty() || now.front() != before.front())) break;
      ::usleep(10000);
    }
    ::usleep(static_cast<useconds_t>(rng.below(300000)));
    ::kill(c.pid, SIGKILL);
    test::wait_radmm(c, 10, c.started);
    const auto files = list_checkpoints(run);
    if (files.empty()) continue;
    CHECK_NOTHROW(deserialize_checkpoint(test::slurp(files.front()), files.front()));
    ++loaded;
  }
  CHECK(loaded >= 3);
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("a second SIGINT exits at once; SIGHUP stops like SIGTERM with 129") {
  for (const std::string mode : {"double-int", "hup"}) {
    CAPTURE(mode);
    const std::string dir = test::temp_dir("sig2");
    auto args = run_args(dir + "/a", 2, 100000);
    args[4] = "48";
    const test::Child c = test::spawn_radmm(args);
    for (int i = 0; i < 500 && test::slurp(dir + "/a/metrics.csv").find("\n3,") == std::string::npos; ++i)
      ::usleep(10000);
    const double t0 = now_seconds();
    if (mode == "hup") {
      ::kill(-c.pid, SIGHUP);
    } else {
      ::kill(c.pid, SIGINT);
      ::kill(c.pid, SIGINT);
    }
    const auto r = test::wait_radmm(c, 30, t0);
    CHECK(r.seconds < 2.0);
    if (mode == "hup") {
      CHECK(r.exit_code == 129);
      CHECK(r.err.find("interrupted by SIGHUP") != std::string::npos);
    } else {
      CHECK(r.exit_code == 130);
    }
    for (int i = 0; i < 100 && !test::processes_with(dir).empty(); ++i) ::usleep(10000);
    CHECK(test::processes_with(dir).empty());
    CHECK(test::radmm_shm_entries().empty());
  }
}
