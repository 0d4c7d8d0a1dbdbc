// Open MPI's shared-memory segments (/dev/shm/vader_segment.*) and mpirun's session folder
// ($TMPDIR/ompi.<host>.<uid>/pid.<mpirun pid>) outlive a job whose mpirun was SIGKILLed.
// `radmm cleanup` removes this user's segments that no live process maps and session folders
// whose mpirun is gone. Needs no MPI library (plain /proc scan).
#pragma once

namespace radmm {

/// Removes stale /dev/shm/vader_segment.* of this user; returns how many (prints each if verbose).
int sweep_stale_vader_segments(bool verbose);

/// Removes $TMPDIR (default /tmp) /ompi.*/pid.<N> folders of this user whose process N is gone.
int sweep_stale_mpirun_sessions(bool verbose);

}  // namespace radmm
