// The narrow interface between the training loop and whoever runs the layer phases:
// in-process (no fork), forked workers over shared memory + semaphores + message queues,
// or threads (tests). An MPI transport would implement the same four calls.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/admm.hpp"
#include "common/partition.hpp"
#include "worker/fault.hpp"
#include "worker/phases.hpp"

namespace radmm {

struct WorkerStats {
  int rank = 0;
  pid_t pid = 0;
  Region region;
  double compute_s[kPhaseCount] = {};
  double wait_s[kPhaseCount] = {};
  std::int64_t peak_rss = 0;
  std::size_t region_bytes = 0;  ///< bytes of the W, U, V blocks the worker owns
};

/// What one phase reports back to the coordinator.
struct PhaseReport {
  NonFinite bad;                 ///< first non-finite block in layer order (layer 0 = none)
  double slowest_compute_s = 0;  ///< the slowest worker's compute time in this phase
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Runs phase `ph` of iteration `iter` on every region and returns when all are done.
  /// Throws Error (worker failed, deadline, interrupted) and then leaves no worker running.
  virtual PhaseReport run_phase(Phase ph, std::int64_t iter) = 0;
  /// Orderly shutdown of the workers; idempotent.
  virtual void stop() = 0;
  /// Per-worker accounting (valid after stop()).
  virtual std::vector<WorkerStats> stats() const = 0;
  /// Worker processes (0 = in-process).
  virtual int workers() const = 0;
};

/// All layers in the calling process. `kernel` (make_layer_kernel) holds the state, the
/// penalties and the precision; each transport clones it per worker.
std::unique_ptr<Transport> make_in_process_transport(const LayerKernel& kernel, FaultPlan fault);

/// P forked workers; `control` is the control area of the shared mapping holding the kernel's state.
/// Both sides poll a phase semaphore for `spin_s` seconds before sleeping on it (0: sleep at once).
std::unique_ptr<Transport> make_fork_transport(const LayerKernel& kernel, void* control,
                                               const std::vector<Region>& regions, double phase_timeout_s,
                                               FaultPlan fault, double spin_s = 0);

/// P threads running the worker loop over the same control block (tests, ThreadSanitizer).
std::unique_ptr<Transport> make_thread_transport(const LayerKernel& kernel, void* control,
                                                 const std::vector<Region>& regions, double phase_timeout_s,
                                                 FaultPlan fault = {});

}  // namespace radmm
