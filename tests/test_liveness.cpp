// No wait outlasts a dead or stopped peer, and shortages are reported up front: a worker killed
// or stopped while holding a message queue's internal (non-robust) mutex, in the start-up hello
// and mid-run; a tiny /dev/shm in a private mount namespace; an address-space limit (ulimit -v);
// SIGTERM to a single worker. Each checks the exit code, the time to exit, 0 objects left in
// /dev/shm and 0 processes left.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/io.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

std::vector<std::string> run_args(const std::string& out, int iterations) {
  return {"train", "--depth", "6", "--width", "10", "--iterations", std::to_string(iterations), "--workers", "2",
          "--out", out, "--quiet", "--phase-timeout", "1", "--early-stop", "false"};
}

void expect_clean(const std::string& dir) {
  for (int i = 0; i < 100 && !test::processes_with(dir).empty(); ++i) ::usleep(10000);
  CHECK(test::processes_with(dir).empty());
  CHECK(test::radmm_shm_entries().empty());
}

/// Runs `script` under bash ($0 = radmm, $1 = arg) with a deadline; exit status and seconds.
test::RunResult bash(const std::string& script, const std::string& arg, double timeout_s = 60) {
  const std::string err = arg + ".err";
  const double t0 = now_seconds();
  const std::string cmd = "timeout -s KILL " + std::to_string(static_cast<int>(timeout_s)) + " bash -c '" + script +
                          "' " + RADMM_BINARY + " '" + arg + "' 2>'" + err + "' >/dev/null";
  const int status = std::system(cmd.c_str());
  test::RunResult r;
  r.seconds = now_seconds() - t0;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = test::slurp(err);
  return r;
}

}  // namespace

TEST_CASE("a worker killed or stopped while holding a queue's lock ends the run within 5 s") {
  struct Case {
    const char* fault;
    int code;
    const char* text;
  };
  // iter=0: inside the start-up hello, where the coordinator reads the queue; the watchdog ends it.
  // iter=3: mid-run, where the coordinator reads no queue and sees the death or the deadline itself.
  const Case cases[] = {
      {"worker=1,iter=0,action=qkill", 4, "was killed by signal 9 (SIGKILL), the coordinator did not get past an IPC call"},
      {"worker=1,iter=0,action=qstop", 5, "still blocked in an IPC call"},
      {"worker=0,iter=3,phase=W,action=qkill", 4, "was killed by signal 9 (SIGKILL), phase W of iteration 3"},
      {"worker=0,iter=3,phase=U,action=qstop", 5, "did not finish within --phase-timeout 1 s"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fault);
    const std::string dir = test::temp_dir("qlock");
    const auto r = test::run_radmm(run_args(dir + "/a", 50), {std::string("RADMM_FAULT=") + c.fault}, 60);
    INFO(r.err);
    CHECK(r.exit_code == c.code);
    CHECK(r.err.find(c.text) != std::string::npos);
    CHECK(r.seconds < 5.0);
    CHECK(test::slurp(dir + "/a/failure.json").find("\"exit_code\": " + std::to_string(c.code)) != std::string::npos);
    expect_clean(dir);
  }
}

TEST_CASE("SIGTERM to one worker ends it at once: exit 4 with one error line") {
  const std::string dir = test::temp_dir("wterm");
  auto args = run_args(dir + "/a", 100000);
  args[4] = "48";
  const test::Child c = test::spawn_radmm(args);
  std::vector<int> kids;
  for (int i = 0; i < 500 && (kids = test::children_of(c.pid)).size() < 2; ++i) ::usleep(10000);
  REQUIRE(kids.size() == 2);
  ::usleep(200000);
  const double t0 = now_seconds();
  ::kill(kids[1], SIGTERM);
  const auto r = test::wait_radmm(c, 30, t0);
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("was killed by signal 15 (SIGTERM)") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.seconds < 2.0);
  expect_clean(dir);
}

TEST_CASE("a nearly full /dev/shm is refused before any queue is made (private mount namespace)") {
  const std::string dir = test::temp_dir("tinyshm");
  if (std::system("unshare -m true 2>/dev/null") != 0) {
    MESSAGE("skipped: unshare -m is not permitted here (needs root or user namespaces)");
    return;
  }
  // A private mount namespace: the 16 KiB tmpfs hides /dev/shm for this run only.
  test::write_text(dir + "/tiny.sh", "mount -t tmpfs -o size=16k tmpfs /dev/shm || exit 99\n"
                                     "exec \"$1\" train --depth 6 --width 10 --iterations 5 --workers 2 --out \"$2/a\"\n");
  const auto r = bash("unshare -m bash \"$1/tiny.sh\" \"$0\" \"$1\"", dir);
  if (r.exit_code == 99) {
    MESSAGE("skipped: mounting a tmpfs in a private mount namespace is not permitted here");
    return;
  }
  INFO(r.err);
  CHECK(r.exit_code == 71);
  CHECK(r.err.find("/dev/shm has 16 KiB free but the message queues need") != std::string::npos);
  CHECK(r.seconds < 5.0);
  CHECK(test::slurp(dir + "/a/failure.json").find("\"exit_code\": 71") != std::string::npos);
  expect_clean(dir);
}

TEST_CASE("ulimit -v below the run's memory plan: exit 71 with the numbers, never 70") {
#if defined(__SANITIZE_ADDRESS__)
  MESSAGE("skipped: AddressSanitizer reserves terabytes of shadow address space, so it cannot start under ulimit -v");
  return;
#endif
  const std::string dir = test::temp_dir("ulimitv");
  // About 600 MiB of state (depth 20, width 512, 3918 training rows) against a 400 MiB limit.
  const auto r = bash("ulimit -v 400000; exec \"$0\" train --data builtin:wine-white --depth 20 --width 512 "
                      "--iterations 2 --workers 0 --out \"$1/a\"",
                      dir);
  INFO(r.err);
  CHECK(r.exit_code == 71);
  CHECK(r.err.find("not enough address space: the run needs about") != std::string::npos);
  CHECK(r.err.find("diagnostics copy") != std::string::npos);
  CHECK(r.seconds < 10.0);
  expect_clean(dir);
}
