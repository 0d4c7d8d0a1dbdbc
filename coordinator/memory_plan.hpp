// The memory a training run needs, per process: the shared state mapping, the coordinator's
// private diagnostics copy of the iterate, and the step and evaluation scratch. Checked
// against the address-space limit (ulimit -v) and MemAvailable before training (exit 71),
// and quoted when an allocation fails anyway (std::bad_alloc -> exit 71, never "a bug").
#pragma once
#include <cstddef>
#include <string>

#include "common/dataset.hpp"
#include "common/error.hpp"
#include "common/settings.hpp"

namespace radmm {

struct MemoryPlan {
  std::size_t shared_state = 0;      ///< the MAP_SHARED mapping (control block and every block)
  std::size_t diagnostics_copy = 0;  ///< x^k for the step norms (--diagnostics)
  std::size_t scratch = 0;           ///< step temporaries and the forward pass of an evaluation
  std::size_t total() const { return shared_state + diagnostics_copy + scratch; }
  /// "about 12 MiB (shared state 8 MiB, diagnostics copy 3 MiB, scratch 1 MiB)".
  std::string text() const;
};

MemoryPlan memory_plan(const Settings& s, const Dataset& ds);

/// Error(kOsErr) if the plan exceeds what RLIMIT_AS leaves this process or MemAvailable.
void check_memory(const MemoryPlan& plan);

/// The exit-71 error for an allocation that failed during training.
Error out_of_memory_error(const Settings& s, const Dataset& ds);

}  // namespace radmm
