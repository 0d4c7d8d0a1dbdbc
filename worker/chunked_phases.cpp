// Chunked exact TS3 phases over a grid cell (see chunked_phases.hpp).
#include "worker/chunked_phases.hpp"

#include <cmath>

namespace radmm {

namespace {

/// Chunks [b, e) of the cell (chunk_end = -1: all of them).
struct ChunkRange {
  int b = 0, e = 0;
};
ChunkRange chunks_of(const Region& cell, const ColumnChunks& cc) {
  return {cell.chunk_begin, cell.chunk_end < 0 ? cc.count() : cell.chunk_end};
}
ColumnChunks chunking(const Dims& d, const Penalties& pen) { return ColumnChunks{d.samples, pen.chunk_columns}; }

/// Layers whose W the cell updates: first..last, and N when the region holds N-1.
std::vector<int> weight_layers(const Region& cell, int depth) {
  std::vector<int> out;
  for (int i = cell.first; i <= cell.last; ++i) out.push_back(i);
  if (cell.last == depth - 1) out.push_back(depth);
  return out;
}

/// Does this cell reduce layer i (the j-th of its region goes to shard j mod S)?
bool reduces(const Region& cell, int i) { return (i - cell.first) % cell.shards == cell.shard; }

/// The W step's target T and scale: U_i with rho, or V_N + Lambda / beta with beta for the head.
template <class T>
struct WeightSums {
  const StateT<T>& s;
  const Penalties& pen;
  int i;
  bool head() const { return i == s.dims().depth; }
  T scale() const { return T(head() ? pen.beta : pen.rho); }
  /// Chunk c's partial into gram / cross.
  void partial(const ColumnChunks& cc, int c, MatRefT<T> gram, MatRefT<T> cross, bool with_gram) const {
    const auto b = cc.begin(c), len = cc.cols(c);
    const ConstMatRefT<T> p = s.V(i - 1).middleCols(b, len);
    if (head()) {
      const MatT<T> t = s.VN().middleCols(b, len) + s.Lambda().middleCols(b, len) / T(pen.beta);
      ridge_partial<T>(p, t, gram, cross, with_gram);
    } else {
      ridge_partial<T>(p, s.U(i).middleCols(b, len), gram, cross, with_gram);
    }
  }
};

template <class T>
bool need_gram(int i, const InputGram<T>* gram1, const bool* gram1_done) {
  return i != 1 || !(gram1 && gram1_done && *gram1_done);
}

template <class T>
void weights_phase(const Region& cell, const StateT<T>& s, const Penalties& pen, InputGram<T>* gram1,
                   bool* gram1_done, const ReductionArea* area) {
  const ColumnChunks cc = chunking(s.dims(), pen);
  const ChunkRange cr = chunks_of(cell, cc);
  for (int i : weight_layers(cell, s.dims().depth)) {
    const WeightSums<T> ws{s, pen, i};
    const bool with_gram = need_gram(i, gram1, gram1_done);
    const auto k1 = s.dims().w_cols(i), rows = s.dims().w_rows(i);
    if (cell.shards > 1) {  // partials to the shared slots; reduce_cell adds them
      for (int c = cr.b; c < cr.e; ++c) ws.partial(cc, c, area->gram<T>(i, c), area->cross<T>(i, c), with_gram);
      continue;
    }
    MatT<T> gram = MatT<T>::Zero(k1, k1), cross = MatT<T>::Zero(k1, rows);
    MatT<T> pg(k1, k1), pc(k1, rows);
    for (int c = cr.b; c < cr.e; ++c) {
      ws.partial(cc, c, pg, pc, with_gram);
      cross += pc;
      if (with_gram) gram += pg;
    }
    ridge_solve_sums<T>(s.W(i), gram, cross, ws.scale(), pen, i == 1 ? gram1 : nullptr);
  }
  if (gram1_done && cell.first == 1) *gram1_done = true;
}

template <class T>
void activations_phase(int parity, const Region& cell, const StateT<T>& s, const Penalties& pen) {
  const int depth = s.dims().depth;
  const ColumnChunks cc = chunking(s.dims(), pen);
  const ChunkRange cr = chunks_of(cell, cc);
  for (int i = cell.first; i <= cell.last; ++i) {
    if (i % 2 != parity) continue;
    const bool last = i == depth - 1, residual = i >= 2;
    const auto w_next = s.W(i + 1);
    const ActivationSystem<T> system = activation_system<T>(w_next, s.dims().width, last, pen);
    for (int c = cr.b; c < cr.e; ++c) {
      const auto b = cc.begin(c), len = cc.cols(c);
      auto col = [&](typename StateT<T>::Map m) -> MatRefT<T> { return m.middleCols(b, len); };
      if (last)
        update_last_activations<T>(col(s.V(i)), col(s.V(i - 1)), residual, col(s.U(i)), col(s.VN()), col(s.Lambda()),
                                   w_next, pen, &system);
      else
        update_activations<T>(col(s.V(i)), col(s.V(i - 1)), residual, col(s.U(i)), col(s.V(i + 1)), col(s.U(i + 1)),
                              w_next, pen, &system);
    }
  }
}

/// Layer i's L_beta terms: the column terms summed in chunk order, then lambda/2 ||W_i||^2.
template <class T>
double layer_total(const StateT<T>& s, int i, const Penalties& pen, const double* chunk_terms, int chunks) {
  double total = 0;
  for (int c = 0; c < chunks; ++c) total += chunk_terms[c];
  return total + 0.5 * pen.lambda * double(s.W(i).squaredNorm());
}

template <class T>
void preactivations_phase(const Region& cell, const StateT<T>& s, const Penalties& pen, MatRefT<T> z,
                          const ReductionArea* area) {
  const ColumnChunks cc = chunking(s.dims(), pen);
  const ChunkRange cr = chunks_of(cell, cc);
  Penalties columns_only = pen;
  columns_only.lambda = 0;  // the W term is added once per layer, not per chunk
  std::vector<double> local(static_cast<std::size_t>(cc.count()), 0.0);
  for (int i = cell.first; i <= cell.last; ++i) {
    const bool residual = i >= 2;
    double* terms = cell.shards > 1 ? area->terms(i) : local.data();
    for (int c = cr.b; c < cr.e; ++c) {
      const auto b = cc.begin(c), len = cc.cols(c);
      auto zc = z.middleCols(b, len);
      update_preactivations<T>(s.U(i).middleCols(b, len), s.V(i).middleCols(b, len), s.V(i - 1).middleCols(b, len),
                               residual, s.W(i), zc, pen);
      terms[c] = layer_objective<T>(s.V(i).middleCols(b, len), s.V(i - 1).middleCols(b, len), residual,
                                    s.U(i).middleCols(b, len), zc, s.W(i), columns_only);
    }
    if (cell.shards == 1) s.partial()[i] = layer_total(s, i, pen, terms, cc.count());
  }
}

}  // namespace

template <class T>
void run_chunked_phase(Phase ph, const Region& cell, const StateT<T>& s, const Penalties& pen, MatRefT<T> z,
                       InputGram<T>* gram1, bool* gram1_done, const ReductionArea* area) {
  switch (ph) {
    case Phase::kWeights: return weights_phase<T>(cell, s, pen, gram1, gram1_done, area);
    case Phase::kActivationsEven: return activations_phase<T>(0, cell, s, pen);
    case Phase::kActivationsOdd: return activations_phase<T>(1, cell, s, pen);
    case Phase::kPreactivations: return preactivations_phase<T>(cell, s, pen, z, area);
    default: return reduce_cell<T>(ph, cell, s, pen, gram1, *area);
  }
}

template <class T>
void reduce_cell(Phase ph, const Region& cell, const StateT<T>& s, const Penalties& pen, InputGram<T>* gram1,
                 const ReductionArea& area) {
  const ColumnChunks& cc = area.chunks();
  const int depth = s.dims().depth;
  if (ph == Phase::kPreactivationsReduce) {
    for (int i = cell.first; i <= cell.last; ++i)
      if (reduces(cell, i)) s.partial()[i] = layer_total(s, i, pen, area.terms(i), cc.count());
    return;
  }
  for (int i : weight_layers(cell, depth)) {
    if (!reduces(cell, i)) continue;
    const WeightSums<T> ws{s, pen, i};
    const bool cached = i == 1 && gram1 && gram1->ready;
    const auto k1 = s.dims().w_cols(i), rows = s.dims().w_rows(i);
    MatT<T> gram = MatT<T>::Zero(k1, k1), cross = MatT<T>::Zero(k1, rows);
    for (int c = 0; c < cc.count(); ++c) {
      cross += area.cross<T>(i, c);
      if (!cached) gram += area.gram<T>(i, c);
    }
    ridge_solve_sums<T>(s.W(i), gram, cross, ws.scale(), pen, i == 1 ? gram1 : nullptr);
  }
}

template <class T>
NonFinite check_cell(Phase ph, const Region& cell, const StateT<T>& s, const ReductionArea* area) {
  const int depth = s.dims().depth;
  // The cell's columns [b, e) of a d x n block (sharded cells only: area is set).
  const ColumnChunks& own = area->chunks();
  const ChunkRange cr = chunks_of(cell, own);
  const auto b = own.begin(cr.b), e = cr.e > cr.b ? own.begin(cr.e - 1) + own.cols(cr.e - 1) : b;
  switch (ph) {
    case Phase::kWeights: break;  // nothing written before the reduction round
    case Phase::kWeightsReduce:
      for (int i : weight_layers(cell, depth))
        if (reduces(cell, i) && !s.W(i).allFinite()) return {i, 'W'};
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      for (int i = cell.first; i <= cell.last; ++i)
        if (i % 2 == parity && !s.V(i).middleCols(b, e - b).allFinite()) return {i, 'V'};
      break;
    }
    case Phase::kPreactivations:
      for (int i = cell.first; i <= cell.last; ++i) {
        if (!s.U(i).middleCols(b, e - b).allFinite()) return {i, 'U'};
        for (int c = cr.b; c < cr.e; ++c)
          if (!std::isfinite(area->terms(i)[c])) return {i, 'U'};
      }
      break;
    case Phase::kPreactivationsReduce:
      for (int i = cell.first; i <= cell.last; ++i)
        if (reduces(cell, i) && !std::isfinite(s.partial()[i])) return {i, 'U'};
      break;
  }
  return {};
}

#define RADMM_INSTANTIATE(T)                                                                                      \
  template void run_chunked_phase<T>(Phase, const Region&, const StateT<T>&, const Penalties&, MatRefT<T>,        \
                                     InputGram<T>*, bool*, const ReductionArea*);                                 \
  template void reduce_cell<T>(Phase, const Region&, const StateT<T>&, const Penalties&, InputGram<T>*,           \
                               const ReductionArea&);                                                             \
  template NonFinite check_cell<T>(Phase, const Region&, const StateT<T>&, const ReductionArea*);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
