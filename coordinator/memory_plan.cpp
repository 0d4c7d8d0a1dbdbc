// Memory estimate of a run and the check against MemAvailable (see memory_plan.hpp).
#include "coordinator/memory_plan.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/layout.hpp"

namespace radmm {

namespace {
std::string gb(std::uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GB", static_cast<double>(b) / 1e9);
  return buf;
}
}  // namespace

std::string MemoryPlan::describe() const {
  return "data " + gb(data) + " + state " + gb(state) + " (shared) + " + std::to_string(workers) + " x worker " +
         gb(per_worker) + " + coordinator " + gb(coordinator) + " + diagnostics " + gb(diagnostics) + " = " +
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
  p.state = Layout::make(dims, f).bytes();
  // Block steps: the kernel's Z (d x n) plus at most three d x n temporaries (linearized / TS2
  // steps; the exact steps build their right-hand sides in place), and a (d0+1)^2 Gram.
  const std::uint64_t k = std::max(u(d0), d) + 1;
  const std::uint64_t step = f * (4 * d * u(n) + 2 * k * k);
  // Evaluation and the head refit run in double on train and test rows: V, Z and the output.
  const std::uint64_t eval = dbl * (2 * d + u(outputs)) * (u(n) + u(m)) + dbl * 2 * (d + 1) * (d + 1);
  p.workers = s.resolved_workers();
  if (s.backprop()) {
    // One StateBuffer for the shared initial weights, then the full-batch loss keeps V and Z of
    // every layer for all n columns (the epoch's objective) in double.
    p.state = Layout::make(dims, dbl).bytes();
    p.coordinator = dbl * 2 * depth * d * u(n) + eval;
    p.workers = 0;
    return p;
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

void check_memory(const Settings& s, const Dataset& ds, std::uint64_t available) {
  if (available == 0) available = mem_available_bytes();
  if (available == 0) return;  // not Linux: nothing to compare against
  const std::int64_t d0 = ds.x_train.rows(), n = ds.x_train.cols(), m = ds.x_test.cols(), c = ds.y_train.rows();
  const MemoryPlan p = estimate_memory(s, d0, n, m, c);
  if (p.total() <= available) return;
  // What would fit: float first, then the widest width (halving) in the run's precision.
  std::string hint;
  Settings t = s;
  if (s.precision == "double" && !s.backprop()) {
    t.precision = "float";
    if (estimate_memory(t, d0, n, m, c).total() <= available) hint = "--precision float would fit";
  }
  if (hint.empty()) {
    t = s;
    while (t.width > 1 && estimate_memory(t, d0, n, m, c).total() > available) t.width /= 2;
    if (estimate_memory(t, d0, n, m, c).total() <= available)
      hint = "--width " + std::to_string(t.width) + " would fit";
    else
      hint = "use fewer rows or a smaller --depth";
    if (s.diagnostics) hint += " (--diagnostics false saves " + gb(p.diagnostics) + ")";
  }
  throw Error(ExitCode::kOsErr, "the run needs about " + gb(p.total()) + " of memory, " + gb(available) +
                                    " is available (" + p.describe() + ")",
              "memory estimate before allocation", hint);
}

}  // namespace radmm
