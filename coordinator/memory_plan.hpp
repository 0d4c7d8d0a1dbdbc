// The memory a run will need, estimated before anything is allocated or forked: the data, the
// shared state, per-process scratch and the diagnostics copy. Checked against the address-space
// limit (ulimit -v) and MemAvailable (exit 71 with the figures and a setting that would fit), and
// quoted when an allocation fails anyway (std::bad_alloc -> exit 71, never "a bug").
#pragma once
#include <cstdint>
#include <string>

#include "common/dataset.hpp"
#include "common/error.hpp"
#include "common/settings.hpp"

namespace radmm {

struct MemoryPlan {
  std::uint64_t data = 0;         ///< the loaded data set (double), coordinator only
  std::uint64_t state = 0;        ///< the ADMM state: one shared mapping for all processes
  std::uint64_t per_worker = 0;   ///< private scratch of one worker process
  std::uint64_t coordinator = 0;  ///< the coordinator's private scratch (in-process kernel, evaluation, refit)
  std::uint64_t diagnostics = 0;  ///< --diagnostics: a private copy of every block but X and Y
  std::uint64_t reduction = 0;    ///< a grid with S > 1 sample shards: the shared chunk partials
  int workers = 0;
  std::uint64_t total() const {
    return data + state + reduction + coordinator + diagnostics + per_worker * std::uint64_t(workers);
  }
  /// What the coordinator process alone maps (the figure RLIMIT_AS applies to).
  std::uint64_t coordinator_process() const { return data + state + reduction + coordinator + diagnostics; }
  std::string describe() const;   ///< "data 0.38 GB + state 1.4 GB (shared) + ..." for messages
};

/// The estimate for settings `s` on data of d0 features, n training and m test rows, K outputs.
MemoryPlan estimate_memory(const Settings& s, std::int64_t d0, std::int64_t n, std::int64_t m, std::int64_t outputs);
MemoryPlan memory_plan(const Settings& s, const Dataset& ds);

/// MemAvailable of /proc/meminfo in bytes (0 when unknown).
std::uint64_t mem_available_bytes();

/// Throws Error(kOsErr) when the coordinator's share exceeds what RLIMIT_AS leaves this process,
/// or the whole run exceeds MemAvailable, naming --precision float or the largest --width that
/// would fit; `available` 0 = read /proc/meminfo.
void check_memory(const Settings& s, const Dataset& ds, std::uint64_t available = 0);

/// The exit-71 error for an allocation that failed during training.
Error out_of_memory_error(const Settings& s, const Dataset& ds);

}  // namespace radmm
