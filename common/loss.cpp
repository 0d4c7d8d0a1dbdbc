// Losses of the output block, class labels and the cross-entropy prox (see loss.hpp).
#include "common/loss.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm {

Loss loss_kind(const std::string& name) {
  if (name == "onehot") return Loss::kOneHot;
  if (name == "softmax") return Loss::kSoftmax;
  return Loss::kSquared;
}

int check_class_labels(const Table& t, std::size_t col, const std::string& name) {
  int k = 0;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const double v = t.at(r, col);
    if (!(v >= 0 && v < 65536 && v == std::floor(v)))
      throw Error(ExitCode::kDataErr, "class label " + format_double(v) + " is not an integer in [0, 65535]",
                  name + ":" + std::to_string(r + 2) + ":" + std::to_string(col + 1),
                  "--loss onehot|softmax need integer class labels in the target column");
    k = std::max(k, static_cast<int>(v) + 1);
  }
  return k;
}

Eigen::MatrixXd one_hot(const std::vector<int>& labels, int classes) {
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(classes, static_cast<Eigen::Index>(labels.size()));
  for (std::size_t j = 0; j < labels.size(); ++j) y(labels[j], static_cast<Eigen::Index>(j)) = 1.0;
  return y;
}

Eigen::MatrixXd softmax_columns(const Eigen::MatrixXd& v) {
  Eigen::MatrixXd p = v;
  for (Eigen::Index j = 0; j < v.cols(); ++j) {
    p.col(j) = (v.col(j).array() - v.col(j).maxCoeff()).exp().matrix();
    p.col(j) /= p.col(j).sum();
  }
  return p;
}

std::vector<int> argmax_columns(const Eigen::MatrixXd& v) {
  std::vector<int> out(static_cast<std::size_t>(v.cols()));
  for (Eigen::Index j = 0; j < v.cols(); ++j) {
    Eigen::Index best = 0;
    v.col(j).maxCoeff(&best);  // the first maximum
    out[static_cast<std::size_t>(j)] = static_cast<int>(best);
  }
  return out;
}

double accuracy(const std::vector<int>& predicted, const std::vector<int>& labels) {
  if (labels.empty()) return 0;
  std::size_t hit = 0;
  for (std::size_t j = 0; j < labels.size(); ++j) hit += predicted[j] == labels[j];
  return static_cast<double>(hit) / static_cast<double>(labels.size());
}

Eigen::MatrixXi confusion_matrix(const std::vector<int>& predicted, const std::vector<int>& labels, int classes) {
  Eigen::MatrixXi c = Eigen::MatrixXi::Zero(classes, classes);
  for (std::size_t j = 0; j < labels.size(); ++j)
    if (predicted[j] >= 0 && predicted[j] < classes) ++c(labels[j], predicted[j]);
  return c;
}

namespace {

/// log sum exp of a column, stable.
double logsumexp(const Eigen::VectorXd& v) {
  const double m = v.maxCoeff();
  return m + std::log((v.array() - m).exp().sum());
}

/// One sample's V_N objective: CE(v; y) + <lam, v - z> + beta/2 ||v - z||^2.
double prox_objective(const Eigen::VectorXd& v, const Eigen::VectorXd& y, const Eigen::VectorXd& lam,
                      const Eigen::VectorXd& z, double beta) {
  const Eigen::VectorXd d = v - z;
  return logsumexp(v) - y.dot(v) + lam.dot(d) + 0.5 * beta * d.squaredNorm();
}

}  // namespace

template <class T>
double output_loss(const ConstMatRefT<T>& v, const ConstMatRefT<T>& y, Loss loss) {
  if (loss != Loss::kSoftmax) return 0.5 * double((v - y).squaredNorm());
  double total = 0;
  for (Eigen::Index j = 0; j < v.cols(); ++j) {
    const Eigen::VectorXd vj = v.col(j).template cast<double>();
    total += logsumexp(vj) - y.col(j).template cast<double>().dot(vj);
  }
  return total;
}

Eigen::MatrixXd output_loss_gradient(const Eigen::MatrixXd& v, const Eigen::MatrixXd& y, Loss loss) {
  return loss == Loss::kSoftmax ? Eigen::MatrixXd(softmax_columns(v) - y) : Eigen::MatrixXd(v - y);
}

