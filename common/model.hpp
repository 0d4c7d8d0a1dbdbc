// The FCResNet (ALGORITHM.md 1): forward pass, prediction, and the model.bin format.
// Layer i (1-based) has W_i = [A_i, b_i]; the bias is the last column.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "common/dataset.hpp"
#include "common/loss.hpp"
#include "common/num.hpp"
#include "common/settings.hpp"

namespace radmm {

using Mat = Eigen::MatrixXd;
using MatRef = Eigen::Ref<Mat>;
using ConstMatRef = Eigen::Ref<const Mat>;

/// sigma(U), elementwise.
template <class T = double>
void activate(Activation act, const typename Num<T>::ConstRef& u, typename Num<T>::Ref out) {
  if (act == Activation::kRelu) out = u.cwiseMax(T(0));
  else out = u;
}

/// out = W P~ = A P + b 1^T, with W = [A, b].
template <class T = double>
void affine(const typename Num<T>::ConstRef& w, const typename Num<T>::ConstRef& p, typename Num<T>::Ref out) {
  const auto k = p.rows();
  out.noalias() = w.leftCols(k) * p;
  out.colwise() += w.col(k);
}

struct Model {
  Activation activation = Activation::kRelu;
  Loss loss = Loss::kSquared;       ///< onehot / softmax: outputs are class scores / logits, argmax predicts
  std::vector<Mat> w;               ///< w[i-1] = W_i, i = 1..N
  Standardizer x_scaler, y_scaler;  ///< raw <-> standardised features / target

  int depth() const { return static_cast<int>(w.size()); }
  /// V_{N-1}, the features the head sees, for standardised inputs x (d0 x n).
  Mat hidden_features(const Mat& x) const;
  /// Standardised output V_N = W_N V~_{N-1}.
  Mat forward(const Mat& x) const;
  /// Raw features in, raw target out.
  Mat predict(const Mat& x_raw) const;
};

/// Serialises to the versioned, checksummed model.bin format (docs/formats.md):
/// identical weights give identical bytes (no time stamp, no path).
std::string serialize_model(const Model& m);
/// Parses model.bin bytes; throws Error(kDataErr) naming `name` on any inconsistency.
Model deserialize_model(const std::string& bytes, const std::string& name);
void save_model(const std::string& path, const Model& m);
Model load_model(const std::string& path);

}  // namespace radmm
