// Worker rank of the MPI transport (see mpi_worker.hpp). The state lives in a private anonymous
// mapping with the coordinator's layout, so the kernel computes on identically aligned data (the
// bit-for-bit guarantee); only the pages of the region's blocks and its neighbours' boundary
// blocks are touched (all of them at start, so a shortage shows there), so only those are resident.
#include "worker/mpi_worker.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <new>

#include "common/error.hpp"
#include "common/io.hpp"
#include "worker/fault.hpp"
#include "worker/mpi_protocol.hpp"

namespace radmm {

namespace {

volatile std::sig_atomic_t g_sigterm = 0;
void on_sigterm(int) { g_sigterm = 1; }

/// mpirun turns SIGINT / SIGTERM of the job into SIGTERM to every rank: rank 0 then stops at the
/// next phase boundary and tells the workers to stop, so a worker keeps serving until mpirun's
/// SIGKILL (or a little longer, for a SIGTERM meant for this rank alone).
double sigterm_grace_s() { return std::max(4.0, mpi::mpirun_kill_grace_s() + 1.0); }

/// A private anonymous mapping of the whole layout (page-aligned like rank 0's state); pages
/// nobody touches stay unbacked.
class PrivateState {
 public:
  explicit PrivateState(const Layout& layout) : layout_(layout), bytes_(layout.bytes()) {
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      throw Error(ExitCode::kOsErr, "cannot map " + std::to_string(bytes_ >> 20) + " MiB for the state", "worker rank",
                  "reduce --width, --depth or the data size");
    base_ = static_cast<char*>(p);
  }
  ~PrivateState() { ::munmap(base_, bytes_); }
  PrivateState(const PrivateState&) = delete;
  PrivateState& operator=(const PrivateState&) = delete;
  char* base() const { return base_; }
  const Layout& layout() const { return layout_; }
  /// Writes one byte per page of `blocks`: a shortage of memory fails here, not mid-phase.
  void touch(const std::vector<BlockRef>& blocks) {
    for (const BlockRef& b : blocks) {
      const ByteSpan s = span_of(layout_, b);
      for (std::size_t off = s.offset / 4096 * 4096; off < s.offset + s.bytes; off += 4096) base_[off] = base_[off];
    }
  }

 private:
  Layout layout_;
  std::size_t bytes_;
  char* base_ = nullptr;
};

/// Every block a region's rank ever holds: its own, what any phase brings in, its layer terms.
std::vector<BlockRef> resident_blocks(const Region& r, const Dims& d, const Penalties& pen) {
  std::vector<BlockRef> all = owned_blocks(r, d, pen);
  for (int p = 0; p < kPhaseCount; ++p) {
    const auto in = inbound_blocks(static_cast<Phase>(p), r, d, pen);
    all.insert(all.end(), in.begin(), in.end());
  }
  all.push_back({'P', r.first, r.last - r.first + 1});
  return all;
}

class WorkerRank {
 public:
  explicit WorkerRank(const MpiSetup& setup)
      : setup_(setup),
        state_(Layout::make(setup.dims, static_cast<std::size_t>(setup.scalar_bytes))),
        rank_(mpi::world()->rank()),
        fault_(FaultPlan::from_env()) {
    state_.touch(resident_blocks(setup.region, setup.dims, setup.pen));
    if (setup.scalar_bytes == sizeof(float))
      kernel_ = make_layer_kernel<float>(StateT<float>(state_.layout(), state_.base()), setup.pen);
    else
      kernel_ = make_layer_kernel<double>(StateT<double>(state_.layout(), state_.base()), setup.pen);
    report_.pid = static_cast<std::int32_t>(::getpid());
  }