template <class T>
double prox_cross_entropy(MatRefT<T> vn, const ConstMatRefT<T>& y, const ConstMatRefT<T>& lambda_mult,
                          const ConstMatRefT<T>& zn, double beta) {
  double worst = 0;
  const Eigen::Index k = vn.rows();
  Eigen::VectorXd v(k), yj(k), lam(k), z(k), p(k), g(k), dinv(k), step(k), trial(k);
  for (Eigen::Index j = 0; j < vn.cols(); ++j) {
    v = vn.col(j).template cast<double>();
    yj = y.col(j).template cast<double>();
    lam = lambda_mult.col(j).template cast<double>();
    z = zn.col(j).template cast<double>();
    double f = prox_objective(v, yj, lam, z, beta), gmax = 0;
    for (int it = 0; it < 100; ++it) {
      p = (v.array() - v.maxCoeff()).exp().matrix();
      p /= p.sum();
      g = p - yj + lam + beta * (v - z);
      gmax = g.cwiseAbs().maxCoeff();
      if (gmax <= kSoftmaxProxTol) break;
      // Newton direction: (D - p p^T)^{-1} g with D = diag(p) + beta I (Sherman-Morrison;
      // 1 - p^T D^{-1} p > 0 because p_i / (p_i + beta) < 1 and sum p_i = 1).
      dinv = (p.array() + beta).inverse().matrix();
      const Eigen::VectorXd dg = dinv.cwiseProduct(g), dp = dinv.cwiseProduct(p);
      step = -(dg + dp * (p.dot(dg) / (1.0 - p.dot(dp))));
      // Safeguard: the full step is taken when it halves ||grad|| (the quadratic-convergence regime,
      // where objective differences fall below rounding); otherwise Armijo backtracking on the
      // beta-strongly convex objective.
      auto gradient_at = [&](const Eigen::VectorXd& x) {
        Eigen::VectorXd q = (x.array() - x.maxCoeff()).exp().matrix();
        q /= q.sum();
        return Eigen::VectorXd(q - yj + lam + beta * (x - z));
      };
      trial = v + step;
      if (gradient_at(trial).cwiseAbs().maxCoeff() <= 0.5 * gmax) {
        v = trial;
        f = prox_objective(v, yj, lam, z, beta);
        continue;
      }
      double t = 1.0, ft = 0;
      const double slope = g.dot(step);
      for (int b = 0; b < 60; ++b, t *= 0.5) {
        trial = v + t * step;
        ft = prox_objective(trial, yj, lam, z, beta);
        if (ft <= f + 1e-4 * t * slope) break;
      }
      if (!(ft < f)) break;  // no decrease representable in double: at the minimiser
      v = trial;
      f = ft;
    }
    worst = std::max(worst, gmax);
    vn.col(j) = v.cast<T>();
  }
  return worst;
}

Eigen::MatrixXd fit_softmax_head(const Eigen::MatrixXd& w0, const Eigen::MatrixXd& y, const Eigen::MatrixXd& p,
                                 double lambda, int iterations) {
  const Eigen::Index d = p.rows();
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(d + 1, d + 1);
  gram.topLeftCorner(d, d).selfadjointView<Eigen::Lower>().rankUpdate(p);
  gram.block(d, 0, 1, d) = p.rowwise().sum().transpose();
  gram(d, d) = static_cast<double>(p.cols());
  const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
  const double step = 1.0 / (0.5 * top + lambda);
  // Objective and gradient of the head problem at W.
  Eigen::MatrixXd out(w0.rows(), p.cols());
  auto objective = [&](const Eigen::MatrixXd& w, Eigen::MatrixXd* grad) {
    out.noalias() = w.leftCols(d) * p;
    out.colwise() += w.col(d);
    const double f = output_loss<double>(out, y, Loss::kSoftmax) + 0.5 * lambda * w.squaredNorm();
    if (grad) {
      const Eigen::MatrixXd g = softmax_columns(out) - y;
      grad->resize(w.rows(), w.cols());
      grad->leftCols(d).noalias() = g * p.transpose();
      grad->col(d) = g.rowwise().sum();
      *grad += lambda * w;
    }
    return f;
  };
  Eigen::MatrixXd w = w0, w_prev = w0, yk = w0, g, best = w0;
  double f_best = objective(w0, nullptr), f_prev = f_best, t = 1;
  for (int k = 0; k < iterations; ++k) {
    objective(yk, &g);
    w_prev = w;
    w = yk - step * g;
    const double f = objective(w, nullptr);
    if (f < f_best) f_best = f, best = w;
    if (f > f_prev) {  // adaptive restart (O'Donoghue and Candes): drop the momentum
      t = 1;
      yk = w;
    } else {
      const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * t * t));
      yk = w + ((t - 1) / t_next) * (w - w_prev);
      t = t_next;
    }
    f_prev = f;
  }
  return best;
}

template double output_loss<float>(const ConstMatRefT<float>&, const ConstMatRefT<float>&, Loss);
template double output_loss<double>(const ConstMatRefT<double>&, const ConstMatRefT<double>&, Loss);
template double prox_cross_entropy<float>(MatRefT<float>, const ConstMatRefT<float>&, const ConstMatRefT<float>&,
                                          const ConstMatRefT<float>&, double);
template double prox_cross_entropy<double>(MatRefT<double>, const ConstMatRefT<double>&, const ConstMatRefT<double>&,
                                           const ConstMatRefT<double>&, double);

}  // namespace radmm
