// The backprop baseline loop (--method gd | adam): full-batch or seeded mini-batch epochs
// over the training set, with the same initial weights, outputs and finish as ADMM. Every step's
// per-layer gradient norms are watched: the first and the largest go to summary.json, and a
// non-finite value or a loss above kDivergenceFactor x its start stops the run (exit 3) naming
// the layer and the epoch.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/backprop.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "common/rng.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/trainer.hpp"

namespace radmm {

TrainResult train_backprop(const Settings& st, const Dataset& ds, const TrainHooks& hooks) {
  const Activation act = st.activation_kind();
  const Loss kind = loss_kind(st.loss);
  const Mat y = ds.y_scaler.apply(ds.y_train);
  const Eigen::Index n = ds.x_train.cols();
  // The same initial weights as ADMM: initialise a state and take its W.
  const Dims dims = dims_of(st, ds);
  Model model;
  {
    StateBuffer buffer(dims);
    const State s = buffer.state();
    s.X() = ds.x_train;
    s.Y() = y;
    initialise_state(s, act, st.seed, st.scaled_init(), kind);
    model = model_of(s, act, ds);
  }
  // lambda weights the summed loss in ADMM; on the mean loss it is lambda / n.
  const double mu = st.lambda / static_cast<double>(n);
  const Eigen::Index batch = st.batch_size > 0 ? std::min<Eigen::Index>(st.batch_size, n) : n;
  Adam adam;
  adam.lr = st.resolved_learning_rate();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(st.seed ^ 0xBA7C4ULL);
  std::vector<Mat> grad;
  Mat xb, yb;

  ModelSelection selection;
  selection.patience = st.patience;
  TrainResult res;
  res.termination = "iterations";
  res.workers = 0;
  const double t_start = now_seconds();
  res.start_objective = loss_and_gradient(model, ds.x_train, y, mu, grad, kind);
  // The layer to blame: the largest gradient norm of the last finite step (where the blow-up
  // comes from: once a value overflows, NaN spreads to every layer below it), or, when the very
  // first step is already non-finite, the first layer holding a non-finite gradient.
  std::vector<double> last_finite;
  auto diverged = [&](const std::string& what, int epoch, int nonfinite_layer) {
    std::string where = "epoch " + std::to_string(epoch);
    if (!last_finite.empty()) {
      const auto top = std::max_element(last_finite.begin(), last_finite.end());
      where += ", layer " + std::to_string(1 + (top - last_finite.begin())) + " (largest gradient norm " +
               format_double(*top) + " at the last finite step)";
    } else {
      where += ", layer " + std::to_string(nonfinite_layer) + " (first non-finite gradient at the first step)";
    }
    throw Error(ExitCode::kDiverged, what, where,
                "lower --learning-rate" + std::string(st.scaled_init() ? "" : ", or use --init scaled"));
  };
  auto watch_gradient = [&](double loss, int epoch) {
    const std::vector<double> norms = layer_norms(grad);
    const int bad = first_nonfinite_layer(grad);
    if (bad) diverged("non-finite gradient (first in layer " + std::to_string(bad) + ")", epoch, bad);
    if (!std::isfinite(loss)) diverged("non-finite training loss", epoch, 1);
    if (res.grad_norm_first.empty()) {
      res.grad_norm_first = res.grad_norm_max = norms;
      res.grad_norm_max_epoch.assign(norms.size(), epoch);
    }
    for (std::size_t i = 0; i < norms.size(); ++i)
      if (norms[i] > res.grad_norm_max[i]) res.grad_norm_max[i] = norms[i], res.grad_norm_max_epoch[i] = epoch;
    last_finite = norms;
  };
  for (int epoch = 1; epoch <= st.iterations; ++epoch) {
    const double t0 = now_seconds();
    if (batch < n)
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (Eigen::Index start = 0; start < n; start += batch) {
      const Eigen::Index b = std::min(batch, n - start);
      double loss = 0;
      if (batch == n) {
        loss = loss_and_gradient(model, ds.x_train, y, mu, grad, kind);
      } else {
        xb.resize(ds.x_train.rows(), b);
        yb.resize(y.rows(), b);
        for (Eigen::Index j = 0; j < b; ++j) {
          xb.col(j) = ds.x_train.col(order[static_cast<std::size_t>(start + j)]);
          yb.col(j) = y.col(order[static_cast<std::size_t>(start + j)]);
        }
        loss = loss_and_gradient(model, xb, yb, mu, grad, kind);
      }
      watch_gradient(loss, epoch);
      if (st.method == "adam") adam.step(model.w, grad);
      else gd_step(model.w, grad, st.resolved_learning_rate());
      if (const int bad = first_nonfinite_layer(model.w))
        diverged("non-finite weights after a step (first in W_" + std::to_string(bad) + ")", epoch, bad);
    }
    IterationRecord rec;
    rec.iter = epoch;
    rec.admm_s = now_seconds() - t0;
    rec.lagrangian = loss_and_gradient(model, ds.x_train, y, mu, grad, kind);  // the mean objective after the epoch
    if (!std::isfinite(rec.lagrangian)) diverged("non-finite training loss", epoch, 1);
    if (rec.lagrangian > kDivergenceFactor * res.start_objective)
      diverged("training loss " + format_double(rec.lagrangian) + " above " + format_double(kDivergenceFactor) +
                   " x its start " + format_double(res.start_objective),
               epoch, 1);
    const bool eval = (st.eval_every > 0 && epoch % st.eval_every == 0) || epoch == st.iterations;
    const bool stop = eval && evaluate(st, ds, model, model.hidden_features(ds.x_train), rec, selection);
    rec.relaxed_mse = 0;  // no relaxation
    rec.elapsed_s = now_seconds() - t_start;
    res.history.push_back(rec);
    res.iterations = epoch;
    if (hooks.on_iteration) hooks.on_iteration(rec);
    if (stop) {
      res.termination = "early_stop";
      break;
    }
    if (const int sig = stop_signal())
      if (epoch < st.iterations) throw stop_error(sig, "after epoch " + std::to_string(epoch), "");
  }
  res.model = std::move(model);
  finish_model(st, ds, selection, res);
  if (!res.history.empty()) res.lagrangian = res.history.back().lagrangian;
  res.elapsed_s = now_seconds() - t_start;
  return res;
}

}  // namespace radmm
