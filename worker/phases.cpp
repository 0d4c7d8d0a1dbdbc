// Layer steps and phases of the parallel-ready schedule (see phases.hpp).
#include "worker/phases.hpp"

#include <cmath>

namespace radmm {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kWeights: return "W";
    case Phase::kActivationsEven: return "V-even";
    case Phase::kActivationsOdd: return "V-odd";
    case Phase::kPreactivations: return "U";
  }
  return "?";
}

void step_weights(const State& s, int i, const Penalties& pen) {
  const int n_layers = s.dims().depth;
  if (i == n_layers) update_output_weights(s.W(i), s.VN(), s.Lambda(), s.V(i - 1), pen);
  else update_weights(s.W(i), s.U(i), s.V(i - 1), pen);
}

void step_activations(const State& s, int i, const Penalties& pen) {
  const int n_layers = s.dims().depth;
  if (i == n_layers - 1)
    update_last_activations(s.V(i), s.V(i - 1), i >= 2, s.U(i), s.VN(), s.Lambda(), s.W(n_layers), pen);
  else
    update_activations(s.V(i), s.V(i - 1), i >= 2, s.U(i), s.V(i + 1), s.U(i + 1), s.W(i + 1), pen);
}

void step_preactivations(const State& s, int i, const Penalties& pen, MatRef z) {
  update_preactivations(s.U(i), s.V(i), s.V(i - 1), i >= 2, s.W(i), z, pen);
}

double layer_terms(const State& s, int i, const Penalties& pen, const ConstMatRef& z) {
  return layer_objective(s.V(i), s.V(i - 1), i >= 2, s.U(i), z, s.W(i), pen);
}

void run_phase(Phase ph, const Region& r, const State& s, const Penalties& pen, MatRef z) {
  const int n_layers = s.dims().depth;
  switch (ph) {
    case Phase::kWeights:
      for (int i = r.first; i <= r.last; ++i) step_weights(s, i, pen);
      if (r.last == n_layers - 1) step_weights(s, n_layers, pen);
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      for (int i = r.first; i <= r.last; ++i)
        if (i % 2 == parity) step_activations(s, i, pen);
      break;
    }
    case Phase::kPreactivations:
      for (int i = r.first; i <= r.last; ++i) {
        step_preactivations(s, i, pen, z);
        s.partial()[i] = layer_terms(s, i, pen, z);
      }
      break;
  }
}

}  // namespace radmm

namespace radmm {

NonFinite check_phase(Phase ph, const Region& r, const State& s) {
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
  }
  return {};
}

}  // namespace radmm
