// radmm bench --transport mpi: one timed run of the MPI transport as a child job,
// `mpirun -np P+1 <this binary> train --config <bench's settings> --transport mpi --workers P`,
// in a temporary folder removed on every way out; its metrics.csv and summary.json are read back
// as a TrainResult, so bench aggregates both transports alike. Needs no MPI library itself.
#pragma once
#include <string>

#include "common/settings.hpp"
#include "coordinator/trainer.hpp"

namespace radmm {

/// $RADMM_MPIRUN, else the first executable `mpirun` on PATH; Error(kUsage) naming --transport if none.
std::string find_mpirun();

/// Trains `s` (transport mpi, workers P >= 1, validation-fraction 0 like bench's data) under
/// `mpirun -np P+1` and returns what bench reads: history (iter, lagrangian, admm_s, phase_s,
/// phase_overhead_s from metrics.csv), worker_stats and grid from summary.json, workers,
/// iterations. A failing job throws Error with mpirun's exit
/// code and the last line of its stderr; a stop signal to bench ends the job, then throws stop_error.
TrainResult train_under_mpirun(const Settings& s, const std::string& mpirun);

/// Error(kSoftware) unless both runs' L_beta agree bit for bit after every iteration: the two
/// transports must have trained the same problem.
void check_same_iterates(const TrainResult& fork, const TrainResult& mpi, int workers);

}  // namespace radmm
