// Layer steps and phases of the parallel-ready schedule (see phases.hpp).
#include "worker/phases.hpp"

#include <cmath>

#include "common/linearized.hpp"

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
  if (i == n_layers) {
    if (!pen.linearized) return update_output_weights(s.W(i), s.VN(), s.Lambda(), s.V(i - 1), pen);
    const Mat target = s.VN() + s.Lambda() / pen.beta;  // beta/2 ||V_N + Lambda/beta - W P~||^2 + const
    update_weights_linearized(s.W(i), target, s.V(i - 1), pen.beta, pen);
  } else if (pen.ts2) {
    update_weights_ts2(s.W(i), s.V(i), s.V(i - 1), i >= 2, pen);
  } else if (pen.linearized) {
    update_weights_linearized(s.W(i), s.U(i), s.V(i - 1), pen.rho, pen);
  } else {
    update_weights(s.W(i), s.U(i), s.V(i - 1), pen);
  }
}

void step_activations(const State& s, int i, const Penalties& pen, MatRef z) {
  const int n_layers = s.dims().depth;
  const bool residual = i >= 2;
  // TS2 has no U: the sigma argument of layer i is Z_i = W_i V~_{i-1}, recomputed here.
  if (pen.ts2) affine(s.W(i), s.V(i - 1), z);
  const ConstMatRef own = pen.ts2 ? ConstMatRef(z) : ConstMatRef(s.U(i));
  if (i == n_layers - 1) {
    if (pen.linearized)
      update_last_activations_linearized(s.V(i), s.V(i - 1), residual, own, s.VN(), s.Lambda(), s.W(n_layers), pen);
    else
      update_last_activations(s.V(i), s.V(i - 1), residual, own, s.VN(), s.Lambda(), s.W(n_layers), pen);
  } else if (pen.ts2) {
    update_activations_ts2(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.W(i + 1), pen);
  } else if (pen.linearized) {
    update_activations_linearized(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.U(i + 1), s.W(i + 1), pen);
  } else {
    update_activations(s.V(i), s.V(i - 1), residual, own, s.V(i + 1), s.U(i + 1), s.W(i + 1), pen);
  }
}

void step_preactivations(const State& s, int i, const Penalties& pen, MatRef z) {
  if (pen.ts2) return affine(s.W(i), s.V(i - 1), z);  // no U block; Z_i for the layer terms
  update_preactivations(s.U(i), s.V(i), s.V(i - 1), i >= 2, s.W(i), z, pen);
}

double layer_terms(const State& s, int i, const Penalties& pen, const ConstMatRef& z) {
  // TS2: gamma/2 ||V - R - sigma(Z)||^2 + lambda/2 ||W||^2 is the TS3 form with U = Z.
  const ConstMatRef u = pen.ts2 ? z : ConstMatRef(s.U(i));
  return layer_objective(s.V(i), s.V(i - 1), i >= 2, u, z, s.W(i), pen);
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
        if (i % 2 == parity) step_activations(s, i, pen, z);
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
