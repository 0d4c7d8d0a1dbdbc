// Forward pass with caches, backward pass, Adam and GD steps (see backprop.hpp).
#include "common/backprop.hpp"

#include <cmath>

namespace radmm {

double loss_and_gradient(const Model& m, const Mat& x, const Mat& y, double mu, std::vector<Mat>& grad, Loss kind) {
  const int n_layers = m.depth();
  const double b = static_cast<double>(x.cols());
  const bool relu = m.activation == Activation::kRelu;
  // Forward, keeping V_i (i = 0..N-1) and the pre-activations Z_i (i = 1..N-1).
  std::vector<Mat> v(static_cast<std::size_t>(n_layers)), z(static_cast<std::size_t>(n_layers));
  v[0] = x;
  for (int i = 1; i < n_layers; ++i) {
    const Mat& w = m.w[static_cast<std::size_t>(i - 1)];
    z[i].resize(w.rows(), x.cols());
    affine(w, v[i - 1], z[i]);
    v[i] = relu ? Mat(z[i].cwiseMax(0.0)) : z[i];
    if (i >= 2) v[i] += v[i - 1];
  }
  Mat out(m.w.back().rows(), x.cols());
  affine(m.w.back(), v[n_layers - 1], out);
  const Mat r = output_loss_gradient(out, y, kind);  // dLoss/dPhi of the summed loss
  double loss = output_loss<double>(out, y, kind) / b;
  for (const Mat& w : m.w) loss += 0.5 * mu * w.squaredNorm();

  // Backward: g is dLoss/dV_i; a weight's gradient is g_Z V~_{i-1}^T + mu W_i.
  grad.resize(m.w.size());
  auto weight_grad = [&](int i, const Mat& gz) {
    const Mat& p = v[i - 1];
    Mat& g = grad[static_cast<std::size_t>(i - 1)];
    g.resize(gz.rows(), p.rows() + 1);
    g.leftCols(p.rows()).noalias() = gz * p.transpose();
    g.col(p.rows()) = gz.rowwise().sum();
    g += mu * m.w[static_cast<std::size_t>(i - 1)];
  };
  const Mat g_out = r / b;
  weight_grad(n_layers, g_out);
  const Mat& head = m.w.back();
  Mat g = head.leftCols(head.cols() - 1).transpose() * g_out;
  for (int i = n_layers - 1; i >= 1; --i) {
    const Mat gz = relu ? Mat(g.array() * (z[i].array() > 0).cast<double>()) : g;
    weight_grad(i, gz);
    if (i >= 2) {
      const Mat& w = m.w[static_cast<std::size_t>(i - 1)];
      g += w.leftCols(w.cols() - 1).transpose() * gz;  // skip path keeps g, branch adds A_i^T g_Z
    }
  }
  return loss;
}

void Adam::step(std::vector<Mat>& w, const std::vector<Mat>& grad) {
  if (m.empty()) {
    for (const Mat& g : grad) {
      m.push_back(Mat::Zero(g.rows(), g.cols()));
      v.push_back(Mat::Zero(g.rows(), g.cols()));
    }
  }
  ++t;
  const double c1 = 1 - std::pow(beta1, static_cast<double>(t)), c2 = 1 - std::pow(beta2, static_cast<double>(t));
  for (std::size_t i = 0; i < w.size(); ++i) {
    m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
    v[i] = beta2 * v[i] + (1 - beta2) * grad[i].cwiseAbs2();
    w[i].array() -= lr * (m[i].array() / c1) / ((v[i].array() / c2).sqrt() + eps);
  }
}

void gd_step(std::vector<Mat>& w, const std::vector<Mat>& grad, double lr) {
  for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * grad[i];
}

std::vector<double> layer_norms(const std::vector<Mat>& g) {
  std::vector<double> n;
  n.reserve(g.size());
  for (const Mat& m : g) n.push_back(m.stableNorm());  // no overflow of the squares
  return n;
}

int first_nonfinite_layer(const std::vector<Mat>& g) {
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!g[i].allFinite()) return static_cast<int>(i) + 1;
  return 0;
}

}  // namespace radmm
