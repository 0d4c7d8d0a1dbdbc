// Rank 0's side of the MPI transport: the layer phases on worker ranks 1..K-1, rank 0 keeping
// the whole iterate current at every phase boundary (so checkpoints, the objective and the
// re-projection work unchanged). Built only with RADMM_MPI; docs/protocol.md "MPI transport".
#pragma once
#include <memory>
#include <vector>

#include "coordinator/transport.hpp"

namespace radmm {

/// One worker rank per region (regions.size() == world size - 1). `base` is rank 0's state
/// (laid out by kernel.layout()); the constructor sends each rank its setup and owned blocks.
std::unique_ptr<Transport> make_mpi_transport(const LayerKernel& kernel, char* base, const Penalties& pen,
                                              const std::vector<Region>& regions, double phase_timeout_s);

/// Rank 0 wrote worker-owned blocks itself (re-projection): send them again before the next phase.
void mpi_transport_resync(Transport& t);

}  // namespace radmm
