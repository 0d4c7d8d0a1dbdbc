// Run folder: lock, refusal of a folder that holds another run, run id (see run_folder.hpp).
#include "common/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "common/error.hpp"

namespace radmm {

namespace {

/// Files whose presence means the folder already belongs to a run.
constexpr const char* kRunFiles[] = {RunFolder::kIdName, "metrics.csv", "summary.json", "model.bin",
                                     "failure.json", "convergence.svg", "checkpoints"};

std::uint64_t fresh_id() {
  std::random_device rd;
  std::uint64_t id = 0;
  while (id == 0) id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return id;
}

}  // namespace

std::string run_id_text(std::uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

void RunFolder::lock(const std::string& path) {
  lock_fd_ = UniqueFd(::openat(fd(), kLockName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kPrivateMode));
  if (lock_fd_.get() < 0)
    throw Error(ExitCode::kCantCreate, std::string("cannot create the lock file: ") + std::strerror(errno),
                path + "/" + kLockName, "choose a writable --out");
  // Held until this process and its workers end (the workers share the open file).
  if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) != 0)
    throw Error(ExitCode::kCantCreate,
                errno == EWOULDBLOCK ? std::string("another radmm run is using this folder")
                                     : std::string("cannot lock the folder: ") + std::strerror(errno),
                path, "wait for it to end, or choose another --out");
}

RunFolder RunFolder::create(const std::string& path) {
  make_output_dir(path);
  RunFolder f;
  f.path_ = path;
  f.fd_ = open_folder(path);
  f.lock(path);
  for (const char* name : kRunFiles) {
    struct stat st {};
    if (::fstatat(f.fd(), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      throw Error(ExitCode::kCantCreate, std::string("the folder already holds a run (") + name + ")", path,
                  "continue it with radmm train --resume " + path + ", or choose another --out");
  }
  f.run_id_ = fresh_id();
  write_file_at(f.fd(), kIdName, run_id_text(f.run_id_) + "\n", kOutputMode, path + "/" + kIdName);
  return f;
}

RunFolder RunFolder::open_existing(const std::string& path) {
  RunFolder f;
  f.path_ = path;
  f.fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (f.fd() < 0)
    throw Error(ExitCode::kNoInput, std::string("cannot open the run folder: ") + std::strerror(errno), path,
                "pass the --out folder of the run to continue");
  f.lock(path);
  const std::string shown = path + "/" + kIdName;
  struct stat st {};
  if (::fstatat(f.fd(), kIdName, &st, AT_SYMLINK_NOFOLLOW) != 0)
    throw Error(errno == ENOENT ? ExitCode::kNoInput : ExitCode::kDataErr,
                "the folder has no run id, so it holds no run this radmm can continue", shown,
                "pass the --out folder of a run made by radmm " RADMM_VERSION " or later");
  const std::string text = read_file_at(f.fd(), kIdName, shown);
  char* end = nullptr;
  f.run_id_ = std::strtoull(text.c_str(), &end, 16);
  if (text.size() != 17 || end != text.c_str() + 16 || *end != '\n' || f.run_id_ == 0)
    throw Error(ExitCode::kDataErr, "bad run id (expected 16 hex digits)", shown, "the folder was edited; start a new run");
  return f;
}

int RunFolder::checkpoints_fd() {
  if (checkpoints_fd_.get() < 0) checkpoints_fd_ = open_subfolder(fd(), "checkpoints", path_ + "/checkpoints");
  return checkpoints_fd_.get();
}

}  // namespace radmm