  int serve() {
    while (true) {
      MpiCommand cmd;
      double t0 = now_seconds();
      {
        mpi::Batch b;
        b.recv(&cmd, sizeof cmd, 0, mpi::kTagCommand);
        b.wait_until(std::numeric_limits<double>::infinity(), [this] { check_sigterm(); });
      }
      if (cmd.type == MpiCommandType::kStop) {
        report_.peak_rss = peak_rss_bytes();
        send_report();
        return 0;
      }
      const bool sync = cmd.type == MpiCommandType::kSync;
      const Phase ph = static_cast<Phase>(cmd.phase);
      const auto in = sync ? owned_blocks(setup_.region, setup_.dims, setup_.pen)
                           : inbound_blocks(ph, setup_.region, setup_.dims, setup_.pen);
      if (!transfer(in, /*receive=*/true)) return deadline_exit("receiving the blocks of", cmd);
      if (sync) continue;
      const int phi = cmd.phase;
      report_.wait_total_s[phi] += now_seconds() - t0;
      report_.status = 0;
      report_.bad_layer = 0;
      report_.bad_block = 0;
      const double tc = now_seconds();
      try {
        bool poison = false;
        if (fault_.matches(rank_ - 1, cmd.iteration, phi)) poison = fault_.fire_before();
        kernel_->run(ph, setup_.region);
        if (poison) kernel_->poison(setup_.region.first);
        const NonFinite bad = kernel_->check(ph, setup_.region);
        report_.bad_layer = bad.layer;
        report_.bad_block = bad.block;
      } catch (const std::bad_alloc&) {
        return report_error("out of memory");
      } catch (const std::exception& e) {
        return report_error(e.what());
      }
      report_.compute_s = now_seconds() - tc;
      report_.compute_total_s[phi] += report_.compute_s;
      send_report();
      if (!transfer(outbound_blocks(ph, setup_.region, setup_.dims, setup_.pen), /*receive=*/false))
        return deadline_exit("sending the blocks of", cmd);
    }
  }

 private:
  /// Receives or sends `blocks` in list order; false when --phase-timeout passed.
  bool transfer(const std::vector<BlockRef>& blocks, bool receive) {
    mpi::Batch b;
    char* base = state_.base();
    for (const BlockRef& blk : blocks) {
      const ByteSpan s = span_of(state_.layout(), blk);
      if (receive) b.recv(base + s.offset, s.bytes, 0, mpi::kTagBlock);
      else b.send(base + s.offset, s.bytes, 0, mpi::kTagBlock);
    }
    return b.wait_until(now_seconds() + setup_.phase_timeout_s, [this] { check_sigterm(); });
  }

  void send_report() {
    mpi::Batch b;
    b.send(&report_, sizeof report_, 0, mpi::kTagReport);
    b.wait_until(now_seconds() + setup_.phase_timeout_s, [this] { check_sigterm(); });
  }

  int report_error(const std::string& what) {
    report_.status = 1;
    std::snprintf(report_.text, sizeof report_.text, "%s", what.c_str());
    send_report();
    return static_cast<int>(ExitCode::kWorkerFailed);  // rank 0 ends the job (MPI_Abort)
  }

  int deadline_exit(const char* what, const MpiCommand& cmd) {
    std::fprintf(stderr, "radmm: error[deadline]: rank %d: rank 0 did not answer within --phase-timeout, %s phase %s of iteration %lld\n",
                 rank_, what, phase_name(static_cast<Phase>(cmd.phase)), static_cast<long long>(cmd.iteration));
    mpi::world()->abort(static_cast<int>(ExitCode::kDeadline));
  }

  /// A SIGTERM meant for this rank alone (no stop from rank 0 within the grace) ends it by SIGTERM.
  void check_sigterm() {
    if (!g_sigterm) return;
    if (sigterm_seen_ == 0) sigterm_seen_ = now_seconds();
    if (now_seconds() - sigterm_seen_ < sigterm_grace_s()) return;
    ::signal(SIGTERM, SIG_DFL);
    ::raise(SIGTERM);
  }

  MpiSetup setup_;
  PrivateState state_;
  int rank_;
  FaultPlan fault_;
  std::unique_ptr<LayerKernel> kernel_;
  MpiReport report_;
  double sigterm_seen_ = 0;
};

}  // namespace

int mpi_worker_main(mpi::Session& session) {
  ::signal(SIGINT, SIG_IGN);  // a terminal's Ctrl-C is mpirun's to handle
  ::signal(SIGTERM, on_sigterm);
  MpiSetup setup;
  {
    mpi::Batch b;
    b.recv(&setup, sizeof setup, 0, mpi::kTagSetup);
    b.wait_until(std::numeric_limits<double>::infinity());
  }
  const MpiSetup expect;
  if (setup.struct_bytes == 0) return 0;  // rank 0 finished without training (--print-config, a finished resume)
  if (std::memcmp(setup.magic, expect.magic, sizeof expect.magic) != 0 || setup.struct_bytes != expect.struct_bytes) {
    std::fprintf(stderr, "radmm: error[os]: rank %d: the setup from rank 0 does not match this binary, MPI start-up, "
                         "run the same radmm build on every host\n", session.rank());
    session.abort(static_cast<int>(ExitCode::kOsErr));
  }
  try {
    WorkerRank w(setup);
    return w.serve();
  } catch (const Error& e) {
    std::fprintf(stderr, "radmm: rank %d: %s\n", session.rank(), e.line().c_str());
    session.abort(static_cast<int>(e.code()));
  }
}

}  // namespace radmm
