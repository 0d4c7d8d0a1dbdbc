// The output block's loss (--loss squared | onehot | softmax): class labels and one-hot targets,
// the cross-entropy prox of the V_N step (safeguarded Newton per sample), the loss values and
// gradients, accuracy and the confusion matrix. docs/algorithm.md, "Classification".
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "common/csv.hpp"
#include "common/num.hpp"

namespace radmm {

enum class Loss { kSquared, kOneHot, kSoftmax };
Loss loss_kind(const std::string& name);  ///< "squared" | "onehot" | "softmax"

/// Residual to which the softmax V_N step is solved: ||grad||_inf of the per-sample objective.
constexpr double kSoftmaxProxTol = 1e-12;

/// The class labels of a CSV target column: every value a non-negative integer < 65536, else
/// Error(kDataErr) naming file:line:column. Returns K = max label + 1 (classes 0..K-1).
int check_class_labels(const Table& t, std::size_t col, const std::string& name);

/// K x n one-hot matrix of labels.
Eigen::MatrixXd one_hot(const std::vector<int>& labels, int classes);

/// Column-wise softmax (stable: max subtracted).
Eigen::MatrixXd softmax_columns(const Eigen::MatrixXd& v);

/// argmax of every column (ties to the lowest index).
std::vector<int> argmax_columns(const Eigen::MatrixXd& v);

double accuracy(const std::vector<int>& predicted, const std::vector<int>& labels);

/// K x K counts, row = true class, column = predicted class.
Eigen::MatrixXi confusion_matrix(const std::vector<int>& predicted, const std::vector<int>& labels, int classes);

/// The loss of the output block summed over samples: squared / onehot 1/2 ||V - Y||^2,
/// softmax sum_j (logsumexp(v_j) - <y_j, v_j>) (cross-entropy of one-hot or soft targets).
template <class T>
double output_loss(const ConstMatRefT<T>& v, const ConstMatRefT<T>& y, Loss loss);

/// Gradient of output_loss with respect to V: V - Y, or softmax(V) - Y.
Eigen::MatrixXd output_loss_gradient(const Eigen::MatrixXd& v, const Eigen::MatrixXd& y, Loss loss);

/// The softmax V_N step, column by column: argmin_v CE(v; y) + <lam, v - z> + beta/2 ||v - z||^2,
/// i.e. softmax(v) - y + lam + beta (v - z) = 0, by Newton with Armijo backtracking from `vn`
/// (computed in double; the Hessian diag(p) - p p^T + beta I is inverted by Sherman-Morrison).
/// Returns the largest final ||grad||_inf over the columns.
template <class T>
double prox_cross_entropy(MatRefT<T> vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult,
                          const ConstMatRefT<T>& zn, double beta);

/// The softmax head's refit on fixed features P (d x n): argmin_W sum_j CE(W p~_j; y_j) + lambda/2 ||W||^2,
/// by accelerated gradient descent from w0 with step 1/L, L = 1/2 lambda_max(P~ P~^T) + lambda (the
/// cross-entropy Hessian is at most 1/2 I per sample), restarted when the objective rises; never worse
/// than w0. `iterations` caps the gradient steps.
Eigen::MatrixXd fit_softmax_head(const Eigen::MatrixXd& w0, const Eigen::MatrixXd& y, const Eigen::MatrixXd& p,
                                 double lambda, int iterations = 300);

}  // namespace radmm
