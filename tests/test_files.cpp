// No file outside the run is ever touched, one run per folder, every output error reported:
// planted symbolic links (outputs, predict --out, the checkpoints folder), a reused and a shared
// --out, foreign and old checkpoints, closed and full standard output, a metrics write that
// fails part-way, an over-long --out, control bytes in an unknown INI key, cleanup and zombies.
#include <doctest/doctest.h>
#include <signal.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/binary.hpp"
#include "common/checkpoint.hpp"
#include "common/io.hpp"
#include "helpers.hpp"

using namespace radmm;

namespace {

std::vector<std::string> run_args(const std::string& out, int workers, int iterations) {
  return {"train", "--depth", "4", "--width", "8", "--iterations", std::to_string(iterations), "--workers",
          std::to_string(workers), "--out", out, "--quiet", "--eval-every", "0", "--early-stop", "false"};
}

/// A 0600 file that belongs to nobody's run; its bytes and mode must never change.
std::string plant_victim(const std::string& dir) {
  const std::string victim = dir + "/victim";
  test::write_text(victim, "do not touch\n");
  ::chmod(victim.c_str(), 0600);
  return victim;
}

void check_victim(const std::string& victim) {
  CHECK(test::slurp(victim) == "do not touch\n");
  struct stat st {};
  REQUIRE(::stat(victim.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

int entries(const std::string& dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.' || std::string(e->d_name).size() > 2;
    ::closedir(d);
  }
  return n;
}

bool is_link(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

/// Runs `script` under bash with $0 = the radmm binary; returns the exit status.
int bash(const std::string& script, const std::string& arg1 = "") {
  const std::string cmd = "bash -c '" + script + "' " + RADMM_BINARY + " '" + arg1 + "' 2>/dev/null";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("links planted at output names are replaced, never followed; predict --out too") {
  const std::string dir = test::temp_dir("plant");
  const std::string victim = plant_victim(dir), run = dir + "/a";
  auto args = run_args(run, 0, 4);
  args.insert(args.end(), {"--checkpoint-every", "2"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  for (const char* name : {"summary.json", "model.bin", "convergence.svg", "failure.json"}) {
    ::unlink((run + "/" + name).c_str());
    REQUIRE(::symlink(victim.c_str(), (run + "/" + name).c_str()) == 0);
  }
  ::unlink(list_checkpoints(run).front().c_str());  // resume from iteration 2
  auto resume = run_args(run, 0, 4);
  resume.insert(resume.end(), {"--resume", run, "--checkpoint-every", "2"});
  const auto r = test::run_radmm(resume);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  check_victim(victim);
  for (const char* name : {"summary.json", "model.bin", "convergence.svg"}) CHECK(!is_link(run + "/" + name));
  CHECK(test::slurp(run + "/summary.json").find("\"run_id\"") != std::string::npos);
  // Outputs follow the umask (here 022); checkpoints stay 0600.
  struct stat st {};
  REQUIRE(::stat((run + "/model.bin").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0666 & ~022));
  REQUIRE(::stat(list_checkpoints(run).front().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const std::string pred = dir + "/pred.csv";
  REQUIRE(::symlink(victim.c_str(), pred.c_str()) == 0);
  test::write_text(dir + "/x.csv", "a,b,c,d,e,f,g,h,i,j,k\n1,2,3,4,5,6,7,8,9,10,11\n");
  const auto p = test::run_radmm({"predict", "--model", run + "/model.bin", "--data", dir + "/x.csv", "--out", pred});
  CHECK(p.exit_code == 0);
  check_victim(victim);
  CHECK(!is_link(pred));
  CHECK(test::slurp(pred).rfind("prediction\n", 0) == 0);
}

TEST_CASE("a checkpoints folder that is a symbolic link is refused; its target is untouched") {
  const std::string dir = test::temp_dir("ckptlink");
  const std::string run = dir + "/a", elsewhere = dir + "/elsewhere";
  auto args = run_args(run, 0, 4);
  args.insert(args.end(), {"--checkpoint-every", "2"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  REQUIRE(::rename((run + "/checkpoints").c_str(), elsewhere.c_str()) == 0);
  test::write_text(elsewhere + "/.x.tmp.1", "someone's file\n");
  REQUIRE(::symlink(elsewhere.c_str(), (run + "/checkpoints").c_str()) == 0);
  const int before = entries(elsewhere);
  auto resume = run_args(run, 0, 8);
  resume.insert(resume.end(), {"--resume", run, "--checkpoint-every", "2"});
  const auto r = test::run_radmm(resume);
  CHECK(r.exit_code == 73);
  CHECK(r.err.find("not a folder (a symbolic link or a file)") != std::string::npos);
  CHECK(test::slurp(elsewhere + "/.x.tmp.1") == "someone's file\n");
  CHECK(entries(elsewhere) == before);  // nothing swept, pruned or added there
}

TEST_CASE("one run per folder: a reused --out is refused, a shared one is locked") {
  const std::string dir = test::temp_dir("reuse");
  const std::string run = dir + "/a";
  auto args = run_args(run, 0, 3);
  args.insert(args.end(), {"--checkpoint-every", "3"});
  REQUIRE(test::run_radmm(args).exit_code == 0);
  const std::string model = test::slurp(run + "/model.bin");
  const auto again = test::run_radmm(args);
  CHECK(again.exit_code == 73);
  CHECK(again.err.find("the folder already holds a run") != std::string::npos);
  CHECK(again.err.find("radmm train --resume " + run) != std::string::npos);
  CHECK(again.err.find("another --out") != std::string::npos);
  CHECK(test::slurp(run + "/model.bin") == model);
  // An empty existing folder is fine.
  ::mkdir((dir + "/empty").c_str(), 0755);
  CHECK(test::run_radmm(run_args(dir + "/empty", 0, 2)).exit_code == 0);

  // While a run holds the folder, neither a new run nor a resume may enter it.
  auto long_run = run_args(dir + "/b", 2, 100000);
  const test::Child c = test::spawn_radmm(long_run);
  for (int i = 0; i < 500 && test::slurp(dir + "/b/metrics.csv").find("\n2,") == std::string::npos; ++i)
    ::usleep(10000);
  const auto shared = test::run_radmm(run_args(dir + "/b", 0, 2));
  CHECK(shared.exit_code == 73);
  const auto resume = test::run_radmm({"train", "--resume", dir + "/b"});
  CHECK(resume.exit_code == 73);
  CHECK(resume.err.find("another radmm run is using this folder") != std::string::npos);
  ::kill(c.pid, SIGINT);
  const auto r = test::wait_radmm(c, 30, now_seconds());
  CHECK(r.exit_code == 130);
  // The lock dies with the run: resuming now works.
  const test::Child c2 = test::spawn_radmm({"train", "--resume", dir + "/b", "--quiet"});
  ::usleep(300000);
  ::kill(c2.pid, SIGINT);
  CHECK(test::wait_radmm(c2, 30, now_seconds()).exit_code == 130);
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("foreign and old checkpoints are never loaded, nor counted when pruning") {
  const std::string dir = test::temp_dir("foreign");
  auto a_args = run_args(dir + "/a", 0, 4);
  a_args.insert(a_args.end(), {"--checkpoint-every", "2"});
  REQUIRE(test::run_radmm(a_args).exit_code == 0);
  auto b_args = run_args(dir + "/b", 0, 9);  // other depth, later iterations
  b_args[2] = "5";
  b_args.insert(b_args.end(), {"--checkpoint-every", "9", "--seed", "7"});
  REQUIRE(test::run_radmm(b_args).exit_code == 0);
  const std::string b_ckpt = list_checkpoints(dir + "/b").front();
  const std::string copied = dir + "/a/checkpoints/" + b_ckpt.substr(b_ckpt.rfind('/') + 1);
  test::write_text(copied, test::slurp(b_ckpt));
  // A's own newest (iteration 4) is loaded, although B's sorts higher.
  const auto r = test::run_radmm({"train", "--resume", dir + "/a", "--iterations", "8", "--checkpoint-every", "2"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("-0000-") != std::string::npos);
  CHECK(r.out.find("iteration 4, phase 0") != std::string::npos);
  const auto files = list_checkpoints(dir + "/a");
  REQUIRE(files.size() == 3);  // B's copy is left alone, A keeps its newest two (8 and 6)
  CHECK(files[0] == copied);
  CHECK(files[1].find("ckpt-000000008-0000-") != std::string::npos);
  CHECK(files[2].find("ckpt-000000006-0000-") != std::string::npos);
  // Only a foreign checkpoint left: refused, naming it.
  ::unlink(files[1].c_str());
  ::unlink(files[2].c_str());
  const auto only = test::run_radmm({"train", "--resume", dir + "/a", "--iterations", "12"});
  CHECK(only.exit_code == 65);
  CHECK(only.err.find("belongs to another run") != std::string::npos);
  // Renamed to look like A's: its header still names B.
  const std::string a_id = test::slurp(dir + "/a/run-id").substr(0, 16);
  const std::string disguised = dir + "/a/checkpoints/ckpt-000000009-0000-" + a_id + ".bin";
  REQUIRE(::rename(copied.c_str(), disguised.c_str()) == 0);
  const auto renamed = test::run_radmm({"train", "--resume", dir + "/a", "--iterations", "12"});
  CHECK(renamed.exit_code == 65);
  CHECK(renamed.err.find("its header names run") != std::string::npos);
  // A version-3 checkpoint (before run ids) is refused with a clear reason.
  std::string old = test::slurp(disguised);
  const std::uint32_t old_version = 3;
  std::memcpy(&old[8], &old_version, 4);
  old.resize(old.size() - 8);
  append_checksum(old);
  try {
    deserialize_checkpoint(old, "old.bin");
    CHECK(false);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kDataErr);
    CHECK(std::string(e.what()).find("older radmm") != std::string::npos);
  }
  // A folder without a run id (an older radmm's) cannot be resumed.
  ::unlink((dir + "/a/run-id").c_str());
  CHECK(test::run_radmm({"train", "--resume", dir + "/a"}).exit_code == 66);
}

TEST_CASE("standard output: closed at start, or full, is reported; metrics.csv never receives it") {
  const std::string dir = test::temp_dir("stdout");
  // A closed stdout: descriptor 1 must not become metrics.csv.
  CHECK(bash("\"$0\" train --iterations 5 --depth 4 --width 8 --out \"$1\" >&-", dir + "/closed") == 0);
  const std::string metrics = test::slurp(dir + "/closed/metrics.csv");
  CHECK(metrics.find("radmm:") == std::string::npos);
  CHECK(metrics.find("iter ") == std::string::npos);
  CHECK(test::slurp(dir + "/closed/summary.json").find("\"iterations\": 5") != std::string::npos);
  // stdout is the product of predict, split and --print-config: a full device is exit 74.
  REQUIRE(test::run_radmm(run_args(dir + "/m", 0, 2)).exit_code == 0);
  test::write_text(dir + "/x.csv", "a,b,c,d,e,f,g,h,i,j,k\n1,2,3,4,5,6,7,8,9,10,11\n");
  CHECK(bash("\"$0\" predict --model \"$1/m/model.bin\" --data \"$1/x.csv\" > /dev/full", dir) == 74);
  CHECK(bash("\"$0\" split > /dev/full", dir) == 74);
  CHECK(bash("\"$0\" train --print-config > /dev/full", dir) == 74);
  CHECK(bash("\"$0\" split > /dev/null", dir) == 0);
}

TEST_CASE("a metrics write that fails part-way leaves complete rows and the real errno") {
  const std::string dir = test::temp_dir("metricsfail");
  const test::Child c = test::spawn_radmm(run_args(dir + "/a", 0, 200), {}, 3000);  // ulimit -f: 3000 bytes
  const auto r = test::wait_radmm(c, 30, c.started);
  CHECK(r.exit_code == 74);
  CHECK(r.err.find("write failed: File too large, " + dir + "/a/metrics.csv") != std::string::npos);
  const std::string m = test::slurp(dir + "/a/metrics.csv");
  REQUIRE(!m.empty());
  CHECK(m.back() == '\n');
  std::size_t rows = 0, pos = 0;
  while (pos < m.size()) {
    const std::size_t nl = m.find('\n', pos);
    const std::string line = m.substr(pos, nl - pos);
    CHECK(std::count(line.begin(), line.end(), ',') == 19);
    ++rows;
    pos = nl + 1;
  }
  CHECK(rows > 2);
  CHECK(test::run_radmm({"plot", "--out", dir + "/p.svg", dir + "/a"}).exit_code == 0);
}

TEST_CASE("a --out too long to hold a run is refused before training") {
  const std::string dir = test::temp_dir("long");
  const auto r = test::run_radmm(run_args(dir + "/" + std::string(300, 'a'), 0, 2));
  CHECK(r.exit_code == 73);
  CHECK(r.err.find("File name too long") != std::string::npos);
  CHECK(r.seconds < 5);
}

TEST_CASE("an unknown INI key is echoed with its control bytes escaped") {
  const std::string dir = test::temp_dir("ini");
  test::write_text(dir + "/c.ini", "depth = 4\nbad\x1b[31mkey = 1\n");
  const auto r = test::run_radmm({"train", "--config", dir + "/c.ini"});
  CHECK(r.exit_code == 64);
  CHECK(r.err.find("unknown setting 'bad\\x1b[31mkey'") != std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
}

TEST_CASE("radmm cleanup treats a zombie coordinator as gone") {
  namespace ipc = boost::interprocess;
  const pid_t zombie = ::fork();
  if (zombie == 0) ::_exit(0);
  ::usleep(100000);  // exited, not reaped: kill(pid, 0) still succeeds
  const std::string name = "radmm_" + std::to_string(::getuid()) + "_" + std::to_string(zombie) + "_test_rep";
  ipc::permissions perm;
  perm.set_permissions(0600);
  ipc::message_queue::remove(name.c_str());
  { ipc::message_queue q(ipc::create_only, name.c_str(), 1, 8, perm); }
  const auto r = test::run_radmm({"cleanup"});
  CHECK(r.exit_code == 0);
  CHECK(::access(("/dev/shm/" + name).c_str(), F_OK) != 0);
  ipc::message_queue::remove(name.c_str());
  int status = 0;
  ::waitpid(zombie, &status, 0);
}

TEST_CASE("a failed fsync or rename while checkpointing is exit 74; a failed file fsync publishes nothing") {
  if (std::system("strace -V >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: strace is not installed");
    return;
  }
  // fsync calls of a --workers 0 run: run-id (file, folder), metrics.csv (file, folder), then the
  // first checkpoint's file (5) and its folder (6).
  struct Case {
    const char* inject;
    const char* text;
    bool published;
  };
  const Case cases[] = {{"fsync:error=EIO:when=5", "fsync failed: Input/output error", false},
                        {"fsync:error=EIO:when=6", "the folder's fsync failed: Input/output error", true},
                        {"renameat:error=EIO:when=3", "rename failed: Input/output error", false}};
  for (const Case& c : cases) {
    CAPTURE(c.inject);
    const std::string dir = test::temp_dir("fsync");
    const std::string err = dir + "/err";
    // LeakSanitizer cannot run under ptrace: an ASan build would exit 1 at the end.
    const std::string cmd = std::string("ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null -e trace=fsync,renameat,rename -e inject=") + c.inject +
                            " " + RADMM_BINARY + " train --depth 4 --width 8 --iterations 6 --workers 0 " +
                            "--checkpoint-every 2 --quiet --out " + dir + "/a >/dev/null 2>" + err;
    const int status = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(status) == 74);
    CHECK(test::slurp(err).find(c.text) != std::string::npos);
    CHECK(list_checkpoints(dir + "/a").size() == (c.published ? 1u : 0u));
    CHECK(entries(dir + "/a/checkpoints") == (c.published ? 1 : 0));  // no temporary file left
    CHECK(test::slurp(dir + "/a/failure.json").find("\"exit_code\": 74") != std::string::npos);
  }
}
