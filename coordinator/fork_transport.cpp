// The multi-process transport: P forked workers over the shared mapping. Semaphores in the
// control block carry the per-phase fast path; run-scoped message queues (created 0600,
// unlinked once every worker has said hello) carry hello, error reports and stop. The
// thread transport runs the same worker loop in threads, for tests and ThreadSanitizer.
#include <signal.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/interprocess/permissions.hpp>
#include <random>
#include <thread>

#include "common/error.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/transport.hpp"
#include "coordinator/watchdog.hpp"
#include "worker/worker_loop.hpp"

namespace radmm {

namespace ipc = boost::interprocess;

/// Prefix of every named object: radmm_<uid>_<pid>_<random>; `radmm cleanup` parses it.
std::string ipc_name_prefix() {
  std::random_device rd;
  char buf[96];
  std::snprintf(buf, sizeof buf, "radmm_%u_%d_%08x%08x", static_cast<unsigned>(::getuid()), static_cast<int>(::getpid()),
                rd(), rd());
  return buf;
}

namespace {

/// Bytes a queue takes in /dev/shm, rounded up to pages (Boost's own size formula).
std::size_t queue_bytes(std::size_t messages) {
  const std::size_t b = ipc::ipcdetail::mq_hdr_t<ipc::offset_ptr<void>>::get_mem_size(sizeof(Message), messages);
  return (b + 4095) / 4096 * 4096;
}

/// Boost 1.74 creates a queue with a bare ftruncate: on a full /dev/shm the first write to it
/// raises SIGBUS. Refuse up front instead, naming the sizes (RELIABILITY.md T15, STYLE.md P10).
void check_shm_space(int workers) {
  // The queues plus 64 KiB of headroom for whatever else starts meanwhile.
  const std::size_t need = queue_bytes(4 * static_cast<std::size_t>(workers) + 16) +
                           static_cast<std::size_t>(workers) * queue_bytes(4) + 64 * 1024;
  struct statvfs fs {};
  if (::statvfs("/dev/shm", &fs) != 0) return;  // no /dev/shm: Boost's own error will say so
  const auto avail = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
  if (avail < need)
    throw Error(ExitCode::kOsErr,
                "/dev/shm has " + std::to_string(avail / 1024) + " KiB free but the message queues need " +
                    std::to_string(need / 1024) + " KiB (64 KiB of it headroom)",
                "/dev/shm", "free space there (radmm cleanup removes stale radmm objects) or enlarge it (docker --shm-size)");
}

std::string layers_text(const Region& r) {
  return (r.first == r.last ? "layer " + std::to_string(r.first)
                            : "layers " + std::to_string(r.first) + "-" + std::to_string(r.last)) +
         (r.shards > 1 ? ", shard " + std::to_string(r.shard + 1) + "/" + std::to_string(r.shards) : "");
}

/// Coordinator side shared by the fork and thread transports.
class WorkerGroup : public Transport {
 public:
  WorkerGroup(const LayerKernel& kernel, void* control, const std::vector<Region>& regions, double timeout,
              double spin_s)
      : kernel_(kernel), regions_(regions), timeout_(timeout), prefix_(ipc_name_prefix()) {
    const int p = static_cast<int>(regions.size());
    cb_ = create_control(control, kernel.dims(), p);
    cb_->spin_s = spin_s;
    share_stop_signal(&cb_->stop_signal);
    ipc::permissions perm;
    perm.set_permissions(0600);
    check_shm_space(p);
    try {
      reports_ = std::make_unique<ipc::message_queue>(ipc::create_only, (prefix_ + "_rep").c_str(), 4 * p + 16,
                                                      sizeof(Message), perm);
      names_.push_back(prefix_ + "_rep");
      for (int w = 0; w < p; ++w) {
        const std::string name = prefix_ + "_cmd" + std::to_string(w);
        commands_.push_back(std::make_unique<ipc::message_queue>(ipc::create_only, name.c_str(), 4, sizeof(Message), perm));
        names_.push_back(name);
      }
    } catch (const ipc::interprocess_exception& e) {
      unlink_names();
      throw Error(ExitCode::kOsErr, std::string("cannot create message queue: ") + e.what(), prefix_,
                  "check /dev/shm (space, permissions); run radmm cleanup");
    }
    stats_.resize(regions.size());
    for (const Region& r : regions) sharded_ = sharded_ || r.shards > 1;
    for (int w = 0; w < p; ++w) {
      stats_[w].rank = w;
      stats_[w].region = regions[w];
      stats_[w].region_bytes = kernel.layout().region_bytes(regions[w].first, regions[w].last);
    }
  }

