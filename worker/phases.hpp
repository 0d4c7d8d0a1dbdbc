// The per-layer work of a worker: one block step of layer i, and one phase of the parallel
// schedule over a region of layers (ALGORITHM.md 5). Inside a phase every layer reads only
// blocks that the phase does not write, so regions can run concurrently in any split.
#pragma once
#include <cstdint>
#include <memory>

#include "common/admm.hpp"
#include "common/layout.hpp"
#include "common/partition.hpp"

namespace radmm {

/// The four phases of an iteration; with S > 1 sample shards the W and U phases take a second
/// round (the *Reduce values) that adds the chunk partials (worker/chunked_phases.hpp).
enum class Phase : std::int32_t {
  kWeights = 0, kActivationsEven = 1, kActivationsOdd = 2, kPreactivations = 3,
  kWeightsReduce = 4, kPreactivationsReduce = 5
};
constexpr int kPhaseCount = 4;
/// "W", "V-even", "V-odd", "U", "W-reduce", "U-reduce".
const char* phase_name(Phase p);
/// The phase a round is accounted to (0..kPhaseCount-1): a reduction round counts as its phase.
constexpr int phase_slot(Phase p) {
  return p == Phase::kWeightsReduce ? 0 : p == Phase::kPreactivationsReduce ? 3 : static_cast<int>(p);
}
/// The reduction round that follows `p` on a sharded grid (W and U only).
constexpr bool has_reduce_round(Phase p) { return p == Phase::kWeights || p == Phase::kPreactivations; }
constexpr Phase reduce_round(Phase p) {
  return p == Phase::kWeights ? Phase::kWeightsReduce : Phase::kPreactivationsReduce;
}

/// W_i <- update_weights (i < N) or update_output_weights (i = N); the linearized / TS2
/// variants when `pen` asks for them.
/// `gram1` (optional) caches layer 1's factorisation: its input X never changes.
template <class T>
void step_weights(const StateT<T>& s, int i, const Penalties& pen, InputGram<T>* gram1 = nullptr);
/// V_i <- update_activations (i <= N-2) or update_last_activations (i = N-1), or a variant.
/// `z` is d x n scratch (TS2 recomputes Z_i = W_i V~_{i-1} there).
template <class T>
void step_activations(const StateT<T>& s, int i, const Penalties& pen, MatRefT<T> z);
/// U_i <- update_preactivations (TS3; TS2 has no U); leaves Z = W_i V~_{i-1} in z.
template <class T>
void step_preactivations(const StateT<T>& s, int i, const Penalties& pen, MatRefT<T> z);
/// Layer i's L_beta terms given Z = W_i V~_{i-1} in z.
template <class T>
double layer_terms(const StateT<T>& s, int i, const Penalties& pen, const ConstMatRefT<T>& z);

/// The first block holding a non-finite value, found by a phase (layer 0 = none).
struct NonFinite {
  std::int32_t layer = 0;
  char block = 0;  ///< 'W', 'V' or 'U'
  explicit operator bool() const { return layer != 0; }
};

/// Runs phase `ph` on the layers of `r` (one shard: every column); the U phase also stores each
/// layer's L_beta terms in s.partial()[i]. `z` is d x n scratch. Does not check finiteness (see
/// check_phase). The exact TS3 updates go chunk by chunk (chunked_phases.hpp).
template <class T>
void run_phase(Phase ph, const Region& r, const StateT<T>& s, const Penalties& pen, MatRefT<T> z,
               InputGram<T>* gram1 = nullptr);

/// Checks the blocks phase `ph` wrote in region `r` for NaN / Inf (cheap next to the phase:
/// O(d n) against O(d^2 n)). -ffast-math would remove this check; the build never uses it.
template <class T>
NonFinite check_phase(Phase ph, const Region& r, const StateT<T>& s);

/// The layer work of one precision behind a virtual interface, so the transports and the worker
/// loop do not depend on the scalar type. Each instance owns its d x n scratch: one per worker.
class LayerKernel {
 public:
  virtual ~LayerKernel() = default;
  virtual void run(Phase ph, const Region& r) = 0;
  virtual NonFinite check(Phase ph, const Region& r) const = 0;
  /// Fault injection: writes NaN into W_layer(0, 0).
  virtual void poison(int layer) = 0;
  /// The reduction round of a sharded phase (kWeightsReduce, kPreactivationsReduce) is run(...) too.
  /// Same state and penalties, its own scratch (for another worker thread or process).
  virtual std::unique_ptr<LayerKernel> clone() const = 0;
  virtual const Layout& layout() const = 0;
  const Dims& dims() const { return layout().dims; }
};

class ReductionArea;
/// `area`: the shared chunk partials, needed (and only used) by cells of a grid with S > 1 shards.
template <class T>
std::unique_ptr<LayerKernel> make_layer_kernel(const StateT<T>& s, const Penalties& pen,
                                               const ReductionArea* area = nullptr);

}  // namespace radmm
