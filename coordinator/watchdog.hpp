// The coordinator's watchdog: a thread independent of the queues and semaphores that ends the
// run when the main thread cannot, e.g. when it is blocked for good on a message queue's
// internal mutex that a dead worker held (Boost 1.74's is not robust). It polls every worker
// with waitid(WNOWAIT) (seeing a death without reaping it) and the main thread's IPC deadline;
// a death the main thread has not handled within `grace_s`, or an IPC wait still running
// `grace_s` past its deadline, makes it kill every worker, remove the queue names, report the
// failure (stderr line, failure.json) and _exit with 4 or 5.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"

namespace radmm {

class Watchdog {
 public:
  struct Worker {
    pid_t pid = 0;
    std::string name;  ///< "worker 1 (pid 123, layers 3-4)"
  };
  Watchdog(std::vector<Worker> workers, std::vector<std::string> queue_names, double grace_s);
  ~Watchdog();
  /// The main thread has reaped worker w (its death is being handled there).
  void reaped(int w) { reaped_[static_cast<std::size_t>(w)].store(true); }
  /// The main thread enters an IPC wait that must end by `deadline_s` (now_seconds() clock).
  void arm(double deadline_s) { deadline_.store(deadline_s); }
  void disarm() { deadline_.store(0); }

 private:
  void run();
  [[noreturn]] void end_run(const Error& e);
  std::vector<Worker> workers_;
  std::vector<std::string> names_;
  double grace_s_;
  std::unique_ptr<std::atomic<bool>[]> reaped_;
  std::atomic<double> deadline_{0};
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

/// What the watchdog calls before it exits (radmm train: write failure.json); empty = nothing.
void set_failure_reporter(std::function<void(const Error&)> report);
/// Calls the failure reporter (if any) with `e`, e.g. before a process may be killed from outside.
void report_failure(const Error& e);

}  // namespace radmm
