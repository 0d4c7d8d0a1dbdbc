// MPI launch of radmm train (see mpi_launch.hpp).
#include "coordinator/mpi_launch.hpp"

#include <cstdio>
#include <new>

#include "common/error.hpp"
#include "common/mpi_comm.hpp"
#include "coordinator/cli.hpp"
#include "common/io.hpp"
#include "worker/mpi_protocol.hpp"
#include "worker/mpi_worker.hpp"

namespace radmm {

void adopt_mpi_world(Settings& s, int asked) {
  const int k = mpi::world()->size();
  if (asked >= 0 && asked != k - 1)
    throw Error(ExitCode::kUsage,
                "--workers " + std::to_string(asked) + " does not match the " + std::to_string(k) + " MPI ranks",
                "--workers", "under mpirun -np K the workers are ranks 1..K-1: leave --workers out or set it to K - 1");
  if (k - 1 > s.depth - 1)
    throw Error(ExitCode::kUsage,
                std::to_string(k) + " MPI ranks make " + std::to_string(k - 1) + " workers but depth " +
                    std::to_string(s.depth) + " has only " + std::to_string(s.depth - 1) + " hidden layers to split",
                "mpirun -np", "use at most depth ranks (one per hidden layer, plus rank 0)");
  s.workers = k - 1;
}

namespace {
[[noreturn]] void end_job(mpi::Session& session, const Error& e) {
  std::fprintf(stderr, "%s\n", e.line().c_str());
  session.abort(static_cast<int>(e.code()));
}

/// An empty setup (struct_bytes 0) tells a worker rank that there is nothing to do.
void release_idle_workers(mpi::Session& session) {
  std::vector<MpiSetup> none(static_cast<std::size_t>(session.size()));
  mpi::Batch b;
  for (int r = 1; r < session.size(); ++r) {
    none[r].struct_bytes = 0;
    b.send(&none[r], sizeof none[r], r, mpi::kTagSetup);
  }
  if (!b.wait_until(now_seconds() + 10.0)) session.abort(static_cast<int>(ExitCode::kOsErr));
}
}  // namespace

int run_train_over_mpi(const std::vector<std::string>& args) {
  mpi::Session session;
  if (session.rank() != 0) return mpi_worker_main(session);
  // Rank 0 is the coordinator. On failure the other ranks wait for commands that will not
  // come: MPI_Abort ends them, and mpirun exits with this rank's code.
  try {
    const int code = run_train(args);
    if (!session.workers_engaged) release_idle_workers(session);  // --print-config, an already finished resume
    return code;
  } catch (const Error& e) {
    if (session.size() == 1) throw;
    end_job(session, e);
  } catch (const std::bad_alloc&) {
    if (session.size() == 1) throw;
    end_job(session, Error(ExitCode::kOsErr, "out of memory", "rank 0", "reduce the problem size or raise the limit (ulimit -v)"));
  } catch (const std::exception& e) {
    if (session.size() == 1) throw;
    end_job(session, Error(ExitCode::kSoftware, std::string("internal error: ") + e.what(), "rank 0", "please report this"));
  }
}

}  // namespace radmm