  int workers() const override { return static_cast<int>(regions_.size()); }
  std::vector<WorkerStats> stats() const override { return stats_; }

  PhaseReport run_phase(Phase ph, std::int64_t iter) override {
    PhaseReport rep = run_round(ph, iter);
    // Sample shards: a second round adds the chunk partials (worker/chunked_phases.hpp).
    if (sharded_ && has_reduce_round(ph) && !rep.bad) {
      const PhaseReport second = run_round(reduce_round(ph), iter);
      rep.bad = second.bad;
      rep.slowest_compute_s += second.slowest_compute_s;
    }
    return rep;
  }

  /// One barrier round: every worker runs `ph` on its cell.
  PhaseReport run_round(Phase ph, std::int64_t iter) {
    cb_->phase = static_cast<std::int32_t>(ph);
    cb_->iteration = iter;
    WorkerSlot* slots = slots_of(cb_);
    for (int w = 0; w < workers(); ++w) slots[w].go.post();
    const double deadline = now_seconds() + timeout_;
    arm(deadline);
    for (int w = 0; w < workers(); ++w) {
      // Only waitpid between slices: a worker's error report comes with its exit, so the
      // queues are read only after that, never while a live peer might hold their lock.
      if (!timed_wait_checked(slots[w].done, deadline, 0.1, [&] { check_alive(ph, iter); }, cb_->spin_s)) {
        check_alive(ph, iter);  // a death explains the delay better than the deadline
        fail(ExitCode::kDeadline,
             describe(w) + " did not finish within --phase-timeout " + format_double(timeout_) + " s",
             std::string("phase ") + phase_name(ph) + " of iteration " + std::to_string(iter),
             "the worker hangs or is stopped; raise --phase-timeout if it is just slow");
      }
    }
    disarm();
    PhaseReport rep;
    for (int w = 0; w < workers(); ++w) {  // regions are in layer order: the first bad block wins
      if (slots[w].bad && !rep.bad) rep.bad = slots[w].bad;
      rep.slowest_compute_s = std::max(rep.slowest_compute_s, slots[w].last_compute_s);
    }
    return rep;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    Message m;
    m.type = MsgType::kStop;
    arm(now_seconds() + 6.0);
    for (int w = 0; w < workers(); ++w) {
      send_message(*commands_[w], m);
      slots_of(cb_)[w].go.post();
    }
    join_all(5.0);
    disarm();
    collect_stats();
    unlink_names();
  }

 protected:
  /// Throws Error(kWorkerFailed) if a worker died or reported an error.
  virtual void check_alive(Phase ph, std::int64_t iter) = 0;
  /// Waits up to `seconds` for all workers to end, then forces them.
  virtual void join_all(double seconds) = 0;
  /// The main thread enters / leaves an IPC wait that must end by `deadline` (the watchdog's cue).
  virtual void arm(double deadline) {}
  virtual void disarm() {}

  std::string describe(int w) const {
    return "worker " + std::to_string(w) + " (pid " + std::to_string(stats_[w].pid) + ", " +
           layers_text(regions_[w]) + ")";
  }

  /// Reads pending reports; an error report ends the run with the worker's own text.
  void drain_reports() {
    Message m;
    std::size_t got = 0;
    unsigned prio = 0;
    while (reports_->try_receive(&m, sizeof m, got, prio)) {
      if (m.type == MsgType::kHello) {
        ++hellos_;
      } else if (m.type == MsgType::kError) {
        m.text[sizeof m.text - 1] = '\0';
        const int w = m.worker >= 0 && m.worker < workers() ? m.worker : 0;
        fail(ExitCode::kWorkerFailed, describe(w) + " reported: " + m.text,
             std::string("phase ") + phase_name(static_cast<Phase>(m.phase)) + " of iteration " +
                 std::to_string(m.iteration),
             "all workers were stopped");
      }
    }
  }

