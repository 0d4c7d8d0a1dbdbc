// Open MPI's shared-memory segments (/dev/shm/vader_segment.*) outlive a job whose mpirun was
// SIGKILLed. `radmm cleanup` removes this user's segments that no live process maps; a live
// job's segments are mapped by its ranks and stay. Needs no MPI library (plain /proc scan).
#pragma once

namespace radmm {

/// Removes stale /dev/shm/vader_segment.* of this user; returns how many (prints each if verbose).
int sweep_stale_vader_segments(bool verbose);

}  // namespace radmm
