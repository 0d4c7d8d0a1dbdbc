// `radmm train --transport mpi` under mpirun / srun: starts the MPI session, turns ranks 1..K-1
// into workers (worker/mpi_worker) and runs the ordinary train command on rank 0, ending the
// whole job with MPI_Abort and the documented exit code when rank 0 fails. Built with RADMM_MPI.
#pragma once
#include <string>
#include <vector>

#include "common/settings.hpp"

namespace radmm {

/// Runs `radmm train args` as one rank of an MPI job; returns this rank's exit code.
int run_train_over_mpi(const std::vector<std::string>& args);

/// Rank 0: --workers becomes K - 1. `asked` is --workers as this command line gave it (-1 = not
/// given); any other value than K - 1 is a usage error.
void adopt_mpi_world(Settings& s, int asked);

}  // namespace radmm
