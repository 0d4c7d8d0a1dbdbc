// Offsets of the ADMM state arrays and the anonymous shared mapping that holds them.
#include "common/layout.hpp"

#include <boost/interprocess/anonymous_shared_memory.hpp>

#include "common/error.hpp"

namespace radmm {

namespace {
constexpr std::size_t kAlign = 64;  // bytes: a cache line, and Eigen's Aligned64
std::size_t round_up(std::size_t x, std::size_t a) { return (x + a - 1) / a * a; }
}  // namespace

Layout Layout::make(const Dims& d, std::size_t scalar_bytes) {
  Layout l;
  l.dims = d;
  l.scalar_bytes = scalar_bytes;
  std::size_t off = 0;
  auto take = [&off, scalar_bytes](std::size_t count) {  // count scalars
    std::size_t at = off;
    off = round_up(off + count * scalar_bytes, kAlign);
    return at;
  };
  const auto n = static_cast<std::size_t>(d.samples);
  const auto width = static_cast<std::size_t>(d.width);
  l.w.assign(static_cast<std::size_t>(d.depth) + 1, 0);
  l.u.assign(static_cast<std::size_t>(d.depth), 0);
  l.v.assign(static_cast<std::size_t>(d.depth), 0);
  l.x = take(static_cast<std::size_t>(d.d0) * n);
  l.y = take(static_cast<std::size_t>(d.outputs) * n);
  l.vn = take(static_cast<std::size_t>(d.outputs) * n);
  l.lambda = take(static_cast<std::size_t>(d.outputs) * n);
  l.zn = take(static_cast<std::size_t>(d.outputs) * n);
  l.partial = take(((static_cast<std::size_t>(d.depth) + 1) * sizeof(double) + scalar_bytes - 1) / scalar_bytes);
  // Layer blocks in layer order, so a worker's region is one contiguous stretch.
  for (int i = 1; i <= d.depth; ++i) {
    l.w[i] = take(static_cast<std::size_t>(d.w_rows(i) * d.w_cols(i)));
    if (i < d.depth) {
      l.u[i] = take(width * n);
      l.v[i] = take(width * n);
    }
  }
  l.total = off;
  return l;
}

std::size_t Layout::region_bytes(int first, int last) const {
  std::size_t scalars = 0;
  const auto wn = static_cast<std::size_t>(dims.width) * static_cast<std::size_t>(dims.samples);
  for (int i = first; i <= last; ++i)
    scalars += static_cast<std::size_t>(dims.w_rows(i) * dims.w_cols(i)) + 2 * wn;
  if (last == dims.depth - 1)
    scalars += static_cast<std::size_t>(dims.w_rows(dims.depth) * dims.w_cols(dims.depth));
  return scalars * scalar_bytes;
}

StateBuffer::StateBuffer(const Dims& dims, std::size_t control_bytes, std::size_t scalar_bytes)
    : layout_(Layout::make(dims, scalar_bytes)), state_offset_(round_up(control_bytes, 4096)) {
  try {
    region_ = boost::interprocess::anonymous_shared_memory(state_offset_ + layout_.bytes());
  } catch (const std::exception& e) {
    throw Error(ExitCode::kOsErr,
                "cannot map " + std::to_string((state_offset_ + layout_.bytes()) >> 20) + " MiB of shared memory: " +
                    e.what(),
                "state allocation", "reduce --width, --depth or the data size");
  }
  // The mapping is zero-filled by the kernel; touch every page now so that a shortage
  // of memory shows up here, not as SIGBUS in the middle of a phase.
  char* p = static_cast<char*>(region_.get_address());
  for (std::size_t off = 0; off < region_.get_size(); off += 4096) p[off] = 0;
}

}  // namespace radmm
