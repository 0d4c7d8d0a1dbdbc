// The MPI transport through mpirun (--oversubscribe on a 2-core machine): model.bin byte-identical
// to the fork and in-process trainers for K = 2, 3, 5 ranks and every variant; the deadline and a
// killed rank end the job within 5 s with failure.json on rank 0; SIGINT checkpoints on rank 0 and
// the checkpoint resumes under either transport to the uninterrupted model; nothing is left behind;
// radmm bench --transport mpi times both transports and removes its temporary folders.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>

#include "common/io.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

/// What every test's mpirun needs on CI: root allowed, ranks that yield while they wait (or
/// oversubscribed ranks busy-poll each other), no single-copy (CMA needs ptrace, often denied
/// in containers), more ranks than cores.
const std::vector<std::string> kMpiEnv = {
    "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_mpi_yield_when_idle=1",
    "OMPI_MCA_btl_vader_single_copy_mechanism=none", "OMPI_MCA_rmaps_base_oversubscribe=1"};

std::vector<std::string> env_with(std::vector<std::string> extra) {
  std::vector<std::string> env = kMpiEnv;
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

test::Child spawn_mpi(int ranks, std::vector<std::string> args, const std::vector<std::string>& extra_env = {}) {
  // --timeout: mpirun ends a job that hangs anyway (the test's own deadline kills it later).
  std::vector<std::string> argv = {"--timeout", "120", "-np", std::to_string(ranks), RADMM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::spawn_program(RADMM_MPIEXEC, argv, env_with(extra_env));
}

test::RunResult run_mpi(int ranks, const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {}) {
  const test::Child c = spawn_mpi(ranks, args, extra_env);
  return test::wait_radmm(c, 150, c.started);
}

std::vector<std::string> small(const std::string& out, std::vector<std::string> extra = {}, int iterations = 4) {
  std::vector<std::string> a = {"train", "--depth", "7", "--width", "12", "--iterations", std::to_string(iterations),
                                "--quiet", "--out", out};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

bool same_file(const std::string& a, const std::string& b) {
  const std::string x = test::slurp(a);
  return !x.empty() && x == test::slurp(b);
}

std::vector<std::string> vader_segments() {
  std::vector<std::string> out;
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind("vader_segment.", 0) == 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

void require_nothing_left() {
  CHECK(test::processes_with("--transport mpi").empty());
  CHECK(test::radmm_shm_entries().empty());
  CHECK(vader_segments().empty());  // Open MPI's own segments of an aborted job
}

/// The pid of MPI rank `rank` among mpirun's children (from OMPI_COMM_WORLD_RANK), or 0.
int rank_pid(int mpirun, int rank) {
  for (int pid : test::children_of(mpirun)) {
    std::string env = test::slurp("/proc/" + std::to_string(pid) + "/environ");
    for (char& ch : env)
      if (ch == '\0') ch = '\n';
    if (("\n" + env).find("\nOMPI_COMM_WORLD_RANK=" + std::to_string(rank) + "\n") != std::string::npos) return pid;
  }
  return 0;
}

}  // namespace

TEST_CASE("mpi: model.bin is byte-identical to the fork and in-process trainers for K = 1, 2, 3, 5") {
  const std::string dir = test::temp_dir("mpi-same");
  const std::vector<std::vector<std::string>> variants = {
      {}, {"--splitting", "ts2"}, {"--update", "linearized"}, {"--method", "bcd"}, {"--precision", "float"},
      {"--inner-passes", "2"}};
  int v = 0;
  for (const auto& variant : variants) {
    const std::string tag = dir + "/v" + std::to_string(v++);
    const auto serial = test::run_radmm(with(small(tag + "-w0", variant), {"--workers", "0"}));
    REQUIRE(serial.exit_code == 0);
    const auto fork2 = test::run_radmm(with(small(tag + "-w2", variant), {"--workers", "2"}));
    REQUIRE(fork2.exit_code == 0);
    CHECK(same_file(tag + "-w0/model.bin", tag + "-w2/model.bin"));
    const std::vector<int> ks = variant.empty() ? std::vector<int>{1, 2, 3, 5} : std::vector<int>{3};
    for (int k : ks) {
      CAPTURE(k);
      CAPTURE(v);
      const std::string out = tag + "-mpi" + std::to_string(k);
      const auto r = run_mpi(k, with(small(out, variant), {"--transport", "mpi"}));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(same_file(tag + "-w0/model.bin", out + "/model.bin"));
      CHECK(test::slurp(out + "/summary.json").find("\"transport\": \"mpi\"") != std::string::npos);
    }
  }
  require_nothing_left();
}

TEST_CASE("mpi: --workers other than K - 1 is a usage error naming the option") {
  const std::string dir = test::temp_dir("mpi-usage");
  const auto r = run_mpi(3, with(small(dir + "/r"), {"--transport", "mpi", "--workers", "1"}));
  CHECK(r.exit_code == 64);
  CHECK(r.err.find("--workers 1 does not match the 3 MPI ranks") != std::string::npos);
  const auto deep = run_mpi(4, {"train", "--depth", "3", "--width", "8", "--iterations", "2", "--quiet", "--transport",
                                "mpi", "--out", dir + "/d"});
  CHECK(deep.exit_code == 64);
  CHECK(deep.err.find("4 MPI ranks make 3 workers but depth 3 has only 2 hidden layers") != std::string::npos);
  const auto p = run_mpi(3, with(small(dir + "/p"), {"--transport", "mpi", "--print-config"}));
  CHECK(p.exit_code == 0);  // rank 0 releases the idle workers: no hang
  CHECK(p.out.find("transport = mpi") != std::string::npos);
  require_nothing_left();
}

TEST_CASE("mpi: a stopped rank hits --phase-timeout: exit 5, failure.json, nothing left, within 5 s") {
  const std::string dir = test::temp_dir("mpi-stop");
  const test::Child c = spawn_mpi(3, with(small(dir + "/r"), {"--transport", "mpi", "--phase-timeout", "1"}),
                                  {"RADMM_FAULT=worker=1,iter=2,phase=W,action=sigstop"});
  const auto r = test::wait_radmm(c, 150, c.started);
  INFO(r.err);
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("error[deadline]: worker rank 2") != std::string::npos);
  CHECK(r.seconds < 10);  // start-up, one iteration, the 1 s deadline and the end of the job
  CHECK(test::slurp(dir + "/r/failure.json").find("\"exit_code\": 5") != std::string::npos);
  require_nothing_left();
}

TEST_CASE("mpi: a rank killed by SIGKILL ends the job within 5 s, failure.json on rank 0") {
  const std::string dir = test::temp_dir("mpi-kill");
  const test::Child c = spawn_mpi(3, with(small(dir + "/r", {}, 6), {"--transport", "mpi"}),
                                  {"RADMM_FAULT=worker=0,iter=3,phase=V-odd,action=sigkill"});
  const auto r = test::wait_radmm(c, 150, c.started);
  INFO(r.err);
  CHECK(r.exit_code == 128 + SIGKILL);  // mpirun reports the killed rank's signal
  const std::string failure = test::slurp(dir + "/r/failure.json");
  CHECK(failure.find("\"exit_code\": 4") != std::string::npos);
  CHECK(failure.find("phase V-odd of iteration 3") != std::string::npos);
  // The kill fires after start-up; from the kill to the end of the job: well under 5 s.
  CHECK(r.seconds < 10);  // start-up, three short iterations, the kill and the end of the job
  require_nothing_left();
}

TEST_CASE("mpi: kill -9 of rank 0 ends the job within 5 s, nothing left") {
  const std::string dir = test::temp_dir("mpi-kill0");
  const test::Child c = spawn_mpi(3, {"train", "--data", "builtin:wine-white", "--depth", "7", "--width", "48",
                                      "--iterations", "300", "--quiet", "--transport", "mpi", "--out", dir + "/r"});
  while (now_seconds() - c.started < 100 && test::slurp(dir + "/r/metrics.csv").find('\n') == std::string::npos)
    ::usleep(20000);
  const int r0 = rank_pid(c.pid, 0);
  REQUIRE(r0 > 0);
  const double t_kill = now_seconds();
  ::kill(r0, SIGKILL);
  const auto r = test::wait_radmm(c, 150, t_kill);
  CHECK(r.exit_code == 128 + SIGKILL);
  CHECK(r.seconds < 5);
  require_nothing_left();
}

TEST_CASE("mpi: SIGINT of mpirun checkpoints on rank 0; the checkpoint resumes under fork and MPI exactly") {
  const std::string dir = test::temp_dir("mpi-int");
  const std::vector<std::string> big = {"train", "--data", "builtin:wine-white", "--depth", "7", "--width", "48",
                                        "--iterations", "30", "--quiet"};
  const auto whole = test::run_radmm(with(big, {"--workers", "2", "--out", dir + "/whole"}));
  REQUIRE(whole.exit_code == 0);
  const test::Child c = spawn_mpi(3, with(big, {"--transport", "mpi", "--out", dir + "/cut"}));
  // Interrupt after two iterations are on record, well before the end.
  while (now_seconds() - c.started < 100) {
    const std::string m = test::slurp(dir + "/cut/metrics.csv");
    if (std::count(m.begin(), m.end(), '\n') >= 3) break;
    ::usleep(20000);
  }
  const double t_int = now_seconds();
  ::kill(c.pid, SIGINT);
  const auto r = test::wait_radmm(c, 150, t_int);
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.seconds < 5);
  const std::string failure = test::slurp(dir + "/cut/failure.json");
  REQUIRE(failure.find("\"exit_code\": 143") != std::string::npos);  // mpirun's SIGTERM to rank 0
  require_nothing_left();
  // Resume the same checkpoint twice: in forked workers and in 2 MPI ranks.
  REQUIRE(std::system(("cp -r " + dir + "/cut " + dir + "/cut2").c_str()) == 0);
  const auto fork = test::run_radmm({"train", "--resume", dir + "/cut", "--workers", "2", "--quiet"});
  INFO(fork.err);
  REQUIRE(fork.exit_code == 0);
  CHECK(same_file(dir + "/whole/model.bin", dir + "/cut/model.bin"));
  const auto mpi = run_mpi(2, {"train", "--resume", dir + "/cut2", "--transport", "mpi", "--quiet"});
  INFO(mpi.err);
  REQUIRE(mpi.exit_code == 0);
  CHECK(same_file(dir + "/whole/model.bin", dir + "/cut2/model.bin"));
  require_nothing_left();
}

TEST_CASE("mpi: a fork checkpoint continues under MPI to the same model") {
  const std::string dir = test::temp_dir("mpi-resume");
  const auto whole = test::run_radmm(with(small(dir + "/whole", {}, 6), {"--workers", "2"}));
  REQUIRE(whole.exit_code == 0);
  const auto first = test::run_radmm(with(small(dir + "/part", {}, 3), {"--checkpoint-every", "3", "--workers", "2"}));
  REQUIRE(first.exit_code == 0);
  const auto rest = run_mpi(3, {"train", "--resume", dir + "/part", "--iterations", "6", "--transport", "mpi", "--quiet"});
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(same_file(dir + "/whole/model.bin", dir + "/part/model.bin"));
}

TEST_CASE("radmm cleanup removes Open MPI leftovers of a dead mpirun, and only those") {
  const std::string stale = "/dev/shm/vader_segment.radmm-test." + std::to_string(::getpid()) + ".0";
  test::write_text(stale, "x");
  // A session folder of a gone mpirun (pid beyond pid_max) and one of a live process (this test).
  const std::string tmp = test::temp_dir("mpi-cleanup");
  const std::string top = tmp + "/ompi.radmm-test.0";
  const std::string dead = top + "/pid.2147483647", live = top + "/pid." + std::to_string(::getpid());
  for (const std::string& d : {top, dead, dead + "/0", live}) ::mkdir(d.c_str(), 0700);
  test::write_text(dead + "/0/contact.txt", "x");
  const auto r = test::run_radmm({"cleanup"}, {"TMPDIR=" + tmp});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("removed " + stale) != std::string::npos);
  CHECK(r.out.find("removed " + dead) != std::string::npos);
  struct stat st {};
  CHECK(::stat(stale.c_str(), &st) != 0);
  CHECK(::stat(dead.c_str(), &st) != 0);
  CHECK(::stat(live.c_str(), &st) == 0);
}

