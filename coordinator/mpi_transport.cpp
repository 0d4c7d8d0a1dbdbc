// Rank 0 of the MPI transport (see mpi_transport.hpp). Per phase: post every send (command, then
// the blocks each rank reads but does not own) and every receive (report, then the blocks the
// rank wrote, straight into rank 0's state), then wait for all of them with the phase deadline.
// Layer terms come back as data and are summed by the training loop in layer order: no MPI
// reduction ever touches an iterate.
#include "coordinator/mpi_transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "common/io.hpp"
#include "common/mpi_comm.hpp"
#include "coordinator/signals.hpp"
#include "coordinator/watchdog.hpp"
#include "worker/mpi_protocol.hpp"

namespace radmm {

namespace {

/// After a stop signal mpirun is ending the job and SIGKILLs every rank mpirun_kill_grace_s()
/// later: a phase that has not finished shortly before that is not going to (a rank died, or the
/// phase is longer than mpirun waits), and the run reports so while it still can.
double stop_grace_s() { return std::max(0.3, mpi::mpirun_kill_grace_s() - 0.5); }

std::string layers_of(const Region& r) {
  return r.first == r.last ? "layer " + std::to_string(r.first)
                           : "layers " + std::to_string(r.first) + "-" + std::to_string(r.last);
}

class MpiTransport final : public Transport {
 public:
  MpiTransport(const LayerKernel& kernel, char* base, const Penalties& pen, const std::vector<Region>& regions,
               double timeout)
      : layout_(kernel.layout()), base_(base), pen_(pen), regions_(regions), timeout_(timeout),
        reports_(regions.size()), stats_(regions.size()) {
    if (!mpi::world() || mpi::world()->size() != workers() + 1)
      throw Error(ExitCode::kUsage, "--transport mpi runs only as radmm train under mpirun -np K (K - 1 workers)",
                  "--transport", "launch radmm train with mpirun, or use --transport fork");
    setups_.resize(regions.size());
    mpi::Batch b;
    for (int w = 0; w < workers(); ++w) {
      MpiSetup& s = setups_[w];
      s.scalar_bytes = static_cast<std::int32_t>(layout_.scalar_bytes);
      s.dims = layout_.dims;
      s.pen = pen_;
      s.region = regions_[w];
      s.phase_timeout_s = timeout_;
      b.send(&s, sizeof s, w + 1, mpi::kTagSetup);
      stats_[w].rank = w + 1;
      stats_[w].region = regions_[w];
      stats_[w].region_bytes = layout_.region_bytes(regions_[w].first, regions_[w].last);
    }
    if (!b.wait_until(now_seconds() + std::min(timeout_, 30.0)))
      fail(ExitCode::kOsErr, "worker ranks did not take their setup", "MPI start-up", "check the MPI launch and the hosts");
    mpi::world()->workers_engaged = true;
    resync_ = true;
  }

  int workers() const override { return static_cast<int>(regions_.size()); }
  std::vector<WorkerStats> stats() const override { return stats_; }
  void resync() { resync_ = true; }

  PhaseReport run_phase(Phase ph, std::int64_t iter) override {
    if (resync_) {
      exchange(MpiCommandType::kSync, ph, iter);
      resync_ = false;
    }
    exchange(MpiCommandType::kPhase, ph, iter);
    PhaseReport rep;
    for (int w = 0; w < workers(); ++w) {  // regions are in layer order: the first bad block wins
      const MpiReport& r = reports_[w];
      if (r.bad_layer && !rep.bad) rep.bad = NonFinite{r.bad_layer, r.bad_block};
      rep.slowest_compute_s = std::max(rep.slowest_compute_s, r.compute_s);
      stats_[w].pid = r.pid;
    }
    return rep;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    std::vector<MpiCommand> cmd(regions_.size());
    mpi::Batch b;
    for (int w = 0; w < workers(); ++w) {
      cmd[w].type = MpiCommandType::kStop;
      b.send(&cmd[w], sizeof cmd[w], w + 1, mpi::kTagCommand);
      b.recv(&reports_[w], sizeof reports_[w], w + 1, mpi::kTagReport);
    }
    // The totals are only accounting. After a stop signal mpirun SIGKILLs every rank soon, and
    // the checkpoint that follows this call needs only rank 0's state: do not wait for a dead rank.
    if (!b.wait_until(now_seconds() + (stop_signal() ? 0.2 : 5.0))) return;
    for (int w = 0; w < workers(); ++w) {
      const MpiReport& r = reports_[w];
      for (int k = 0; k < kPhaseCount; ++k) {
        stats_[w].compute_s[k] = r.compute_total_s[k];
        stats_[w].wait_s[k] = r.wait_total_s[k];
      }
      stats_[w].peak_rss = r.peak_rss;
      stats_[w].pid = r.pid;
    }
  }

