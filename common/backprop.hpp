// The backpropagation baseline (--method gd | adam) on the same FCResNet, data, split and
// precision: the loss and its exact gradient, and one Adam / gradient step.
#pragma once
#include <vector>

#include "common/model.hpp"

namespace radmm {

/// Mean loss 1/(2b) ||Phi(X;W) - Y||^2 + mu/2 sum_i ||W_i||^2 over the b columns of x
/// (standardised inputs and targets) and its gradient with respect to every W_i; with
/// Loss::kSoftmax the data term is the mean cross-entropy 1/b sum_j CE(Phi(x_j); y_j).
double loss_and_gradient(const Model& m, const Mat& x, const Mat& y, double mu, std::vector<Mat>& grad,
                         Loss loss = Loss::kSquared);

/// Adam state (Kingma and Ba 2015): first and second moment estimates and the step count.
struct Adam {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::vector<Mat> m, v;
  long t = 0;
  void step(std::vector<Mat>& w, const std::vector<Mat>& grad);
};

/// Plain gradient descent: W_i <- W_i - lr grad_i.
void gd_step(std::vector<Mat>& w, const std::vector<Mat>& grad, double lr);

/// gd / adam stop as diverged (exit 3) when the training objective after an epoch exceeds this
/// multiple of its value at the initial weights (besides any non-finite loss, gradient or weight).
constexpr double kDivergenceFactor = 100.0;

/// ||G_i||_F for every layer i = 1..N (index i - 1); +inf / NaN stay as they are.
std::vector<double> layer_norms(const std::vector<Mat>& g);

/// The first layer (1-based) holding a non-finite entry, 0 if none.
int first_nonfinite_layer(const std::vector<Mat>& g);

}  // namespace radmm