namespace {

/// Entries radmm-bench-mpi.* in $TMPDIR (default /tmp): bench's temporary folders.
std::vector<std::string> bench_temp_dirs() {
  std::vector<std::string> out;
  const char* base = std::getenv("TMPDIR");
  if (DIR* d = ::opendir(base && *base ? base : "/tmp")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind("radmm-bench-mpi.", 0) == 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Folders that appeared since `before` (other runs on the machine may hold their own).
std::vector<std::string> new_bench_temp_dirs(const std::vector<std::string>& before) {
  std::vector<std::string> now = bench_temp_dirs(), added;
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(added));
  return added;
}

/// The median s/iter of bench.json's point (transport, P) with grid P x 1, or -1 if absent.
double bench_point(const std::string& json, const std::string& transport, int p) {
  const std::string key = "{\"transport\": \"" + transport + "\", \"workers\": " + std::to_string(p) + ", \"grid\": \"" +
                          std::to_string(p) + "x1\", \"s_per_iter_median\": ";
  const auto at = json.find(key);
  return at == std::string::npos ? -1 : std::strtod(json.c_str() + at + key.size(), nullptr);
}

std::vector<std::string> bench_env() { return env_with({std::string("RADMM_MPIRUN=") + RADMM_MPIEXEC}); }

}  // namespace

TEST_CASE("radmm bench --transport mpi: fork and mpi points at P = 1 and 2; refused entries; temp folders removed") {
  const std::string dir = test::temp_dir("mpi-bench");
  const auto before = bench_temp_dirs();
  const auto r = test::run_radmm({"bench", "--transport", "mpi", "--worker-list", "1,2", "--repeats", "1", "--iterations",
                                  "3", "--depth", "3", "--width", "8", "--data", "builtin:wine-red", "--bench-out", dir + "/b"},
                                 bench_env(), 120);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string json = test::slurp(dir + "/b/bench.json");
  for (const char* tr : {"fork", "mpi"})
    for (int p : {1, 2}) {
      CAPTURE(tr);
      CAPTURE(p);
      CHECK(bench_point(json, tr, p) > 0);
    }
  CHECK(json.find("\"transport\": \"mpi\", \"workers\": 1, \"grid\": \"1x1\", \"s_per_iter_median\"") != std::string::npos);
  const std::string csv = test::slurp(dir + "/b/bench.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 4);
  CHECK(csv.find(",2x1,mpi\n") != std::string::npos);
  CHECK(r.out.find("P = 2 (grid 2x1, mpi)") != std::string::npos);
  CHECK(new_bench_temp_dirs(before).empty());
  require_nothing_left();

  // Entries the MPI transport cannot run are usage errors naming --worker-list, before any run.
  for (const char* list : {"1x2", "0,1", "3"}) {
    CAPTURE(list);
    const auto bad = test::run_radmm({"bench", "--transport", "mpi", "--worker-list", list, "--depth", "3", "--width",
                                      "8", "--data", "builtin:wine-red", "--bench-out", dir + "/bad"},
                                     bench_env());
    CHECK(bad.exit_code == 64);
    CHECK(bad.err.find("--worker-list entry") != std::string::npos);
  }
  // A failing mpirun ends bench with its exit code and names the last line of its stderr.
  const auto fail = test::run_radmm({"bench", "--transport", "mpi", "--worker-list", "1", "--repeats", "1", "--iterations",
                                     "2", "--depth", "3", "--width", "8", "--data", "builtin:wine-red", "--bench-out",
                                     dir + "/f"},
                                    env_with({"RADMM_MPIRUN=/bin/false"}), 60);
  CHECK(fail.exit_code == 1);
  CHECK(fail.err.find("the MPI run failed with exit code 1 (its stderr's last line: (no output on stderr))") !=
        std::string::npos);
  CHECK(new_bench_temp_dirs(before).empty());
}

TEST_CASE("radmm bench --transport mpi: SIGINT while mpirun runs ends the job, exit 130, nothing left") {
  const std::string dir = test::temp_dir("mpi-bench-int");
  const auto before = bench_temp_dirs();
  const test::Child c =
      test::spawn_radmm({"bench", "--transport", "mpi", "--worker-list", "2", "--repeats", "1", "--iterations", "1500",
                         "--data", "builtin:wine-red", "--depth", "3", "--width", "8", "--bench-out", dir + "/b"},
                        bench_env());
  // Wait for the MPI job's first iteration on record (the fork run comes first).
  bool running = false;
  while (!running && now_seconds() - c.started < 100) {
    for (const std::string& t : new_bench_temp_dirs(before)) {
      const char* base = std::getenv("TMPDIR");
      const std::string m = test::slurp(std::string(base && *base ? base : "/tmp") + "/" + t + "/run/metrics.csv");
      running = running || std::count(m.begin(), m.end(), '\n') >= 2;
    }
    ::usleep(20000);
  }
  REQUIRE(running);
  const double t_int = now_seconds();
  ::kill(c.pid, SIGINT);
  const auto r = test::wait_radmm(c, 60, t_int);
  INFO(r.err);
  CHECK(r.exit_code == 130);
  CHECK(r.err.find("interrupted by SIGINT") != std::string::npos);
  CHECK(r.seconds < 5);
  CHECK(new_bench_temp_dirs(before).empty());
  require_nothing_left();
}
