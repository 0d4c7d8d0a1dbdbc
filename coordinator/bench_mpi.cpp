// The MPI side of radmm bench (see bench_mpi.hpp): launch mpirun as a child in its own process
// group, wait for it while watching bench's stop flag, read its run folder back.
#include "coordinator/bench_mpi.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "common/io.hpp"
#include "coordinator/mpi_cleanup.hpp"
#include "coordinator/plot_runs.hpp"
#include "coordinator/signals.hpp"

extern char** environ;

namespace radmm {

namespace {

/// A private folder under $TMPDIR (default /tmp), removed with its contents when it goes out of
/// scope: on success, on an error and on a stop signal (all unwind through here).
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/radmm-bench-mpi.XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw Error(ExitCode::kCantCreate, std::string("cannot create a temporary folder: ") + std::strerror(errno), tmpl,
                  "set TMPDIR to a writable folder");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string self_exe() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ExitCode::kOsErr, "cannot read /proc/self/exe: " + ec.message(), "radmm bench --transport mpi", "");
  return p.string();
}

/// The environment of the child: bench's own, plus what Open MPI needs here unless the user set
/// it already (tests/test_mpi.cpp and bench/mpi_two_hosts.sh set the same): root allowed when
/// bench runs as root, and waiting ranks that yield the core when the ranks outnumber the cores
/// (or they busy-poll each other to a 10 ms round trip).
std::vector<std::string> child_environment(bool oversubscribed) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  auto add = [&](const std::string& key, const std::string& value) {
    if (!std::getenv(key.c_str())) env.push_back(key + "=" + value);
  };
  if (::geteuid() == 0) {
    add("OMPI_ALLOW_RUN_AS_ROOT", "1");
    add("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
  }
  if (oversubscribed) add("OMPI_MCA_mpi_yield_when_idle", "1");
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int open_or_throw(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ExitCode::kCantCreate, std::string("cannot open: ") + std::strerror(errno), path, "");
  return fd;
}

/// Forks and execs `argv` in a new process group, stdin from /dev/null, stdout and stderr into
/// files; the child gets SIGTERM if bench dies (mpirun then ends its ranks).
pid_t launch(std::vector<std::string> argv, std::vector<std::string> env, const std::string& out_path,
             const std::string& err_path) {
  const int in = open_or_throw("/dev/null", O_RDONLY);
  const int out = open_or_throw(out_path, O_WRONLY | O_CREAT | O_TRUNC);
  const int err = open_or_throw(err_path, O_WRONLY | O_CREAT | O_TRUNC);
  std::vector<char*> args = c_strings(argv), envp = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // bench alone decides when the job ends (a terminal's ^C reaches bench)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    ::signal(SIGPIPE, SIG_DFL);  // bench ignores these; an exec keeps ignored signals ignored
    ::signal(SIGXFSZ, SIG_DFL);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
    ::execve(args[0], args.data(), envp.data());
    const std::string msg = std::string("cannot run ") + args[0] + ": " + std::strerror(errno) + "\n";
    ssize_t ignored = ::write(2, msg.data(), msg.size());
    (void)ignored;
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(in), ::close(out), ::close(err);
  if (pid < 0) throw Error(ExitCode::kOsErr, std::string("fork failed: ") + std::strerror(fork_errno), "radmm bench", "");
  return pid;
}

/// Ends a job bench no longer wants: SIGTERM to mpirun (which ends its ranks within about 2 s),
/// SIGKILL to its process group after 5 s, then Open MPI's leftovers of a killed mpirun.
void end_job(pid_t pid) {
  ::kill(pid, SIGTERM);
  const double deadline = now_seconds() + 5;
  int status = 0;
  while (now_seconds() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return;
    ::usleep(20000);
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  sweep_stale_vader_segments(false);
  sweep_stale_mpirun_sessions(false);
}

/// Waits for the job, ending it on a stop signal; returns its exit code (128 + signal if killed).
int wait_job(pid_t pid, const std::string& what) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      const int e = errno;
      end_job(pid);
      throw Error(ExitCode::kOsErr, std::string("waitpid failed: ") + std::strerror(e), what, "");
    }
    if (const int sig = stop_signal()) {
      end_job(pid);
      throw stop_error(sig, what, "");
    }
    ::usleep(20000);  // 20 ms: bench waits idle while the job runs
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last.empty() ? "(no output on stderr)" : last;
}

/// The number after `"key": ` at or after `pos` in summary.json; moves `pos` past it.
double number_after(const std::string& text, std::size_t& pos, const std::string& key, const std::string& path) {
  const std::string needle = "\"" + key + "\": ";
  const std::size_t at = text.find(needle, pos);
  if (at == std::string::npos)
    throw Error(ExitCode::kDataErr, "no \"" + key + "\" where expected", path, "the MPI run wrote an unexpected summary");
  const char* begin = text.c_str() + at + needle.size();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin)
    throw Error(ExitCode::kDataErr, "\"" + key + "\" is not a number", path, "the MPI run wrote an unexpected summary");
  pos = static_cast<std::size_t>(end - text.c_str());
  return v;
}

