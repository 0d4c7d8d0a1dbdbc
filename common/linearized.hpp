// The linearized (prox-gradient) block updates of ALGORITHM.md section 4 and the TS2 blocks.
// Each is one step x+ = prox_r(x - grad h(x) / tau), tau = 1.05 Lip + alpha with Lip from power
// iterations, and tau doubles until the block objective falls by alpha/2 ||x+ - x||^2 (backtracking).
#pragma once
#include "common/admm.hpp"

namespace radmm {

/// Largest squared singular value of M (of M~ = [M; 1^T] when `tilde`) by power iteration from a
/// fixed start vector (deterministic, so every worker count computes the same estimate).
template <class T = double>
double spectral_norm_sq(const ConstMatRefT<T>& m, bool tilde, int iterations = 12);

/// TS3 W_i (i < N), h = rho/2 ||U - W P~||^2, r = lambda/2 ||W||^2. Also W_N of both splittings
/// with (scale, target) = (beta, V_N + Lambda / beta).
template <class T = double>
int update_weights_linearized(MatRefT<T> w, const ConstMatRefT<T>& target, const ConstMatRefT<T>& input, double scale,
                              const Penalties& pen);

/// TS3 V_i (i <= N-2): h = gamma/2 ||V - R - sigma(U)||^2 + gamma/2 ||V_{i+1} - V - sigma(U_{i+1})||^2
///   + rho/2 ||U_{i+1} - A V - b||^2,  [A, b] = W_{i+1}.
template <class T = double>
int update_activations_linearized(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                                  const ConstMatRefT<T>& v_next, const ConstMatRefT<T>& u_next, const ConstMatRefT<T>& w_next,
                                  const Penalties& pen);

/// V_{N-1} (TS3 with u = U_{N-1}; TS2 with u = Z_{N-1} = W_{N-1} V~_{N-2}):
///   h = gamma/2 ||V - R - sigma(u)||^2 + <Lambda, V_N - A V - b> + beta/2 ||V_N - A V - b||^2.
template <class T = double>
int update_last_activations_linearized(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                                       const ConstMatRefT<T>& vn, const ConstMatRefT<T>& lambda_mult,
                                       const ConstMatRefT<T>& w_out, const Penalties& pen);

/// TS2 W_i (i < N): h = gamma/2 ||V_i - R_i - sigma(W P~)||^2, r = lambda/2 ||W||^2, P = input.
template <class T = double>
int update_weights_ts2(MatRefT<T> w, const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual,
                       const Penalties& pen);

/// TS2 V_i (i <= N-2): h = gamma/2 ||V - R_i - sigma(Z_i)||^2 + gamma/2 ||V_{i+1} - V - sigma(A V + b)||^2,
/// Z_i = W_i V~_{i-1} (given in z_own), [A, b] = W_{i+1}.
template <class T = double>
int update_activations_ts2(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& z_own,
                           const ConstMatRefT<T>& v_next, const ConstMatRefT<T>& w_next, const Penalties& pen);

}  // namespace radmm
