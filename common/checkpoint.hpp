// Checkpoints: the full ADMM state (every block, V_N, Lambda), the position in the
// schedule (iteration and next phase), the settings and the data fingerprint, checksummed,
// written atomically into DIR/checkpoints/ckpt-<iteration>-<position>.bin; the last two are kept.
#pragma once
#include <cstdint>
#include <string>

#include "common/layout.hpp"
#include "common/selection.hpp"
#include "common/run_folder.hpp"

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
  std::uint64_t run_id = 0;    ///< the run folder's id (set by write_checkpoint)
  std::string resume_extra;    ///< the trainer's own bookkeeping (diagnostics history); opaque here
};

std::string serialize_checkpoint(const Checkpoint& c);
/// Throws Error(kDataErr) naming `name` for a corrupt, truncated or foreign file.
Checkpoint deserialize_checkpoint(const std::string& bytes, const std::string& name);

/// Writes c, stamped with the folder's run id, into its checkpoints folder (temp file, fsync,
/// renameat, fsync of the folder), then deletes this run's checkpoints but the newest two
/// (other runs' files are never counted as ours). Returns the path. Throws Error(kIoErr / kCantCreate).
std::string write_checkpoint(RunFolder& folder, Checkpoint c);

/// The newest checkpoint of the folder's run; throws Error(kNoInput) if there is none,
/// Error(kDataErr) if the newest is damaged or its header names another run (an older one is
/// never silently used). Checkpoints of other runs are never loaded.
Checkpoint load_latest_checkpoint(RunFolder& folder, std::string* path = nullptr);

/// Checkpoint file names in the folder `dir_fd`, newest first; only run `run_id`'s unless it is 0.
std::vector<std::string> checkpoint_names(int dir_fd, std::uint64_t run_id = 0);
/// Checkpoint files of run_dir (every run's), newest first, as paths.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace radmm
