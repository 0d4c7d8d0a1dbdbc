// The TS3 block updates of ALGORITHM.md section 3 as pure functions over Eigen views,
// each the exact minimiser of L_beta in its block plus alpha/2 ||X - X^k||^2.
// `input` is V_{i-1} (X for layer 1); `residual` says whether R_i(V_{i-1}) = V_{i-1} (i >= 2).
#pragma once
#include "common/model.hpp"
#include "common/settings.hpp"

namespace radmm {

/// The constants of L_beta and the proximal weight.
struct Penalties {
  double gamma = 1, rho = 1, beta = 2, alpha = 0, lambda = 0;
  Activation activation = Activation::kRelu;
  bool dual = true;         ///< false = BCD: Lambda stays 0, no multiplier step
  bool ts2 = false;         ///< two-splitting: no U, sigma(W_i V~_{i-1}) inside the gamma penalty
  bool linearized = false;  ///< W and V blocks take one prox-gradient step (linearized.hpp)
  static Penalties from(const Settings& s) {
    return {s.gamma, s.rho,       s.beta, s.alpha, s.lambda, s.activation_kind(), s.method != "bcd",
            s.splitting == "ts2", s.update == "linearized"};
  }
};

/// W_i (i < N) <- (rho U P~^T + alpha W^k)(rho P~ P~^T + (lambda + alpha) I)^{-1},  P = input.
void update_weights(MatRef w, const ConstMatRef& u, const ConstMatRef& input, const Penalties& pen);

/// W_N <- ((beta V_N + Lambda) P~^T + alpha W^k)(beta P~ P~^T + (lambda + alpha) I)^{-1},  P = V_{N-1}.
void update_output_weights(MatRef w, const ConstMatRef& vn, const ConstMatRef& lambda_mult,
                           const ConstMatRef& input, const Penalties& pen);

/// V_i (1 <= i <= N-2): solves ((2 gamma + alpha) I + rho A^T A) V = gamma (R_i + sigma(U_i))
///   + gamma (V_{i+1} - sigma(U_{i+1})) + rho A^T (U_{i+1} - b 1^T) + alpha V^k,  [A, b] = W_{i+1}.
void update_activations(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                        const ConstMatRef& v_next, const ConstMatRef& u_next, const ConstMatRef& w_next,
                        const Penalties& pen);

/// V_{N-1}: solves ((gamma + alpha) I + beta A^T A) V = gamma (R + sigma(U))
///   + A^T (Lambda + beta (V_N - b 1^T)) + alpha V^k,  [A, b] = W_N.
void update_last_activations(MatRef v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                             const ConstMatRef& vn, const ConstMatRef& lambda_mult, const ConstMatRef& w_out,
                             const Penalties& pen);

/// U_i, elementwise: argmin gamma/2 (a - sigma(u))^2 + (rho+alpha)/2 (u - c)^2 with
/// a = V_i - R_i, c = (rho Z + alpha U^k)/(rho + alpha), Z = W_i V~_{i-1}; for ReLU the
/// cheaper of the two one-sided candidates (ties go to u <= 0). Leaves Z in `z`.
void update_preactivations(MatRef u, const ConstMatRef& v, const ConstMatRef& input, bool residual,
                           const ConstMatRef& w, MatRef z, const Penalties& pen);

/// Scalar form of the U step (exposed for tests).
double prox_preactivation(double a, double c, double gamma, double s, Activation act);

/// V_N <- (Y - Lambda + beta Z_N) / (1 + beta),  Z_N = W_N V~_{N-1}.
void update_output(MatRef vn, const ConstMatRef& y, const ConstMatRef& lambda_mult, const ConstMatRef& zn,
                   const Penalties& pen);

/// Lambda <- Lambda + beta (V_N - Z_N).
void update_multiplier(MatRef lambda_mult, const ConstMatRef& vn, const ConstMatRef& zn, const Penalties& pen);

/// Layer i's terms of L_beta: gamma/2 ||V - R - sigma(U)||^2 + rho/2 ||U - Z||^2 + lambda/2 ||W||^2.
double layer_objective(const ConstMatRef& v, const ConstMatRef& input, bool residual, const ConstMatRef& u,
                       const ConstMatRef& z, const ConstMatRef& w, const Penalties& pen);

/// The head's terms: 1/2 ||V_N - Y||^2 + lambda/2 ||W_N||^2 + <Lambda, V_N - Z_N> + beta/2 ||V_N - Z_N||^2.
double head_objective(const ConstMatRef& vn, const ConstMatRef& y, const ConstMatRef& lambda_mult,
                      const ConstMatRef& zn, const ConstMatRef& w_out, const Penalties& pen);

/// Ridge regression of the head on fixed features: argmin 1/2 ||Y - W P~||^2 + lambda/2 ||W||^2.
Mat ridge_head(const ConstMatRef& y, const ConstMatRef& input, double lambda);

}  // namespace radmm