  void wait_for_hellos() {
    const double deadline = now_seconds() + std::min(timeout_, 30.0);
    arm(deadline);
    while (hellos_ < workers()) {
      drain_reports();
      check_alive(Phase::kWeights, 0);
      if (now_seconds() > deadline)
        fail(ExitCode::kOsErr, "workers did not start", "start-up handshake", "check system load and limits");
      ::usleep(1000);
    }
    disarm();
    unlink_names();  // everyone has attached: nothing of this run stays in /dev/shm
  }

  [[noreturn]] void fail(ExitCode code, const std::string& what, const std::string& where, const std::string& hint) {
    if (!stopped_) {
      stopped_ = true;
      join_all(0.0);  // force
      unlink_names();
    }
    // A signal to the whole group (Ctrl-C, kill -- -pgid) is an interrupt, not a worker failure.
    if (const int sig = stop_signal()) throw stop_error(sig, where, "");
    throw Error(code, what, where, hint);
  }

  void unlink_names() {
    for (const auto& n : names_) ipc::message_queue::remove(n.c_str());
    names_.clear();
  }

  void collect_stats() {
    for (int w = 0; w < workers(); ++w) {
      const WorkerSlot& s = slots_of(cb_)[w];
      for (int k = 0; k < kPhaseCount; ++k) {
        stats_[w].compute_s[k] = s.compute_s[k];
        stats_[w].wait_s[k] = s.wait_s[k];
      }
      stats_[w].peak_rss = s.peak_rss;
    }
  }

  WorkerEnv env_for(int w) {
    WorkerEnv env;
    env.rank = w;
    env.region = regions_[w];
    env.kernel = kernel_.clone();
    env.control = cb_;
    env.reports = reports_.get();
    env.commands = commands_[w].get();
    env.reports_name = prefix_ + "_rep";
    return env;
  }

  const LayerKernel& kernel_;  // the trainer's; outlives the transport
  std::vector<Region> regions_;
  double timeout_;
  std::string prefix_;
  ControlBlock* cb_ = nullptr;
  std::unique_ptr<ipc::message_queue> reports_;
  std::vector<std::unique_ptr<ipc::message_queue>> commands_;
  std::vector<std::string> names_;
  std::vector<WorkerStats> stats_;
  int hellos_ = 0;
  bool stopped_ = false;
  bool sharded_ = false;  ///< some cell has S > 1 shards: W and U take a reduction round
};

class ForkTransport final : public WorkerGroup {
 public:
  ForkTransport(const LayerKernel& kernel, void* control, const std::vector<Region>& regions, double timeout,
                FaultPlan fault, double spin_s)
      : WorkerGroup(kernel, control, regions, timeout, spin_s) {
    const pid_t self = ::getpid();
    std::fflush(nullptr);  // no buffered output duplicated into the children
    for (int w = 0; w < workers(); ++w) {
      const pid_t pid = ::fork();
      if (pid < 0) {
        const int e = errno;
        fail(ExitCode::kOsErr, std::string("fork failed: ") + ::strerror(e), "starting worker " + std::to_string(w),
             "check the process limit (ulimit -u) and memory");
      }
      if (pid == 0) {
        WorkerEnv env = env_for(w);
        env.parent = self;
        env.fault = fault;
        worker_process_main(env);
      }
      stats_[w].pid = pid;
      alive_.push_back(true);
    }
    // Started after every fork (a forked child gets no copy of a running thread).
    std::vector<Watchdog::Worker> watched;
    for (int w = 0; w < workers(); ++w) watched.push_back({stats_[w].pid, describe(w)});
    watchdog_ = std::make_unique<Watchdog>(std::move(watched), names_, kWatchdogGraceS);
    wait_for_hellos();
  }
  ~ForkTransport() override {
    share_stop_signal(nullptr);
    if (!stopped_) {
      stopped_ = true;
      join_all(0.0);
      unlink_names();
    }
  }

