// Memory plan of a run (see memory_plan.hpp).
#include "coordinator/memory_plan.hpp"

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>

#include "common/layout.hpp"
#include "coordinator/trainer.hpp"
#include "worker/protocol.hpp"

namespace radmm {

namespace {

std::string mib(std::size_t b) { return std::to_string((b + (1u << 20) - 1) >> 20) + " MiB"; }

/// A "Key:   123 kB" line of a /proc file in bytes, or -1.
long long proc_kib(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size()) * 1024;
  return -1;
}

}  // namespace

std::string MemoryPlan::text() const {
  return "about " + mib(total()) + " (shared state " + mib(shared_state) + ", diagnostics copy " +
         mib(diagnostics_copy) + ", scratch " + mib(scratch) + ")";
}

MemoryPlan memory_plan(const Settings& s, const Dataset& ds) {
  MemoryPlan p;
  if (s.backprop()) return p;
  const Dims d = dims_of(s, ds);
  const std::size_t scalar = s.precision == "float" ? sizeof(float) : sizeof(double);
  const std::size_t state = Layout::make(d, scalar).bytes();
  const int workers = s.resolved_workers();
  p.shared_state = state + (workers > 0 ? control_bytes(workers) + 4096 : 0);
  if (s.diagnostics) p.diagnostics_copy = state;
  // Step temporaries (a handful of d x n blocks, linearized.cpp) and an evaluation's forward
  // pass in double (three d x n blocks, model.cpp).
  const auto dn = static_cast<std::size_t>(std::max(d.width, d.d0)) * static_cast<std::size_t>(d.samples);
  p.scratch = 8 * dn * scalar + 3 * dn * sizeof(double);
  return p;
}

void check_memory(const MemoryPlan& plan) {
  const std::string hint = "reduce --width, --depth or the data size, or raise the limit";
  rlimit lim {};
  if (::getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const long long used = proc_kib("/proc/self/status", "VmSize:");
    const long long left = static_cast<long long>(lim.rlim_cur) - (used > 0 ? used : 0);
    if (static_cast<long long>(plan.total()) > left)
      throw Error(ExitCode::kOsErr,
                  "not enough address space: the run needs " + plan.text() + " but the limit (ulimit -v) leaves " +
                      mib(static_cast<std::size_t>(std::max(0LL, left))),
                  "memory check before training", hint);
  }
  const long long avail = proc_kib("/proc/meminfo", "MemAvailable:");
  if (avail > 0 && static_cast<long long>(plan.total()) > avail)
    throw Error(ExitCode::kOsErr,
                "not enough memory: the run needs " + plan.text() + " but only " +
                    mib(static_cast<std::size_t>(avail)) + " is available",
                "memory check before training", hint);
}

Error out_of_memory_error(const Settings& s, const Dataset& ds) {
  return Error(ExitCode::kOsErr, "out of memory during training; the run needs " + memory_plan(s, ds).text(),
               "memory", "reduce --width, --depth or the data size, or raise the limit (ulimit -v)");
}

}  // namespace radmm
