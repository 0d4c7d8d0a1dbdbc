// The training loop (see trainer.hpp).
#include "coordinator/trainer.hpp"

#include <signal.h>

#include <cmath>
#include <cstring>

#include "common/error.hpp"
#include "common/grid.hpp"
#include "common/io.hpp"
#include "common/reduction.hpp"
#include "common/rng.hpp"
#include "coordinator/resume_book.hpp"
#include "coordinator/signals.hpp"
#include "worker/protocol.hpp"
#ifdef RADMM_MPI
#include "coordinator/mpi_transport.hpp"
#endif

namespace radmm {

template <class T>
void initialise_state(const StateT<T>& s, Activation act, std::uint64_t seed, bool scale_branches, Loss loss) {
  const Dims& d = s.dims();
  Rng rng(seed);
  const double branch = scale_branches ? 1.0 / std::sqrt(static_cast<double>(d.depth)) : 1.0;
  for (int i = 1; i <= d.depth; ++i) {
    auto w = s.W(i);
    const auto fan_in = static_cast<double>(w.cols() - 1);
    const double gain = i == d.depth ? 1.0 : (act == Activation::kRelu ? 2.0 : 1.0);
    const double scale = std::sqrt(gain / fan_in) * (i >= 2 && i < d.depth ? branch : 1.0);
    for (Eigen::Index c = 0; c + 1 < w.cols(); ++c)
      for (Eigen::Index r = 0; r < w.rows(); ++r) w(r, c) = T(scale * rng.normal());
    w.col(w.cols() - 1).setZero();
  }
  project_to_forward(s, act, true, loss);
}

template <class T>
void project_to_forward(const StateT<T>& s, Activation act, bool dual, Loss loss) {
  const int n_layers = s.dims().depth;
  for (int i = 1; i < n_layers; ++i) {
    affine<T>(s.W(i), s.V(i - 1), s.U(i));
    activate<T>(act, s.U(i), s.V(i));
    if (i >= 2) s.V(i) += s.V(i - 1);
  }
  affine<T>(s.W(n_layers), s.V(n_layers - 1), s.VN());
  if (!dual) s.Lambda().setZero();
  else if (loss == Loss::kSoftmax) s.Lambda() = s.Y() - softmax_columns(s.VN().template cast<double>()).template cast<T>();
  else s.Lambda() = s.Y() - s.VN();
}

template <class T>
double lagrangian_of(const StateT<T>& s, const Penalties& pen, MatRefT<T> z) {
  const int n_layers = s.dims().depth;
  double total = 0;
  for (int i = 1; i < n_layers; ++i) {
    affine<T>(s.W(i), s.V(i - 1), z);
    total += layer_terms(s, i, pen, z);
  }
  affine<T>(s.W(n_layers), s.V(n_layers - 1), s.ZN());
  return total + head_objective<T>(s.VN(), s.Y(), s.Lambda(), s.ZN(), s.W(n_layers), pen);
}

template <class T>
double finish_iteration(const StateT<T>& s, const Penalties& pen) {
  const int n_layers = s.dims().depth;
  affine<T>(s.W(n_layers), s.V(n_layers - 1), s.ZN());
  update_output<T>(s.VN(), s.Y(), s.Lambda(), s.ZN(), pen);
  if (pen.dual) update_multiplier<T>(s.Lambda(), s.VN(), s.ZN(), pen);
  double total = 0;
  for (int i = 1; i < n_layers; ++i) total += s.partial()[i];
  s.partial()[n_layers] = head_objective<T>(s.VN(), s.Y(), s.Lambda(), s.ZN(), s.W(n_layers), pen);
  return total + s.partial()[n_layers];
}

template <class T>
double sweep_iteration(const StateT<T>& s, const Penalties& pen, MatRefT<T> z, int inner_passes) {
  const int n_layers = s.dims().depth;
  step_weights(s, n_layers, pen);
  // Earlier backward passes keep W fixed: they carry the output's signal further down first.
  for (int r = 1; r <= inner_passes; ++r)
    for (int i = n_layers - 1; i >= 1; --i) {
      step_activations(s, i, pen, z);
      step_preactivations(s, i, pen, z);
      if (r == inner_passes) step_weights(s, i, pen);
    }
  for (int i = 1; i < n_layers; ++i) {  // layer terms with the final W_i (the U step's Z is stale)
    affine<T>(s.W(i), s.V(i - 1), z);
    s.partial()[i] = layer_terms(s, i, pen, z);
  }
  return finish_iteration(s, pen);
}

namespace {

/// Calls f on every block of x = (W, U, V, V_N, Lambda).
template <class T, class F>
void for_each_block(const StateT<T>& s, F&& f) {
  const int n_layers = s.dims().depth;
  for (int i = 1; i <= n_layers; ++i) f(s.W(i));
  for (int i = 1; i < n_layers; ++i) f(s.U(i)), f(s.V(i));
  f(s.VN());
  f(s.Lambda());
}

/// x^k for the step norms of the diagnostics: a private copy of every block.
template <class T>
class Snapshot {
 public:
  void take(const StateT<T>& s) {
    blocks_.clear();
    for_each_block(s, [&](const auto& b) { blocks_.emplace_back(b); });
  }
  /// x^k as raw bytes (a checkpoint inside an iteration), and back.
  std::string bytes() const {
    std::string out;
    for (const auto& b : blocks_) out.append(reinterpret_cast<const char*>(b.data()), sizeof(T) * std::size_t(b.size()));
    return out;
  }
  bool load(const StateT<T>& s, const std::string& bytes) {
    take(s);  // the shapes
    std::size_t off = 0;
    for (auto& b : blocks_) {
      const std::size_t n = sizeof(T) * std::size_t(b.size());
      if (off + n > bytes.size()) return false;
      std::memcpy(b.data(), bytes.data() + off, n);
      off += n;
    }
    return off == bytes.size();
  }
  /// Returns sum ||x - x^k||^2 and makes x the new x^k.
  double advance(const StateT<T>& s) {
    double sum = 0;
    std::size_t j = 0;
    for_each_block(s, [&](const auto& b) {
      sum += double((b - blocks_[j]).squaredNorm());
      blocks_[j++] = b;
    });
    return sum;
  }

