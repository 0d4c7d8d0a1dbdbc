// Layer steps and phases of the parallel-ready schedule (see phases.hpp).
#include "worker/phases.hpp"

#include <cmath>
#include <limits>

#include "common/linearized.hpp"
#include "worker/chunked_phases.hpp"

namespace radmm {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kWeights: return "W";
    case Phase::kActivationsEven: return "V-even";
    case Phase::kActivationsOdd: return "V-odd";
    case Phase::kPreactivations: return "U";
    case Phase::kWeightsReduce: return "W-reduce";
    case Phase::kPreactivationsReduce: return "U-reduce";
  }
  return "?";
}

template <class T>
void step_weights(const StateT<T>& s, int i, const Penalties& pen, InputGram<T>* gram1) {
  const int n_layers = s.dims().depth;
  if (i == n_layers) {
    if (!pen.linearized) return update_output_weights<T>(s.W(i), s.VN(), s.Lambda(), s.V(i - 1), pen);
    const MatT<T> target = s.VN() + s.Lambda() / T(pen.beta);  // beta/2 ||V_N + Lambda/beta - W P~||^2 + const
    update_weights_linearized<T>(s.W(i), target, s.V(i - 1), pen.beta, pen);
  } else if (pen.ts2) {
    update_weights_ts2<T>(s.W(i), s.V(i), s.V(i - 1), i >= 2, pen);
  } else if (pen.linearized) {
    update_weights_linearized<T>(s.W(i), s.U(i), s.V(i - 1), pen.rho, pen);
  } else {
    update_weights<T>(s.W(i), s.U(i), s.V(i - 1), pen, i == 1 ? gram1 : nullptr);
  }
}

template <class T>
void step_activations(const StateT<T>& s, int i, const Penalties& pen, MatRefT<T> z) {
  const int n_layers = s.dims().depth;
  const bool residual = i >= 2;
  // TS2 has no U: the sigma argument of layer i is Z_i = W_i V~_{i-1}, recomputed here.
  if (pen.ts2) affine<T>(s.W(i), s.V(i - 1), z);
  const ConstMatRefT<T> own = pen.ts2 ? ConstMatRefT<T>(z) : ConstMatRefT<T>(s.U(i));
  if (i == n_layers - 1) {
    if (pen.linearized)
      update_last_activations_linearized<T>(s.V(i), s.V(i - 1), residual, own, s.VN(), s.Lambda(), s.W(n_layers),
                                            pen);
    else
      update_last_activations<T>(s.V(i), s.V(i - 1), residual, own, s.VN(), s.Lambda(), s.W(n_layers), pen);
  } else if (pen.ts2) {
    update_activations_ts2<T>(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.W(i + 1), pen);
  } else if (pen.linearized) {
    update_activations_linearized<T>(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.U(i + 1), s.W(i + 1), pen);
  } else {
    update_activations<T>(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.U(i + 1), s.W(i + 1), pen);
  }
}

template <class T>
void step_preactivations(const StateT<T>& s, int i, const Penalties& pen, MatRefT<T> z) {
  if (pen.ts2) return affine<T>(s.W(i), s.V(i - 1), z);  // no U block; Z_i for the layer terms
  update_preactivations<T>(s.U(i), s.V(i), s.V(i - 1), i >= 2, s.W(i), z, pen);
}

template <class T>
double layer_terms(const StateT<T>& s, int i, const Penalties& pen, const ConstMatRefT<T>& z) {
  // TS2: gamma/2 ||V - R - sigma(Z)||^2 + lambda/2 ||W||^2 is the TS3 form with U = Z.
  const ConstMatRefT<T> u = pen.ts2 ? z : ConstMatRefT<T>(s.U(i));
  return layer_objective<T>(s.V(i), s.V(i - 1), i >= 2, u, z, s.W(i), pen);
}

