// Memory estimate of a run and the checks against ulimit -v and MemAvailable (see memory_plan.hpp).
#include "coordinator/memory_plan.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common/error.hpp"
#include "common/grid.hpp"
#include "common/layout.hpp"
#include "common/reduction.hpp"

namespace radmm {

namespace {
std::string gb(std::uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GB", static_cast<double>(b) / 1e9);
  return buf;
}

/// A "Key:   123 kB" line of a /proc file in bytes, or -1.
long long proc_bytes(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size()) * 1024;
  return -1;
}

/// The largest setting that fits `budget` by `measure`: --precision float, else a halved --width.
template <class Measure>
std::string what_fits(const Settings& s, std::uint64_t budget, Measure measure) {
  Settings t = s;
  if (s.precision == "double" && !s.backprop()) {
    t.precision = "float";
    if (measure(t) <= budget) return "--precision float would fit";
  }
  t = s;
  while (t.width > 1 && measure(t) > budget) t.width /= 2;
  std::string hint = measure(t) <= budget ? "--width " + std::to_string(t.width) + " would fit"
                                          : "use fewer rows or a smaller --depth";
  if (s.diagnostics) {
    Settings u = s;
    u.diagnostics = false;
    hint += " (--diagnostics false saves " + gb(measure(s) - measure(u)) + ")";
  }
  return hint;
}
}  // namespace

std::string MemoryPlan::describe() const {
  return "data " + gb(data) + " + state " + gb(state) + " (shared) + " +
         (reduction ? "grid partials " + gb(reduction) + " (shared) + " : std::string()) + std::to_string(workers) + " x worker " +
         gb(per_worker) + " + coordinator " + gb(coordinator) + " + diagnostics copy " + gb(diagnostics) + " = " +
         gb(total());
}

MemoryPlan estimate_memory(const Settings& s, std::int64_t d0, std::int64_t n, std::int64_t m, std::int64_t outputs) {
  const auto u = [](std::int64_t x) { return static_cast<std::uint64_t>(x); };
  const std::uint64_t f = s.precision == "float" ? 4 : 8, dbl = 8, d = u(s.width), depth = u(s.depth);
  MemoryPlan p;
  p.data = dbl * (u(d0) + u(outputs)) * (u(n) + u(m));
  Dims dims;
  dims.depth = s.depth;
  dims.d0 = static_cast<int>(d0);
  dims.width = s.width;
  dims.outputs = static_cast<int>(outputs);
  dims.samples = n;
  p.workers = s.resolved_workers();
  p.state = Layout::make(dims, f).bytes();  // the control block (a few KiB) is left out
  // Block steps: the kernel's Z (d x n) plus at most three d x n temporaries (linearized / TS2
  // steps; the exact steps build their right-hand sides in place), and a (d0+1)^2 Gram.
  const std::uint64_t k = std::max(u(d0), d) + 1;
  const std::uint64_t step = f * (4 * d * u(n) + 2 * k * k);
  // Evaluation and the head refit run in double on train and test rows: V, Z and the output.
  const std::uint64_t eval = dbl * (2 * d + u(outputs)) * (u(n) + u(m)) + dbl * 2 * (d + 1) * (d + 1);
  if (s.backprop()) {
    // One StateBuffer for the shared initial weights, then the full-batch loss keeps V and Z of
    // every layer for all n columns (the epoch's objective) in double.
    p.state = Layout::make(dims, dbl).bytes();
    p.coordinator = dbl * 2 * depth * d * u(n) + eval;
    p.workers = 0;
    return p;
  }
  if (p.workers > 0 && s.schedule == "phase") {
    // The grid the run will use; S > 1 shards add the shared chunk partials (common/reduction.hpp).
    try {
      const Grid g = resolve_grid(s, dims);
      p.workers = g.workers();
      if (g.shards > 1) p.reduction = ReductionArea::bytes(dims, ColumnChunks{n, s.chunk_columns}, f);
    } catch (const Error&) {
      // no feasible grid: the caller reports that with its own exit code
    }
  }
  p.per_worker = p.workers > 0 ? step : 0;
  p.coordinator = step + eval;
  if (s.diagnostics) p.diagnostics = p.state - f * (u(d0) + u(outputs)) * u(n);
  return p;
}

std::uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

MemoryPlan memory_plan(const Settings& s, const Dataset& ds) {
  return estimate_memory(s, ds.x_train.rows(), ds.x_train.cols(), ds.x_test.cols(), ds.y_train.rows());
}

void check_memory(const Settings& s, const Dataset& ds, std::uint64_t available) {
  const std::int64_t d0 = ds.x_train.rows(), n = ds.x_train.cols(), m = ds.x_test.cols(), c = ds.y_train.rows();
  const MemoryPlan p = estimate_memory(s, d0, n, m, c);
  // The address-space limit applies to each process; the coordinator maps the most.
  rlimit lim {};
  if (::getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const long long used = std::max(0LL, proc_bytes("/proc/self/status", "VmSize:"));
    const auto left = static_cast<std::uint64_t>(std::max(0LL, static_cast<long long>(lim.rlim_cur) - used));
    if (p.coordinator_process() > left)
      throw Error(ExitCode::kOsErr,
                  "not enough address space: the run needs about " + gb(p.coordinator_process()) +
                      " in the coordinator (" + p.describe() + ") but the limit (ulimit -v) leaves " + gb(left),
                  "memory estimate before allocation",
                  what_fits(s, left, [&](const Settings& t) {
                    return estimate_memory(t, d0, n, m, c).coordinator_process();
                  }) + ", or raise the limit");
  }
  if (available == 0) available = mem_available_bytes();
  if (available == 0 || p.total() <= available) return;  // not Linux, or it fits
  throw Error(ExitCode::kOsErr, "the run needs about " + gb(p.total()) + " of memory, " + gb(available) +
                                    " is available (" + p.describe() + ")",
              "memory estimate before allocation",
              what_fits(s, available, [&](const Settings& t) { return estimate_memory(t, d0, n, m, c).total(); }));
}

Error out_of_memory_error(const Settings& s, const Dataset& ds) {
  return Error(ExitCode::kOsErr, "out of memory during training; the run needs about " + memory_plan(s, ds).describe(),
               "memory", "reduce --width, --depth or the data size, or raise the limit (ulimit -v)");
}

}  // namespace radmm