 private:
  std::vector<MatT<T>> blocks_;
};

}  // namespace

template <class T>
Model model_of(const StateT<T>& s, Activation act, const Dataset& ds) {
  Model m;
  m.activation = act;
  for (int i = 1; i <= s.dims().depth; ++i) m.w.emplace_back(s.W(i).template cast<double>());
  m.x_scaler = ds.x_scaler;
  m.y_scaler = ds.y_scaler;
  return m;
}

Dims dims_of(const Settings& s, const Dataset& ds) {
  Dims d;
  d.depth = s.depth;
  d.d0 = static_cast<int>(ds.x_train.rows());
  d.width = s.width;
  d.outputs = static_cast<int>(ds.y_train.rows());
  d.samples = ds.x_train.cols();
  return d;
}

double handshake_spin_s(const Settings& s, int workers) {
  // Polling pays only where nobody waits for the core: with more processes than cores a
  // spinning process delays the one it waits for.
  return workers + 1 <= online_cores() ? s.spin_us * 1e-6 : 0.0;
}

void refit_head(const Settings& st, const Dataset& ds, const Mat& features, Model& m) {
  if (loss_kind(st.loss) == Loss::kSoftmax)  // the head's own convex problem: cross-entropy + ridge, from W_N
    m.w.back() = fit_softmax_head(m.w.back(), ds.y_train, features, std::max(st.lambda, 1e-8));
  else
    m.w.back() = ridge_head(ds.y_scaler.apply(ds.y_train), features, std::max(st.lambda, 1e-8));
}

void finish_model(const Settings& st, const Dataset& ds, const ModelSelection& sel, TrainResult& res) {
  const Loss loss = loss_kind(st.loss);
  res.model.loss = loss;
  if (st.early_stop && sel.best_iteration > 0) {
    res.model.w = sel.best_w;
    res.selected_iteration = sel.best_iteration;
  }
  res.admm_train_mse = mse(res.model, ds.x_train, ds.y_train);
  res.admm_test_mse = mse(res.model, ds.x_test, ds.y_test);
  if (ds.classes > 0) {
    res.admm_train_accuracy = class_score(res.model.forward(ds.x_train), ds.y_train, ds.labels_train, loss).accuracy;
    res.admm_test_accuracy = class_score(res.model.forward(ds.x_test), ds.y_test, ds.labels_test, loss).accuracy;
  }
  if (st.refit_head) refit_head(st, ds, res.model.hidden_features(ds.x_train), res.model);
  res.train_mse = mse(res.model, ds.x_train, ds.y_train);
  res.val_mse = mse(res.model, ds.x_val, ds.y_val);
  res.test_mse = mse(res.model, ds.x_test, ds.y_test);
  if (ds.classes > 0) {
    const ClassScore tr = class_score(res.model.forward(ds.x_train), ds.y_train, ds.labels_train, loss);
    const Mat out_test = res.model.forward(ds.x_test);
    const ClassScore te = class_score(out_test, ds.y_test, ds.labels_test, loss);
    res.train_accuracy = tr.accuracy, res.train_loss = tr.loss;
    res.test_accuracy = te.accuracy, res.test_loss = te.loss;
    if (ds.x_val.cols() > 0) {
      const ClassScore va = class_score(res.model.forward(ds.x_val), ds.y_val, ds.labels_val, loss);
      res.val_accuracy = va.accuracy, res.val_loss = va.loss;
    }
    res.confusion = confusion_matrix(argmax_columns(out_test), ds.labels_test, ds.classes);
  }
}

ClassScore class_score(const Mat& out, const Mat& y_onehot, const std::vector<int>& labels, Loss loss) {
  ClassScore c;
  if (out.cols() == 0) return c;
  c.accuracy = accuracy(argmax_columns(out), labels);
  c.loss = output_loss<double>(out, y_onehot, loss) / static_cast<double>(out.cols());
  return c;
}

bool evaluate(const Settings& st, const Dataset& ds, Model m, const Mat& features, IterationRecord& rec,
              ModelSelection& sel) {
  if (st.refit_head) refit_head(st, ds, features, m);  // the model radmm would report if it stopped here
  Mat out(m.w.back().rows(), features.cols());
  affine(m.w.back(), features, out);
  rec.train_mse = (m.y_scaler.invert(out) - ds.y_train).squaredNorm() / static_cast<double>(ds.y_train.size());
  const Loss loss = loss_kind(st.loss);
  if (ds.classes > 0) {
    const ClassScore tr = class_score(out, ds.y_train, ds.labels_train, loss);
    rec.train_accuracy = tr.accuracy, rec.train_loss = tr.loss;
  }
  if (ds.x_val.cols() == 0) return false;
  rec.val_mse = mse(m, ds.x_val, ds.y_val);
  if (ds.classes > 0) {
    const ClassScore va = class_score(m.forward(ds.x_val), ds.y_val, ds.labels_val, loss);
    rec.val_accuracy = va.accuracy, rec.val_loss = va.loss;
  }
  // Classification selects on the validation loss (cross-entropy for softmax, whose logits
  // are not fitted to the one-hot targets; for onehot it is K times the MSE).
  return st.early_stop && sel.offer(rec.iter, ds.classes > 0 ? rec.val_loss : rec.val_mse, m.w);
}

double mse(const Model& m, const Mat& x_std, const Mat& y_raw) {
  if (x_std.cols() == 0) return 0;
  const Mat pred = m.y_scaler.invert(m.forward(x_std));
  return (pred - y_raw).squaredNorm() / static_cast<double>(y_raw.size());
}

namespace {

template <class T>
TrainResult train_impl(const Settings& st, const Dataset& ds, const TrainHooks& hooks, const Checkpoint* resume) {
  const Penalties pen = Penalties::from(st);
  const Activation act = st.activation_kind();
  const Dims dims = dims_of(st, ds);
  const Grid grid = resolve_grid(st, dims);  // R layer regions x S sample shards (common/grid.hpp)
  const int workers = st.resolved_workers() > 0 ? grid.workers() : 0;

  StateBuffer buffer(dims, workers > 0 ? control_bytes(workers) : 0, sizeof(T));
  const StateT<T> s = buffer.state<T>();
  int first_iteration = 1, first_phase = 0;
  double elapsed_before = 0;
  ModelSelection selection;
  if (resume) {
    const Dims& r = resume->dims;
    if (r.depth != dims.depth || r.d0 != dims.d0 || r.width != dims.width || r.outputs != dims.outputs ||
        r.samples != dims.samples || resume->state.size() != buffer.layout().bytes())
      throw Error(ExitCode::kDataErr, "the checkpoint's dimensions do not match this run's data and settings",
                  "--resume", "resume with the data and settings of the original run");
    std::memcpy(s.base(), resume->state.data(), buffer.layout().bytes());
    first_iteration = static_cast<int>(resume->iteration) + 1;
    first_phase = resume->next_phase;
    elapsed_before = resume->elapsed_s;
    selection = resume->selection;
  } else {
    s.X() = ds.x_train.cast<T>();
    s.Y() = ds.y_scaler.apply(ds.y_train).cast<T>();
    initialise_state(s, act, st.seed, st.scaled_init(), pen.loss);
    if (!pen.dual) s.Lambda().setZero();  // BCD: the penalty-only member of the family
  }

  selection.patience = st.patience;
  const bool phased = st.schedule_kind() == Schedule::kPhase;
  const ColumnChunks chunks{dims.samples, st.chunk_columns};
  std::unique_ptr<ReductionArea> area;  // the chunk partials shared by the shards of a region
  if (phased && workers > 0 && grid.shards > 1) area = std::make_unique<ReductionArea>(dims, chunks, sizeof(T));
  const std::unique_ptr<LayerKernel> kernel = make_layer_kernel<T>(s, pen, area.get());
  std::unique_ptr<Transport> transport;
#ifdef RADMM_MPI
  if (phased && workers > 0 && st.transport == "mpi")  // layer regions only (validate: S = 1)
    transport = make_mpi_transport(*kernel, s.base(), pen, partition_layers(dims, workers), st.phase_timeout);
  else
#endif
  if (phased && workers > 0)
    transport = make_fork_transport(*kernel, buffer.control(), grid_cells(dims, grid, chunks), st.phase_timeout,
                                    FaultPlan::from_env(), handshake_spin_s(st, grid.workers()));
  else
    transport = make_in_process_transport(*kernel, FaultPlan::from_env());

  TrainResult res;
  res.workers = workers;
  res.grid = workers > 0 ? grid.text() : "";
  res.reduction_bytes = area ? ReductionArea::bytes(dims, chunks, sizeof(T)) : 0;
  res.state_bytes = buffer.layout().bytes();
  const double y_var = ds.y_scaler.scale(0) * ds.y_scaler.scale(0);
  const double n = static_cast<double>(dims.samples * dims.outputs);
  MatT<T> z(dims.width, dims.samples);
  const double t_start = now_seconds();
  std::string last_checkpoint;
  // Diagnostics: x^k and L_beta at the start of each iteration (after a re-projection, if any).
  Snapshot<T> snapshot;
  std::vector<StepRecord> steps;
  double l_start = 0;
  bool iteration_restarted = false;  // the current iteration began with a re-projection

  auto checkpoint = [&](int done_iterations, int next_phase) {
    if (!hooks.save_checkpoint) return;
    Checkpoint c;
    c.iteration = done_iterations;
    c.next_phase = next_phase;
    c.elapsed_s = elapsed_before + now_seconds() - t_start;
    c.fingerprint = ds.fingerprint;
    c.settings_ini = settings_to_ini(st);
    c.dims = dims;
    c.scalar_bytes = sizeof(T);
    c.state.assign(reinterpret_cast<const char*>(s.base()), buffer.layout().bytes());
    c.selection = selection;
    ResumeBook book{res.diagnostics.violations, res.diagnostics.restarts, l_start, next_phase && iteration_restarted,
                    steps, st.diagnostics && next_phase ? snapshot.bytes() : std::string()};
    c.resume_extra = encode_resume_book(book);
    last_checkpoint = hooks.save_checkpoint(c);
  };
  // Stop at a phase boundary: checkpoint the exact position, then report the signal.
  auto poll_signal = [&](int done_iterations, int next_phase) {
    const int sig = stop_signal();
    if (!sig) return;
    transport->stop();
    checkpoint(done_iterations, next_phase);
    throw stop_error(sig,
                     "after " + std::to_string(done_iterations) + " iterations" +
                         (next_phase ? " and " + std::to_string(next_phase) + " phases" : "") +
                         (last_checkpoint.empty() ? "" : ", checkpoint " + last_checkpoint),
                     last_checkpoint.empty() ? "" : "continue with radmm train --resume <run folder>");
  };
  auto diverged = [&](const std::string& what, const std::string& where) {
    throw Error(ExitCode::kDiverged, what, where,
                (last_checkpoint.empty() ? std::string("no checkpoint was written")
                                         : "last finite checkpoint " + last_checkpoint) +
                    "; lower --beta or raise --alpha / --lambda");
  };

  bool split_measured = false;  // a resumed split iteration whose x^k came with the checkpoint
  if (st.diagnostics) {
    snapshot.take(s);
    l_start = lagrangian_of(s, pen, z);
  }
  if (resume && !resume->resume_extra.empty()) {  // continue the diagnostics exactly
    const ResumeBook book = decode_resume_book(resume->resume_extra, "--resume");
    res.diagnostics.violations = book.violations;
    res.diagnostics.restarts = book.restarts;
    steps = book.steps;
    iteration_restarted = book.restart;
    if (st.diagnostics) l_start = book.l_start;
    if (st.diagnostics && first_phase > 0 && !book.snapshot.empty()) {
      if (!snapshot.load(s, book.snapshot))
        throw Error(ExitCode::kDataErr, "the checkpoint's diagnostics copy does not match the state", "--resume",
                    "resume with the settings of the original run");
      split_measured = true;
    }
  }
  auto warn = [&](const std::string& text) {
    if (hooks.warn) hooks.warn(text);
  };

  const int positions = 1 + (kPhaseCount - 1) * st.inner_passes;
  if (first_phase >= positions)
    throw Error(ExitCode::kDataErr,
                "the checkpoint stopped at phase position " + std::to_string(first_phase) + " of an iteration with " +
                    std::to_string(positions) + " positions",
                "--resume", "resume with the --inner-passes of the original run");
  res.termination = "iterations";
  for (int k = first_iteration; k <= st.iterations; ++k) {
    IterationRecord rec;
    rec.iter = k;
    const int phase0 = k == first_iteration ? first_phase : 0;
    const double t0 = now_seconds();
    if (phase0 > 0) rec.restart = iteration_restarted;  // a resume inside the iteration
    else iteration_restarted = false;
    if (phase0 == 0 && st.reproject_every > 0 && k > 1 && (k - 1) % st.reproject_every == 0) {
      // Workers are idle between iterations: the coordinator rewrites the auxiliaries in place.
      project_to_forward(s, act, pen.dual, pen.loss);
#ifdef RADMM_MPI
      mpi_transport_resync(*transport);  // worker ranks hold private copies of the rewritten blocks
#endif
      rec.restart = iteration_restarted = true;
      ++res.diagnostics.restarts;
      if (st.diagnostics) {
        snapshot.take(s);
        // Every penalty term is 0 after the projection and V_N = W_N V~_{N-1}: no layer terms to sum.
        l_start = output_loss<T>(s.VN(), s.Y(), pen.loss);
        for (int i = 1; i <= dims.depth; ++i) l_start += 0.5 * pen.lambda * double(s.W(i).squaredNorm());
      }
    }
    if (phased) {
      // Position q of the iteration: W, then inner_passes times (V-even, V-odd, U).
      for (int q = phase0; q < positions; ++q) {
        const int p = q == 0 ? 0 : 1 + (q - 1) % (kPhaseCount - 1);
        if (q > 0) poll_signal(k - 1, q);
        const double tp = now_seconds();
        const PhaseReport rep = transport->run_phase(static_cast<Phase>(p), k);
        const double spent = now_seconds() - tp;
        rec.phase_s[p] += spent;
        rec.phase_overhead_s[p] += spent - rep.slowest_compute_s;
        const NonFinite bad = rep.bad;
        if (bad)
          diverged(std::string("non-finite value in ") + bad.block + "_" + std::to_string(bad.layer) + " (layer " +
                       std::to_string(bad.layer) + ")",
                   std::string("phase ") + phase_name(static_cast<Phase>(p)) + " of iteration " + std::to_string(k));
      }
      rec.lagrangian = finish_iteration(s, pen);
    } else {
      rec.lagrangian = sweep_iteration(s, pen, z, st.inner_passes);
      const Region all{1, dims.hidden(), 0};
      for (int p = 0; p < kPhaseCount; ++p)
        if (const NonFinite bad = check_phase(static_cast<Phase>(p), all, s))
          diverged(std::string("non-finite value in ") + bad.block + "_" + std::to_string(bad.layer) + " (layer " +
                       std::to_string(bad.layer) + ")",
                   "sweep of iteration " + std::to_string(k));
    }
    rec.admm_s = now_seconds() - t0;
    rec.constraint_residual = (s.VN() - s.ZN()).norm();
    rec.relaxed_mse = (s.VN() - s.Y()).squaredNorm() / n * y_var;
    if (!std::isfinite(rec.lagrangian) || !std::isfinite(rec.constraint_residual))
      diverged("non-finite augmented Lagrangian (" + format_double(rec.lagrangian) + ")",
               "output update of iteration " + std::to_string(k));
    if (st.diagnostics) {
      if (phase0 == 0 || split_measured) {
        rec.step_sq = snapshot.advance(s);
        rec.decrease = l_start - rec.lagrangian;
        steps.push_back({k, l_start, rec.lagrangian, rec.step_sq, rec.restart});
        if (raised(steps.back(), kRoundoff<T>)) {
          if (++res.diagnostics.violations <= 3)
            warn("L_beta rose by " + format_double(-rec.decrease) + " in iteration " + std::to_string(k) +
                 " (beta > 1 and every block step's decrease test say it cannot; please report it)");
        }
      } else {
        snapshot.take(s);
      }
      l_start = rec.lagrangian;
    }
    const bool eval = (st.eval_every > 0 && k % st.eval_every == 0) || k == st.iterations;
    bool stop = false;
    if (eval) {
      const Model m = model_of(s, act, ds);
      const Mat features = m.hidden_features(ds.x_train);  // one forward pass for every figure
      stop = evaluate(st, ds, m, features, rec, selection);
      if (st.diagnostics) {
        Mat out(m.w.back().rows(), features.cols());
        affine(m.w.back(), features, out);  // the network as ADMM left it, before any refit
        rec.relaxation_gap = (s.VN().template cast<double>() - out).squaredNorm() / n * y_var;
      }
    }
    rec.elapsed_s = elapsed_before + now_seconds() - t_start;
    res.history.push_back(rec);
    res.iterations = k;
    if (hooks.on_iteration) hooks.on_iteration(rec);
    if (st.checkpoint_every > 0 && k % st.checkpoint_every == 0) checkpoint(k, 0);
    if (stop) {
      res.termination = "early_stop";
      break;
    }
    if (k < st.iterations) poll_signal(k, 0);
  }
  res.iterations = std::max(res.iterations, first_iteration - 1);
  if (res.diagnostics.violations > 3) warn(std::to_string(res.diagnostics.violations) + " iterations raised L_beta in all");
  res.diagnostics.decrease_constants = sufficient_decrease_constants(steps);
  res.diagnostics.rate = fit_rate(steps);
  transport->stop();
  res.worker_stats = transport->stats();

  res.model = model_of(s, act, ds);
  finish_model(st, ds, selection, res);
  if (!res.history.empty()) {
    res.lagrangian = res.history.back().lagrangian;
    res.constraint_residual = res.history.back().constraint_residual;
    res.relaxed_mse = res.history.back().relaxed_mse;
  }
  res.elapsed_s = elapsed_before + now_seconds() - t_start;
  return res;
}

}  // namespace

TrainResult train(const Settings& st, const Dataset& ds, const TrainHooks& hooks, const Checkpoint* resume) {
  if (st.backprop()) return train_backprop(st, ds, hooks);
  if (st.precision == "float") return train_impl<float>(st, ds, hooks, resume);
  return train_impl<double>(st, ds, hooks, resume);
}

#define RADMM_INSTANTIATE(T)                                                             \
  template void initialise_state<T>(const StateT<T>&, Activation, std::uint64_t, bool, Loss); \
  template void project_to_forward<T>(const StateT<T>&, Activation, bool, Loss);         \
  template double lagrangian_of<T>(const StateT<T>&, const Penalties&, MatRefT<T>);      \
  template double finish_iteration<T>(const StateT<T>&, const Penalties&);               \
  template double sweep_iteration<T>(const StateT<T>&, const Penalties&, MatRefT<T>, int);    \
  template Model model_of<T>(const StateT<T>&, Activation, const Dataset&);
RADMM_INSTANTIATE(float)
RADMM_INSTANTIATE(double)
#undef RADMM_INSTANTIATE

}  // namespace radmm