 protected:
  void check_alive(Phase ph, std::int64_t iter) override {
    for (int w = 0; w < workers(); ++w) {
      if (!alive_[w]) continue;
      int status = 0;
      const pid_t r = ::waitpid(stats_[w].pid, &status, WNOHANG);
      if (r != stats_[w].pid) continue;
      alive_[w] = false;
      if (watchdog_) watchdog_->reaped(w);
      // A worker that exited finished its own error report, so the queue is not held; one
      // killed by a signal may have died inside a queue call, so its queues are not touched.
      if (WIFEXITED(status)) drain_reports();
      std::string how;
      if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* abbrev = ::sigabbrev_np(sig);
        how = "was killed by signal " + std::to_string(sig) + " (SIG" + (abbrev ? abbrev : "?") + ")";
      } else {
        how = "exited with status " + std::to_string(WEXITSTATUS(status));
      }
      fail(ExitCode::kWorkerFailed, describe(w) + " " + how,
           std::string("phase ") + phase_name(ph) + " of iteration " + std::to_string(iter),
           "all workers were stopped");
    }
  }

  void join_all(double seconds) override {
    const double deadline = now_seconds() + seconds;
    for (int w = 0; w < workers(); ++w) {
      if (w >= static_cast<int>(alive_.size()) || !alive_[w]) continue;
      int status = 0;
      while (::waitpid(stats_[w].pid, &status, WNOHANG) == 0) {
        if (now_seconds() >= deadline) {
          ::kill(stats_[w].pid, SIGKILL);  // also ends a SIGSTOPped worker
          ::waitpid(stats_[w].pid, &status, 0);
          break;
        }
        ::usleep(1000);
      }
      alive_[w] = false;
      if (watchdog_) watchdog_->reaped(w);
    }
  }
  void arm(double deadline) override {
    if (watchdog_) watchdog_->arm(deadline);
  }
  void disarm() override {
    if (watchdog_) watchdog_->disarm();
  }

 private:
  static constexpr double kWatchdogGraceS = 2.0;
  std::vector<bool> alive_;
  std::unique_ptr<Watchdog> watchdog_;
};

class ThreadTransport final : public WorkerGroup {
 public:
  ThreadTransport(const LayerKernel& kernel, void* control, const std::vector<Region>& regions, double timeout,
                  FaultPlan fault)
      : WorkerGroup(kernel, control, regions, timeout, /*spin_s=*/0), results_(regions.size()) {
    for (int w = 0; w < workers(); ++w) {
      stats_[w].pid = ::getpid();
      results_[w].store(-1);
      threads_.emplace_back([this, w, fault] {
        WorkerEnv env = env_for(w);
        env.fault = fault;
        results_[w].store(worker_loop(env));
      });
    }
    wait_for_hellos();
  }
  ~ThreadTransport() override {
    stop_quietly();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 protected:
  void check_alive(Phase ph, std::int64_t iter) override {
    for (int w = 0; w < workers(); ++w)
      if (results_[w].load() > 0 && (drain_reports(), true))
        fail(ExitCode::kWorkerFailed, describe(w) + " ended with status " + std::to_string(results_[w].load()),
             std::string("phase ") + phase_name(ph) + " of iteration " + std::to_string(iter), "");
  }
  void join_all(double) override {
    stop_quietly();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void stop_quietly() {
    Message m;
    m.type = MsgType::kStop;
    for (int w = 0; w < workers(); ++w)
      if (results_[w].load() < 0) {
        send_message(*commands_[w], m);
        slots_of(cb_)[w].go.post();
      }
  }
  std::vector<std::atomic<int>> results_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<Transport> make_fork_transport(const LayerKernel& kernel, void* control,
                                               const std::vector<Region>& regions, double phase_timeout_s,
                                               FaultPlan fault, double spin_s) {
  return std::make_unique<ForkTransport>(kernel, control, regions, phase_timeout_s, std::move(fault), spin_s);
}

std::unique_ptr<Transport> make_thread_transport(const LayerKernel& kernel, void* control,
                                                 const std::vector<Region>& regions, double phase_timeout_s,
                                                 FaultPlan fault) {
  return std::make_unique<ThreadTransport>(kernel, control, regions, phase_timeout_s, std::move(fault));
}

}  // namespace radmm
