// The coordinator's watchdog thread (see watchdog.hpp).
#include "coordinator/watchdog.hpp"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <cstdio>
#include <mutex>

#include "common/io.hpp"
#include "coordinator/signals.hpp"

namespace radmm {

namespace {
std::mutex g_reporter_mutex;
std::function<void(const Error&)> g_reporter;

std::string death_text(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return "exited with status " + std::to_string(info.si_status);
  const char* abbrev = ::sigabbrev_np(info.si_status);
  return "was killed by signal " + std::to_string(info.si_status) + " (SIG" + (abbrev ? abbrev : "?") + ")";
}
}  // namespace

void set_failure_reporter(std::function<void(const Error&)> report) {
  std::lock_guard<std::mutex> lock(g_reporter_mutex);
  g_reporter = std::move(report);
}

void report_failure(const Error& e) {
  std::lock_guard<std::mutex> lock(g_reporter_mutex);
  if (g_reporter) g_reporter(e);
}

Watchdog::Watchdog(std::vector<Worker> workers, std::vector<std::string> queue_names, double grace_s)
    : workers_(std::move(workers)), names_(std::move(queue_names)), grace_s_(grace_s),
      reaped_(new std::atomic<bool>[workers_.size()]) {
  for (std::size_t w = 0; w < workers_.size(); ++w) reaped_[w].store(false);
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  quit_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Watchdog::run() {
  std::vector<double> dead_since(workers_.size(), 0);
  while (!quit_.load()) {
    const double now = now_seconds();
    for (std::size_t w = 0; w < workers_.size(); ++w) {
      if (reaped_[w].load()) continue;
      siginfo_t info {};
      // WNOWAIT: look, do not reap; the main thread's waitpid still reports the death.
      if (::waitid(P_PID, static_cast<id_t>(workers_[w].pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
          info.si_pid != workers_[w].pid)
        continue;
      if (dead_since[w] == 0) dead_since[w] = now;
      if (now - dead_since[w] > grace_s_ && !reaped_[w].load())
        end_run(Error(ExitCode::kWorkerFailed, workers_[w].name + " " + death_text(info),
                      "the coordinator did not get past an IPC call within " + format_double(grace_s_) +
                          " s (watchdog)",
                      "all workers were stopped"));
    }
    const double deadline = deadline_.load();
    if (deadline > 0 && now > deadline + grace_s_) {
      if (const int sig = stop_signal()) end_run(stop_error(sig, "watchdog", ""));
      end_run(Error(ExitCode::kDeadline,
                    "the coordinator was still blocked in an IPC call " + format_double(grace_s_) +
                        " s after its deadline (a stopped or dead process holds a queue lock?)",
                    "watchdog", "all workers were stopped"));
    }
    ::usleep(50 * 1000);
  }
}

void Watchdog::end_run(const Error& e) {
  for (const Worker& w : workers_) ::kill(w.pid, SIGKILL);  // also ends a stopped worker
  for (const Worker& w : workers_) {
    int status = 0;
    ::waitpid(w.pid, &status, 0);
  }
  for (const auto& n : names_) boost::interprocess::message_queue::remove(n.c_str());
  const std::string line = e.line() + "\n";
  const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  {
    std::lock_guard<std::mutex> lock(g_reporter_mutex);
    if (g_reporter) g_reporter(e);
  }
  ::_exit(static_cast<int>(e.code()));  // the main thread may be blocked for good: no unwinding
}

}  // namespace radmm
