// The worker side of the protocol: wait for "go" (timed, checking the coordinator is alive
// and the command queue for stop), run the phase on the worker's region, post "done".
// Runs in a forked process (worker_process_main) or, for tests, in a thread.
#pragma once
#include <sys/types.h>

#include <boost/interprocess/ipc/message_queue.hpp>

#include <memory>
#include <string>

#include "worker/fault.hpp"
#include "worker/phases.hpp"
#include "worker/protocol.hpp"

namespace radmm {

struct WorkerEnv {
  int rank = 0;
  Region region;
  std::unique_ptr<LayerKernel> kernel;  ///< this worker's own (scratch is not shared)
  ControlBlock* control = nullptr;
  boost::interprocess::message_queue* reports = nullptr;   ///< worker -> coordinator (hello, error)
  boost::interprocess::message_queue* commands = nullptr;  ///< coordinator -> this worker (stop)
  std::string reports_name;  ///< the reports queue's name (for the lock-holding fault actions)
  pid_t parent = 0;  ///< coordinator pid to watch; 0 in thread mode
  FaultPlan fault;
};

/// Serves phases until told to stop. Returns 0 after a stop, 1 after reporting an error,
/// 2 when the coordinator died.
int worker_loop(WorkerEnv& env);

/// Entry point of a forked worker: sets up signals and parent-death, runs worker_loop, _exit()s.
[[noreturn]] void worker_process_main(WorkerEnv& env);

/// Sends `m` with a short deadline; returns false if the queue stayed full.
bool send_message(boost::interprocess::message_queue& q, const Message& m);

/// Waits on `sem` until `deadline_s` (monotonic seconds) in slices of at most `slice_s`;
/// between slices calls `check()` which may throw. Signals interrupting the wait are retried.
/// With `spin_s` > 0 it first polls the semaphore for that long (a phase handshake on cores
/// that are otherwise idle). Returns true when the semaphore was taken, false at the deadline.
template <class Check>
bool timed_wait_checked(boost::interprocess::interprocess_semaphore& sem, double deadline_s, double slice_s,
                        Check&& check, double spin_s = 0);

}  // namespace radmm

#include "worker/wait.ipp"
