// Checkpoints: the full ADMM state (every block, V_N, Lambda), the position in the
// schedule (iteration and next phase), the settings and the data fingerprint, checksummed,
// written atomically into DIR/checkpoints/ckpt-<iteration>-<position>.bin; the last two are kept.
#pragma once
#include <cstdint>
#include <string>

#include "common/layout.hpp"
#include "common/selection.hpp"

namespace radmm {

struct Checkpoint {
  std::int64_t iteration = 0;  ///< iterations fully completed
  std::int32_t next_phase = 0; ///< phase positions of iteration+1 done (W, then inner-passes x V-even, V-odd, U; 0 = boundary)
  double elapsed_s = 0;        ///< training time so far (metrics.csv continues from it)
  std::uint64_t fingerprint = 0;  ///< of the data set (Dataset::fingerprint)
  std::string settings_ini;    ///< the run's settings (settings_to_ini)
  Dims dims;
  std::uint32_t scalar_bytes = sizeof(double);  ///< 4 = --precision float, 8 = double
  std::string state;           ///< the raw state bytes (Layout::bytes())
  ModelSelection selection;    ///< the best validation model so far (--early-stop)
};

std::string serialize_checkpoint(const Checkpoint& c);
/// Throws Error(kDataErr) naming `name` for a corrupt, truncated or foreign file.
Checkpoint deserialize_checkpoint(const std::string& bytes, const std::string& name);

/// Writes c into run_dir/checkpoints (temp file, fsync, rename, fsync of the folder) and
/// deletes all but the newest two. Returns the path. Throws Error(kIoErr / kCantCreate).
std::string write_checkpoint(const std::string& run_dir, const Checkpoint& c);

/// The newest checkpoint of run_dir; throws Error(kNoInput) if there is none and
/// Error(kDataErr) if the newest is damaged (an older one is never silently used).
Checkpoint load_latest_checkpoint(const std::string& run_dir, std::string* path = nullptr);

/// Checkpoint files of run_dir, newest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace radmm