template <class T>
void run_phase(Phase ph, const Region& r, const StateT<T>& s, const Penalties& pen, MatRefT<T> z,
               InputGram<T>* gram1) {
  if (pen.shardable()) return run_chunked_phase<T>(ph, r, s, pen, z, gram1, nullptr, nullptr);
  const int n_layers = s.dims().depth;
  switch (ph) {
    case Phase::kWeights:
      for (int i = r.first; i <= r.last; ++i) step_weights(s, i, pen, gram1);
      if (r.last == n_layers - 1) step_weights(s, n_layers, pen);
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      for (int i = r.first; i <= r.last; ++i)
        if (i % 2 == parity) step_activations(s, i, pen, z);
      break;
    }
    case Phase::kPreactivations:
      for (int i = r.first; i <= r.last; ++i) {
        step_preactivations(s, i, pen, z);
        s.partial()[i] = layer_terms(s, i, pen, z);
      }
      break;
    default: break;  // reduction rounds exist only for sharded (chunked) cells
  }
}

}  // namespace radmm

namespace radmm {

template <class T>
NonFinite check_phase(Phase ph, const Region& r, const StateT<T>& s) {
  const int n_layers = s.dims().depth;
  switch (ph) {
    case Phase::kWeights:
      for (int i = r.first; i <= r.last; ++i)
        if (!s.W(i).allFinite()) return {i, 'W'};
      if (r.last == n_layers - 1 && !s.W(n_layers).allFinite()) return {n_layers, 'W'};
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      for (int i = r.first; i <= r.last; ++i)
        if (i % 2 == parity && !s.V(i).allFinite()) return {i, 'V'};
      break;
    }
    case Phase::kPreactivations:
      for (int i = r.first; i <= r.last; ++i)
        if (!s.U(i).allFinite() || !std::isfinite(s.partial()[i])) return {i, 'U'};
      break;
    default: break;
  }
  return {};
}

namespace {

template <class T>
class Kernel final : public LayerKernel {
 public:
  Kernel(const StateT<T>& s, const Penalties& pen, const ReductionArea* area)
      : s_(s), pen_(pen), area_(area), z_(s.dims().width, s.dims().samples) {}
  void run(Phase ph, const Region& r) override {
    if (pen_.shardable()) run_chunked_phase<T>(ph, r, s_, pen_, z_, &gram1_, &gram1_done_, area_);
    else run_phase<T>(ph, r, s_, pen_, z_, &gram1_);
  }
  NonFinite check(Phase ph, const Region& r) const override {
    return r.shards > 1 ? check_cell<T>(ph, r, s_, area_) : check_phase<T>(ph, r, s_);
  }
  void poison(int layer) override { s_.W(layer)(0, 0) = std::numeric_limits<T>::quiet_NaN(); }
  std::unique_ptr<LayerKernel> clone() const override { return std::make_unique<Kernel>(s_, pen_, area_); }
  const Layout& layout() const override { return s_.layout(); }

 private:
  StateT<T> s_;
  Penalties pen_;
  const ReductionArea* area_;  ///< shared chunk partials (grids with S > 1), else null
  MatT<T> z_;
  InputGram<T> gram1_;  ///< layer 1's factorisation, formed by the worker that solves layer 1
  bool gram1_done_ = false;  ///< layer 1's Gram partials were formed once (X never changes)
};

}  // namespace

template <class T>
std::unique_ptr<LayerKernel> make_layer_kernel(const StateT<T>& s, const Penalties& pen, const ReductionArea* area) {
  return std::make_unique<Kernel<T>>(s, pen, area);
}

#define RADMM_INSTANTIATE(T)                                                                          \
  template void step_weights<T>(const StateT<T>&, int, const Penalties&, InputGram<T>*);             \
  template void step_activations<T>(const StateT<T>&, int, const Penalties&, MatRefT<T>);            \
  template void step_preactivations<T>(const StateT<T>&, int, const Penalties&, MatRefT<T>);         \
  template double layer_terms<T>(const StateT<T>&, int, const Penalties&, const ConstMatRefT<T>&);   \
  template void run_phase<T>(Phase, const Region&, const StateT<T>&, const Penalties&, MatRefT<T>,   \
                             InputGram<T>*);                                                          \
  template NonFinite check_phase<T>(Phase, const Region&, const StateT<T>&);                         \
  template std::unique_ptr<LayerKernel> make_layer_kernel<T>(const StateT<T>&, const Penalties&, const ReductionArea*);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
