// The training loop (see trainer.hpp).
#include "coordinator/trainer.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/io.hpp"
#include "common/rng.hpp"
#include "coordinator/signals.hpp"
#include "worker/protocol.hpp"

namespace radmm {

void initialise_state(const State& s, Activation act, std::uint64_t seed) {
  const Dims& d = s.dims();
  Rng rng(seed);
  const double branch = 1.0 / std::sqrt(static_cast<double>(d.depth));
  for (int i = 1; i <= d.depth; ++i) {
    auto w = s.W(i);
    const auto fan_in = static_cast<double>(w.cols() - 1);
    const double gain = i == d.depth ? 1.0 : (act == Activation::kRelu ? 2.0 : 1.0);
    const double scale = std::sqrt(gain / fan_in) * (i >= 2 && i < d.depth ? branch : 1.0);
    for (Eigen::Index c = 0; c + 1 < w.cols(); ++c)
      for (Eigen::Index r = 0; r < w.rows(); ++r) w(r, c) = scale * rng.normal();
    w.col(w.cols() - 1).setZero();
  }
  for (int i = 1; i < d.depth; ++i) {
    affine(s.W(i), s.V(i - 1), s.U(i));
    activate(act, s.U(i), s.V(i));
    if (i >= 2) s.V(i) += s.V(i - 1);
  }
  affine(s.W(d.depth), s.V(d.depth - 1), s.VN());
  s.Lambda() = s.Y() - s.VN();
}

double finish_iteration(const State& s, const Penalties& pen) {
  const int n_layers = s.dims().depth;
  affine(s.W(n_layers), s.V(n_layers - 1), s.ZN());
  update_output(s.VN(), s.Y(), s.Lambda(), s.ZN(), pen);
  update_multiplier(s.Lambda(), s.VN(), s.ZN(), pen);
  double total = 0;
  for (int i = 1; i < n_layers; ++i) total += s.partial()[i];
  s.partial()[n_layers] = head_objective(s.VN(), s.Y(), s.Lambda(), s.ZN(), s.W(n_layers), pen);
  return total + s.partial()[n_layers];
}

double sweep_iteration(const State& s, const Penalties& pen, MatRef z) {
  const int n_layers = s.dims().depth;
  step_weights(s, n_layers, pen);
  for (int i = n_layers - 1; i >= 1; --i) {
    step_activations(s, i, pen);
    step_preactivations(s, i, pen, z);
    step_weights(s, i, pen);
  }
  for (int i = 1; i < n_layers; ++i) {  // layer terms with the final W_i (the U step's Z is stale)
    affine(s.W(i), s.V(i - 1), z);
    s.partial()[i] = layer_terms(s, i, pen, z);
  }
  return finish_iteration(s, pen);
}

Model model_of(const State& s, Activation act, const Dataset& ds) {
  Model m;
  m.activation = act;
  for (int i = 1; i <= s.dims().depth; ++i) m.w.emplace_back(s.W(i));
  m.x_scaler = ds.x_scaler;
  m.y_scaler = ds.y_scaler;
  return m;
}

double mse(const Model& m, const Mat& x_std, const Mat& y_raw) {
  if (x_std.cols() == 0) return 0;
  const Mat pred = m.y_scaler.invert(m.forward(x_std));
  return (pred - y_raw).squaredNorm() / static_cast<double>(y_raw.size());
}

namespace {

[[noreturn]] void interrupted(int sig, int iter, const char* where) {
  throw Error(sig == 2 ? ExitCode::kSigInt : ExitCode::kSigTerm,
              std::string("interrupted by ") + (sig == 2 ? "SIGINT" : "SIGTERM"),
              std::string(where) + " of iteration " + std::to_string(iter), "outputs so far are in the run folder");
}

}  // namespace

TrainResult train(const Settings& st, const Dataset& ds, const IterationCallback& on_iteration) {
  const Penalties pen = Penalties::from(st);
  const Activation act = st.activation_kind();
  Dims dims;
  dims.depth = st.depth;
  dims.d0 = static_cast<int>(ds.x_train.rows());
  dims.width = st.width;
  dims.outputs = static_cast<int>(ds.y_train.rows());
  dims.samples = ds.x_train.cols();
  const int workers = st.resolved_workers();

  StateBuffer buffer(dims, workers > 0 ? control_bytes(workers) : 0);
  const State s = buffer.state();
  s.X() = ds.x_train;
  s.Y() = ds.y_scaler.apply(ds.y_train);
  initialise_state(s, act, st.seed);

  std::unique_ptr<Transport> transport;
  const bool phased = st.schedule_kind() == Schedule::kPhase;
  if (phased && workers > 0)
    transport = make_fork_transport(s, buffer.control(), partition_layers(dims, workers), pen, st.phase_timeout,
                                    FaultPlan::from_env());
  else
    transport = make_in_process_transport(s, pen, FaultPlan::from_env());

  TrainResult res;
  res.workers = workers;
  res.state_bytes = buffer.layout().bytes();
  const double y_var = ds.y_scaler.scale(0) * ds.y_scaler.scale(0);
  const double n = static_cast<double>(dims.samples * dims.outputs);
  Mat z(dims.width, dims.samples);
  const double t_start = now_seconds();
  res.termination = "iterations";
  for (int k = 1; k <= st.iterations; ++k) {
    IterationRecord rec;
    rec.iter = k;
    const double t0 = now_seconds();
    if (phased) {
      for (int p = 0; p < kPhaseCount; ++p) {
        const double tp = now_seconds();
        transport->run_phase(static_cast<Phase>(p), k);
        rec.phase_s[p] = now_seconds() - tp;
        if (const int sig = stop_signal()) interrupted(sig, k, "after phase");
      }
      rec.lagrangian = finish_iteration(s, pen);
    } else {
      rec.lagrangian = sweep_iteration(s, pen, z);
      if (const int sig = stop_signal()) interrupted(sig, k, "after the sweep");
    }
    rec.admm_s = now_seconds() - t0;
    rec.constraint_residual = (s.VN() - s.ZN()).norm();
    rec.relaxed_mse = (s.VN() - s.Y()).squaredNorm() / n * y_var;
    if (!std::isfinite(rec.lagrangian) || !std::isfinite(rec.constraint_residual))
      throw Error(ExitCode::kDiverged, "non-finite augmented Lagrangian (" + format_double(rec.lagrangian) + ")",
                  "iteration " + std::to_string(k), "lower --beta or raise --gamma / --rho / --alpha");
    const bool eval = (st.eval_every > 0 && k % st.eval_every == 0) || k == st.iterations;
    if (eval) {
      const Model m = model_of(s, act, ds);
      rec.train_mse = mse(m, ds.x_train, ds.y_train);
      rec.test_mse = mse(m, ds.x_test, ds.y_test);
    }
    rec.elapsed_s = now_seconds() - t_start;
    res.history.push_back(rec);
    res.iterations = k;
    if (on_iteration) on_iteration(rec);
  }
  transport->stop();
  res.worker_stats = transport->stats();

  res.model = model_of(s, act, ds);
  res.admm_train_mse = mse(res.model, ds.x_train, ds.y_train);
  res.admm_test_mse = mse(res.model, ds.x_test, ds.y_test);
  if (st.refit_head) {
    const Mat features = res.model.hidden_features(ds.x_train);
    res.model.w.back() = ridge_head(s.Y(), features, std::max(st.lambda, 1e-8));
  }
  res.train_mse = mse(res.model, ds.x_train, ds.y_train);
  res.test_mse = mse(res.model, ds.x_test, ds.y_test);
  if (!res.history.empty()) {
    res.lagrangian = res.history.back().lagrangian;
    res.constraint_residual = res.history.back().constraint_residual;
    res.relaxed_mse = res.history.back().relaxed_mse;
  }
  res.elapsed_s = now_seconds() - t_start;
  return res;
}

}  // namespace radmm
