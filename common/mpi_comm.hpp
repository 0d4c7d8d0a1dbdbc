// A small RAII layer over the MPI C API (Open MPI): the session (MPI_Init_thread ... MPI_Finalize
// or MPI_Abort) and batches of non-blocking point-to-point transfers whose wait has a deadline:
// MPI's blocking calls have none, so every wait here is MPI_Testall polled in short slices.
// Built only with RADMM_MPI. Never used for reductions: the iterates' sums stay in radmm's order.
#pragma once
// The C API only: Open MPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace radmm::mpi {

/// Tags of the transport's messages (one communicator, MPI_COMM_WORLD).
enum Tag : int { kTagSetup = 1, kTagCommand = 2, kTagBlock = 3, kTagReport = 4 };

/// MPI_Init_thread (MPI_THREAD_FUNNELED) on construction, MPI_Finalize on destruction unless
/// abort() ran. One per process; world() returns it while it lives.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job; mpirun exits with `code`.
  [[noreturn]] void abort(int code);
  /// Rank 0 sent the worker ranks their setup (the MPI transport started).
  bool workers_engaged = false;

 private:
  int rank_ = 0, size_ = 1;
};

/// The live session, or nullptr (not launched with --transport mpi).
Session* world();

/// Seconds mpirun waits between its SIGTERM to every rank and the SIGKILL when it ends a job
/// (a rank died, or mpirun got SIGINT / SIGTERM): Open MPI's odls_base_sigkill_timeout, which
/// mpirun passes to the ranks as OMPI_MCA_odls_base_sigkill_timeout (default 1).
double mpirun_kill_grace_s();

/// Outstanding non-blocking transfers. Messages larger than 1 GiB go as several messages with
/// the same tag (MPI counts are int; same-tag messages between two ranks arrive in order).
class Batch {
 public:
  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch();  ///< cancels what is still pending (only after a failure)
  void send(const void* data, std::size_t bytes, int dest, int tag);
  void recv(void* data, std::size_t bytes, int source, int tag);
  /// Polls until every transfer completed (true) or `deadline` (now_seconds()) passed (false).
  /// `between` runs between slices and may throw (a stop signal, a report with an error).
  bool wait_until(double deadline, const std::function<void()>& between = {});
  /// True once request `i` (in the order of send / recv calls, chunks counted) completed.
  bool done(std::size_t i) const { return requests_[i] == MPI_REQUEST_NULL; }
  std::size_t size() const { return requests_.size(); }

 private:
  std::vector<MPI_Request> requests_;
};

}  // namespace radmm::mpi