 private:
  std::string describe(int w) const {
    return "worker rank " + std::to_string(w + 1) + " (pid " + std::to_string(stats_[w].pid) + ", " +
           layers_of(regions_[w]) + ")";
  }

  /// One round: commands and inbound blocks out, reports and written blocks back.
  void exchange(MpiCommandType type, Phase ph, std::int64_t iter) {
    const bool sync = type == MpiCommandType::kSync;
    std::vector<MpiCommand> cmd(regions_.size());
    std::vector<std::size_t> report_at(regions_.size());
    mpi::Batch b;
    for (int w = 0; w < workers(); ++w) {
      cmd[w].type = type;
      cmd[w].phase = static_cast<std::int32_t>(ph);
      cmd[w].iteration = iter;
      b.send(&cmd[w], sizeof cmd[w], w + 1, mpi::kTagCommand);
      const auto in = sync ? owned_blocks(regions_[w], layout_.dims, pen_) : inbound_blocks(ph, regions_[w], layout_.dims, pen_);
      for (const BlockRef& blk : in) {
        const ByteSpan s = span_of(layout_, blk);
        b.send(base_ + s.offset, s.bytes, w + 1, mpi::kTagBlock);
      }
    }
    if (!sync)
      for (int w = 0; w < workers(); ++w) {
        report_at[w] = b.size();
        b.recv(&reports_[w], sizeof reports_[w], w + 1, mpi::kTagReport);
        for (const BlockRef& blk : outbound_blocks(ph, regions_[w], layout_.dims, pen_)) {
          const ByteSpan s = span_of(layout_, blk);
          b.recv(base_ + s.offset, s.bytes, w + 1, mpi::kTagBlock);
        }
      }
    const std::string where = std::string(sync ? "sending the blocks before phase " : "phase ") + phase_name(ph) +
                              " of iteration " + std::to_string(iter);
    double stop_seen = 0;
    auto between = [&] {
      if (!sync)
        for (int w = 0; w < workers(); ++w)
          if (b.done(report_at[w]) && reports_[w].status != 0) {
            reports_[w].text[sizeof reports_[w].text - 1] = '\0';
            fail(ExitCode::kWorkerFailed, describe(w) + " reported: " + reports_[w].text, where,
                 "all ranks were stopped");
          }
      if (stop_signal() && stop_seen == 0) {
        stop_seen = now_seconds();
        // mpirun may SIGKILL this rank before the phase ends: leave a record now; a checkpoint
        // at the phase boundary (or the failure below) replaces it.
        report_failure(Error(ExitCode::kWorkerFailed, "mpirun is ending the job (" + std::string(::sigabbrev_np(stop_signal()) ? ::sigabbrev_np(stop_signal()) : "?") +
                                 " to rank 0): a rank died, or the job was interrupted before the phase ended", where,
                             "see mpirun's message; resume from the newest checkpoint, if any"));
      }
      if (stop_seen > 0 && now_seconds() - stop_seen > stop_grace_s())
        fail(ExitCode::kWorkerFailed, "a worker rank stopped answering while mpirun was ending the job", where,
             "mpirun ends the whole job when one rank dies (see its message); a longer phase needs mpirun "
             "--mca odls_base_sigkill_timeout S to checkpoint on SIGINT");
    };
    if (!b.wait_until(now_seconds() + timeout_, between)) {
      int late = 0;
      if (!sync)
        while (late + 1 < workers() && b.done(report_at[late])) ++late;
      fail(ExitCode::kDeadline,
           describe(late) + " did not finish within --phase-timeout " + format_double(timeout_) + " s", where,
           "the rank hangs, is stopped, or its host is unreachable; raise --phase-timeout if it is just slow");
    }
  }

  [[noreturn]] void fail(ExitCode code, const std::string& what, const std::string& where, const std::string& hint) {
    stopped_ = true;  // the caller ends the job with MPI_Abort
    if (const int sig = stop_signal(); sig && code != ExitCode::kWorkerFailed) throw stop_error(sig, where, "");
    throw Error(code, what, where, hint);
  }

  const Layout& layout_;
  char* base_;
  Penalties pen_;
  std::vector<Region> regions_;
  double timeout_;
  std::vector<MpiSetup> setups_;
  std::vector<MpiReport> reports_;
  std::vector<WorkerStats> stats_;
  bool resync_ = false;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Transport> make_mpi_transport(const LayerKernel& kernel, char* base, const Penalties& pen,
                                              const std::vector<Region>& regions, double phase_timeout_s) {
  return std::make_unique<MpiTransport>(kernel, base, pen, regions, phase_timeout_s);
}

void mpi_transport_resync(Transport& t) {
  if (auto* m = dynamic_cast<MpiTransport*>(&t)) m->resync();
}

}  // namespace radmm
