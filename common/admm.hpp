// The TS3 block updates of ALGORITHM.md section 3 as pure functions over Eigen views,
// each the exact minimiser of L_beta in its block plus alpha/2 ||X - X^k||^2; templates over the
// scalar (float, double), instantiated for both in admm.cpp.
// `input` is V_{i-1} (X for layer 1); `residual` says whether R_i(V_{i-1}) = V_{i-1} (i >= 2).
#pragma once
#include <Eigen/Cholesky>

#include "common/grid.hpp"
#include "common/loss.hpp"
#include "common/model.hpp"
#include "common/num.hpp"
#include "common/settings.hpp"

namespace radmm {

/// The constants of L_beta and the proximal weight (double; each update casts them to its scalar).
struct Penalties {
  double gamma = 1, rho = 1, beta = 2, alpha = 0, lambda = 0;
  Activation activation = Activation::kRelu;
  bool dual = true;         ///< false = BCD: Lambda stays 0, no multiplier step
  bool ts2 = false;         ///< two-splitting: no U, sigma(W_i V~_{i-1}) inside the gamma penalty
  bool linearized = false;  ///< W and V blocks take one prox-gradient step (linearized.hpp)
  Loss loss = Loss::kSquared;  ///< the output block's loss: only the V_N step and the head term depend on it
  int chunk_columns = kDefaultChunkColumns;  ///< the phase schedule's fixed column chunking (reduction.hpp)
  static Penalties from(const Settings& s) {
    Penalties p{s.gamma, s.rho,       s.beta, s.alpha, s.lambda, s.activation_kind(), s.method != "bcd",
                s.splitting == "ts2", s.update == "linearized"};
    p.loss = loss_kind(s.loss);
    p.chunk_columns = s.chunk_columns;
    return p;
  }
  /// The exact TS3 updates: the only ones whose sums over samples are chunked and can be sharded
  /// (the linearized and TS2 steps backtrack on whole-block objectives).
  bool shardable() const { return !ts2 && !linearized; }
};

/// The penalties as scalars of T (Eigen does not mix float matrices with double scalars).
template <class T>
struct Coef {
  T gamma, rho, beta, alpha, lambda;
  explicit Coef(const Penalties& p)
      : gamma(T(p.gamma)), rho(T(p.rho)), beta(T(p.beta)), alpha(T(p.alpha)), lambda(T(p.lambda)) {}
};

/// The Cholesky factor of rho P~ P~^T + (lambda + alpha) I for an input that never changes
/// (layer 1's X): formed on first use, then reused, so W_1's step costs O(d d0 n), not O(d0^2 n).
template <class T>
struct InputGram {
  Eigen::LLT<MatT<T>> llt;
  bool ready = false;
};

/// W_i (i < N) <- (rho U P~^T + alpha W^k)(rho P~ P~^T + (lambda + alpha) I)^{-1},  P = input.
/// With `cache`, the factorisation is taken from (or first stored in) it: same bytes as without.
template <class T = double>
void update_weights(MatRefT<T> w, const ConstMatRefT<T>& u, const ConstMatRefT<T>& input, const Penalties& pen,
                    InputGram<T>* cache = nullptr);

/// W_N <- ((beta V_N + Lambda) P~^T + alpha W^k)(beta P~ P~^T + (lambda + alpha) I)^{-1},  P = V_{N-1}.
template <class T = double>
void update_output_weights(MatRefT<T> w, const ConstMatRefT<T>& vn, const ConstMatRefT<T>& lambda_mult,
                           const ConstMatRefT<T>& input, const Penalties& pen);

/// Largest condition bound at which a V step multiplies by the explicit inverse instead of two
/// triangular solves: the product's residual bound is kappa times the solve's (docs/algorithm.md,
/// "The V solve as a product"), so at most 1e3 x in double, 10 x in float.
template <class T>
inline constexpr double kActivationProductKappa = sizeof(T) == sizeof(double) ? 1e3 : 10;

/// The V step's matrix diag I + scale A^T A (A = w.leftCols(d)), prepared once per layer and
/// applied to any column block: its inverse when kappa^ = 1 + scale ||A||_F^2 / diag <=
/// kActivationProductKappa<T> (one product), else its Cholesky factor (two triangular solves).
template <class T>
struct ActivationSystem {
  Eigen::LLT<MatT<T>> llt;
  MatT<T> inverse;   ///< empty when the bound says the solve is needed
  double kappa = 0;  ///< the bound kappa^ on the condition number
  /// V <- (diag I + scale A^T A)^{-1} V, in place.
  void apply(MatRefT<T> v) const;
};

template <class T>
ActivationSystem<T> activation_system(const ConstMatRefT<T>& w, Eigen::Index d, T diag, T scale);

/// V_i (1 <= i <= N-2): solves ((2 gamma + alpha) I + rho A^T A) V = gamma (R_i + sigma(U_i))
///   + gamma (V_{i+1} - sigma(U_{i+1})) + rho A^T (U_{i+1} - b 1^T) + alpha V^k,  [A, b] = W_{i+1}.
/// `system` (optional): activation_system(w_next, d, false, pen), prepared once for many column blocks.
template <class T = double>
void update_activations(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                        const ConstMatRefT<T>& v_next, const ConstMatRefT<T>& u_next, const ConstMatRefT<T>& w_next,
                        const Penalties& pen, const ActivationSystem<T>* system = nullptr);

/// V_{N-1}: solves ((gamma + alpha) I + beta A^T A) V = gamma (R + sigma(U))
///   + A^T (Lambda + beta (V_N - b 1^T)) + alpha V^k,  [A, b] = W_N.
/// `system` (optional): activation_system(w_out, d, true, pen).
template <class T = double>
void update_last_activations(MatRefT<T> v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                             const ConstMatRefT<T>& vn, const ConstMatRefT<T>& lambda_mult, const ConstMatRefT<T>& w_out,
                             const Penalties& pen, const ActivationSystem<T>* system = nullptr);

/// The V step's system (2 gamma + alpha) I + rho A^T A, or for V_{N-1} (`last`)
/// (gamma + alpha) I + beta A^T A, with A = w_next.leftCols(d).
template <class T = double>
ActivationSystem<T> activation_system(const ConstMatRefT<T>& w_next, Eigen::Index d, bool last, const Penalties& pen);

/// U_i, elementwise: argmin gamma/2 (a - sigma(u))^2 + (rho+alpha)/2 (u - c)^2 with
/// a = V_i - R_i, c = (rho Z + alpha U^k)/(rho + alpha), Z = W_i V~_{i-1}; for ReLU the
/// cheaper of the two one-sided candidates (ties go to u <= 0). Leaves Z in `z`.
template <class T = double>
void update_preactivations(MatRefT<T> u, const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual,
                           const ConstMatRefT<T>& w, MatRefT<T> z, const Penalties& pen);

/// Scalar form of the U step (exposed for tests).
template <class T = double>
T prox_preactivation(T a, T c, T gamma, T s, Activation act);

/// V_N <- (Y - Lambda + beta Z_N) / (1 + beta),  Z_N = W_N V~_{N-1} (squared, onehot); softmax:
/// the cross-entropy prox, solved per sample (loss.hpp prox_cross_entropy).
template <class T = double>
void update_output(MatRefT<T> vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult, const ConstMatRefT<T>& zn,
                   const Penalties& pen);

/// Lambda <- Lambda + beta (V_N - Z_N).
template <class T = double>
void update_multiplier(MatRefT<T> lambda_mult, const ConstMatRefT<T>& vn, const ConstMatRefT<T>& zn, const Penalties& pen);

/// Layer i's terms of L_beta: gamma/2 ||V - R - sigma(U)||^2 + rho/2 ||U - Z||^2 + lambda/2 ||W||^2.
template <class T = double>
double layer_objective(const ConstMatRefT<T>& v, const ConstMatRefT<T>& input, bool residual, const ConstMatRefT<T>& u,
                       const ConstMatRefT<T>& z, const ConstMatRefT<T>& w, const Penalties& pen);

/// The head's terms: loss(V_N, Y) (1/2 ||V_N - Y||^2 for squared / onehot) + lambda/2 ||W_N||^2 + <Lambda, V_N - Z_N> + beta/2 ||V_N - Z_N||^2.
template <class T = double>
double head_objective(const ConstMatRefT<T>& vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult,
                      const ConstMatRefT<T>& zn, const ConstMatRefT<T>& w_out, const Penalties& pen);

/// Ridge regression of the head on fixed features: argmin 1/2 ||Y - W P~||^2 + lambda/2 ||W||^2.
Mat ridge_head(const ConstMatRef& y, const ConstMatRef& input, double lambda);

}  // namespace radmm