/// Fills `res` from the run folder: per-iteration times from metrics.csv, the grid and the
/// workers' totals from summary.json.
void read_run(const std::string& dir, TrainResult& res) {
  const MetricsTable m = read_metrics(dir + "/metrics.csv");
  const std::string path = dir + "/summary.json";
  const std::string text = read_file(path);
  for (int q = 0; q < kPhaseCount; ++q)
    if (m.admm_s.size() != m.iter.size() || m.phase_s[q].size() != m.iter.size() || m.overhead_s[q].size() != m.iter.size())
      throw Error(ExitCode::kDataErr, "no admm_s, phase or overhead columns", dir + "/metrics.csv",
                  "the MPI run was made by another radmm build");
  for (std::size_t k = 0; k < m.iter.size(); ++k) {
    IterationRecord r;
    r.iter = static_cast<int>(m.iter[k]);
    r.lagrangian = m.lagrangian[k];
    r.admm_s = m.admm_s[k];
    for (int q = 0; q < kPhaseCount; ++q) {
      r.phase_s[q] = m.phase_s[q][k];
      r.phase_overhead_s[q] = m.overhead_s[q][k];
    }
    res.history.push_back(r);
  }
  res.iterations = static_cast<int>(res.history.size());
  const std::string grid_key = "\"grid\": {\"text\": \"";
  if (const std::size_t g = text.find(grid_key); g != std::string::npos)
    res.grid = text.substr(g + grid_key.size(), text.find('"', g + grid_key.size()) - g - grid_key.size());
  std::size_t pos = text.find("\"worker_stats\": [");
  if (pos == std::string::npos) throw Error(ExitCode::kDataErr, "no \"worker_stats\"", path, "");
  while ((pos = text.find("{\"rank\": ", pos)) != std::string::npos) {
    WorkerStats w;
    w.rank = static_cast<int>(number_after(text, pos, "rank", path));
    w.pid = static_cast<pid_t>(number_after(text, pos, "pid", path));
    w.region.first = static_cast<int>(number_after(text, pos, "first_layer", path));
    w.region.last = static_cast<int>(number_after(text, pos, "last_layer", path));
    w.region.shard = static_cast<int>(number_after(text, pos, "shard", path));
    w.region.shards = static_cast<int>(number_after(text, pos, "shards", path));
    w.region_bytes = static_cast<std::size_t>(number_after(text, pos, "region_bytes", path));
    w.peak_rss = static_cast<std::int64_t>(number_after(text, pos, "peak_rss_bytes", path));
    for (int q = 0; q < kPhaseCount; ++q) w.compute_s[q] = number_after(text, pos, phase_name(static_cast<Phase>(q)), path);
    for (int q = 0; q < kPhaseCount; ++q) w.wait_s[q] = number_after(text, pos, phase_name(static_cast<Phase>(q)), path);
    res.worker_stats.push_back(w);
  }
  res.workers = static_cast<int>(res.worker_stats.size());
}

}  // namespace

std::string find_mpirun() {
  if (const char* env = std::getenv("RADMM_MPIRUN"); env && *env) {
    if (::access(env, X_OK) != 0)
      throw Error(ExitCode::kUsage, std::string("RADMM_MPIRUN is not an executable: ") + env, "--transport mpi",
                  "point it at Open MPI's mpirun or unset it");
    return env;
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/mpirun";
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  throw Error(ExitCode::kUsage, "no mpirun on PATH", "--transport mpi",
              "install openmpi-bin (./run.sh does) or set RADMM_MPIRUN to mpirun's path");
}

TrainResult train_under_mpirun(const Settings& s, const std::string& mpirun) {
  const int p = s.workers;
  const TempDir tmp;
  Settings t = s;
  t.out = tmp.path() + "/run";
  write_file_atomic(tmp.path() + "/settings.ini", settings_to_ini(t));
  const bool over = p + 1 > online_cores();
  std::vector<std::string> argv = {mpirun};
  if (over) argv.push_back("--oversubscribe");
  // Not pinned, like the forked workers; Open MPI would bind each rank to a core for -np <= 2.
  for (const std::string& a : {std::string("--bind-to"), std::string("none"), std::string("-np"), std::to_string(p + 1),
                               self_exe(), std::string("train"), std::string("--config"), tmp.path() + "/settings.ini",
                               std::string("--transport"), std::string("mpi"), std::string("--workers"),
                               std::to_string(p), std::string("--out"), t.out})
    argv.push_back(a);
  const std::string what = "mpirun -np " + std::to_string(p + 1) + " radmm train --transport mpi (bench, P = " +
                           std::to_string(p) + ")";
  const pid_t pid = launch(argv, child_environment(over), tmp.path() + "/stdout", tmp.path() + "/stderr");
  const int code = wait_job(pid, what);
  if (code != 0) {
    std::string err;
    try {
      err = read_file(tmp.path() + "/stderr");
    } catch (const Error&) {
    }
    throw Error(static_cast<ExitCode>(code), "the MPI run failed with exit code " + std::to_string(code) +
                                                 " (its stderr's last line: " + last_line(err) + ")",
                what, "radmm train with --transport mpi under mpirun and the same options shows the whole output");
  }
  TrainResult res;
  read_run(t.out, res);
  return res;
}

void check_same_iterates(const TrainResult& fork, const TrainResult& mpi, int workers) {
  const std::size_t n = std::min(fork.history.size(), mpi.history.size());
  if (fork.history.size() != mpi.history.size())
    throw Error(ExitCode::kSoftware,
                "the MPI run did " + std::to_string(mpi.history.size()) + " iterations, the fork run " +
                    std::to_string(fork.history.size()),
                "radmm bench --transport mpi, P = " + std::to_string(workers), "please report this");
  for (std::size_t k = 0; k < n; ++k)
    if (fork.history[k].lagrangian != mpi.history[k].lagrangian)
      throw Error(ExitCode::kSoftware,
                  "L_beta after iteration " + std::to_string(k + 1) + " differs between the transports (fork " +
                      format_double(fork.history[k].lagrangian) + ", mpi " + format_double(mpi.history[k].lagrangian) +
                      "): they did not train the same problem",
                  "radmm bench --transport mpi, P = " + std::to_string(workers), "please report this");
}

}  // namespace radmm
