// A worker rank of the MPI transport (ranks 1..K-1 of `mpirun -np K radmm train --transport mpi`):
// receives its region from rank 0, keeps its blocks in private memory, and runs the phases
// rank 0 asks for until told to stop. Built only with RADMM_MPI.
#pragma once
#include "common/mpi_comm.hpp"

namespace radmm {

/// Serves rank 0 until kStop; returns the process exit code (0, or kWorkerFailed after an error
/// it reported). Waits for rank 0 without a deadline: if rank 0 dies, mpirun ends the job.
int mpi_worker_main(mpi::Session& session);

}  // namespace radmm
