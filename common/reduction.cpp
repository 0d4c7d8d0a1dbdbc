// Chunk partials of the W step's sums, the solve from their ordered sum, and the shared area
// that holds them between the two rounds of a sharded W phase (see reduction.hpp).
#include "common/reduction.hpp"

#include <Eigen/Cholesky>
#include <boost/interprocess/anonymous_shared_memory.hpp>

#include "common/error.hpp"

namespace radmm {

template <class T>
void ridge_partial(const ConstMatRefT<T>& p, const ConstMatRefT<T>& t, MatRefT<T> gram, MatRefT<T> cross,
                   bool with_gram) {
  const auto k = p.rows();
  cross.topRows(k).noalias() = p * t.transpose();
  cross.row(k) = t.rowwise().sum().transpose();
  if (!with_gram) return;
  gram.setZero();
  gram.topLeftCorner(k, k).template selfadjointView<Eigen::Lower>().rankUpdate(p, T(1));
  gram.block(k, 0, 1, k) = p.rowwise().sum().transpose();
  gram(k, k) = static_cast<T>(p.cols());
}

template <class T>
void ridge_solve_sums(MatRefT<T> w, const MatT<T>& gram, const MatT<T>& cross, T scale, const Penalties& pen,
                      InputGram<T>* cache) {
  const Coef<T> c(pen);
  MatT<T> rhs = scale * cross;
  rhs.noalias() += c.alpha * w.transpose();
  auto factor = [&] {
    MatT<T> g = scale * gram;
    g.diagonal().array() += c.lambda + c.alpha;
    return g;
  };
  if (cache) {
    if (!cache->ready) cache->llt.compute(factor()), cache->ready = true;
    cache->llt.solveInPlace(rhs);
  } else {
    Eigen::LLT<MatT<T>> llt(factor());
    llt.solveInPlace(rhs);
  }
  w = rhs.transpose();
}

namespace {
constexpr std::size_t kAlign = 64;
std::size_t round_up(std::size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }
}  // namespace

std::size_t ReductionArea::gram_bytes(int layer) const {
  const auto k1 = static_cast<std::size_t>(dims_.w_cols(layer));
  return round_up(k1 * k1 * scalar_bytes_);
}

std::size_t ReductionArea::slot(int layer, int chunk) const {
  return layer_offset_[static_cast<std::size_t>(layer)] + static_cast<std::size_t>(chunk) * slot_bytes_[static_cast<std::size_t>(layer)];
}

std::size_t ReductionArea::bytes(const Dims& dims, const ColumnChunks& chunks, std::size_t scalar_bytes) {
  std::size_t total = 0;
  for (int i = 1; i <= dims.depth; ++i) {
    const auto k1 = static_cast<std::size_t>(dims.w_cols(i)), rows = static_cast<std::size_t>(dims.w_rows(i));
    total += (round_up(k1 * k1 * scalar_bytes) + round_up(k1 * rows * scalar_bytes)) * static_cast<std::size_t>(chunks.count());
  }
  return total + (static_cast<std::size_t>(dims.depth) + 1) * static_cast<std::size_t>(chunks.count()) * sizeof(double);
}

ReductionArea::ReductionArea(const Dims& dims, const ColumnChunks& chunks, std::size_t scalar_bytes)
    : dims_(dims), chunks_(chunks), scalar_bytes_(scalar_bytes) {
  layer_offset_.assign(static_cast<std::size_t>(dims.depth) + 1, 0);
  slot_bytes_.assign(static_cast<std::size_t>(dims.depth) + 1, 0);
  std::size_t off = 0;
  for (int i = 1; i <= dims.depth; ++i) {
    const auto k1 = static_cast<std::size_t>(dims.w_cols(i)), rows = static_cast<std::size_t>(dims.w_rows(i));
    layer_offset_[static_cast<std::size_t>(i)] = off;
    slot_bytes_[static_cast<std::size_t>(i)] = round_up(k1 * k1 * scalar_bytes) + round_up(k1 * rows * scalar_bytes);
    off += slot_bytes_[static_cast<std::size_t>(i)] * static_cast<std::size_t>(chunks.count());
  }
  terms_offset_ = off;
  const std::size_t total = bytes(dims, chunks, scalar_bytes);
  try {
    region_ = boost::interprocess::anonymous_shared_memory(total);
  } catch (const std::exception& e) {
    throw Error(ExitCode::kOsErr, "cannot map " + std::to_string(total >> 20) + " MiB for the grid's chunk partials: " + e.what(),
                "--grid", "use fewer sample shards (--grid Rx1) or a larger --chunk-columns");
  }
  char* p = base();  // touch every page now: a shortage shows here, not as SIGBUS in a phase
  for (std::size_t o = 0; o < region_.get_size(); o += 4096) p[o] = 0;
}

#define RADMM_INSTANTIATE(T)                                                                                       \
  template void ridge_partial<T>(const ConstMatRefT<T>&, const ConstMatRefT<T>&, MatRefT<T>, MatRefT<T>, bool);    \
  template void ridge_solve_sums<T>(MatRefT<T>, const MatT<T>&, const MatT<T>&, T, const Penalties&, InputGram<T>*);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
