// A run folder held by one run at a time: opened once as a descriptor (every later file
// operation is relative to it, so no path radmm creates is looked up through a link), locked
// with flock for the run's life, and named by a random run id that every checkpoint carries.
#pragma once
#include <cstdint>
#include <string>

#include "common/io.hpp"

namespace radmm {

class RunFolder {
 public:
  /// A new run: creates `path` (and parents) if needed, takes the lock, refuses a folder that
  /// already holds a run's files (Error kCantCreate, exit 73, naming --resume and --out as the
  /// fix), then writes a fresh run id to `run-id`.
  static RunFolder create(const std::string& path);
  /// An existing run (--resume): takes the lock and reads its run id (Error kNoInput if the
  /// folder is missing, kDataErr if it has no valid run-id).
  static RunFolder open_existing(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  std::uint64_t run_id() const { return run_id_; }
  /// The checkpoints subfolder, created 0700 on first use; a link or file there is refused.
  int checkpoints_fd();

  static constexpr const char* kLockName = ".radmm.lock";
  static constexpr const char* kIdName = "run-id";

 private:
  void lock(const std::string& path);
  std::string path_;
  UniqueFd fd_, lock_fd_, checkpoints_fd_;
  std::uint64_t run_id_ = 0;
};

/// The run id as 16 lower-case hex digits.
std::string run_id_text(std::uint64_t id);

}  // namespace radmm
