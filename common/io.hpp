// File-system helpers: atomic whole-file writes relative to a folder descriptor (a fresh
// O_EXCL|O_NOFOLLOW temp file, fsync, renameat, fsync of the folder), folder creation with a
// writability check, checked writes to stdout, and a tiny JSON writer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace radmm {

/// Owns a file descriptor; closes it once.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    const int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

/// Output files ask for 0666 and so respect the umask (like cp or a compiler); files that
/// hold training data (checkpoints) ask for 0600, which a umask can only narrow.
constexpr unsigned kOutputMode = 0666, kPrivateMode = 0600;

/// Writes `bytes` as `name` inside the folder `dir_fd` atomically: a fresh temp file
/// `.<name>.tmp.<random>` created with O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file or a
/// planted link), fsync, renameat over `name` (a link at `name` is replaced, not followed),
/// fsync of the folder. `shown` names the file in messages. Throws Error(kIoErr) and removes
/// the temp file on failure, including a failed fsync of the folder.
void write_file_at(int dir_fd, const std::string& name, const std::string& bytes, unsigned mode,
                   const std::string& shown);

/// write_file_at in the parent folder of `path` (opened once, following the user's own path).
void write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode = kOutputMode);

/// Reads a whole regular file. Throws Error(kNoInput) if missing/unreadable/not regular.
std::string read_file(const std::string& path);
/// Reads `name` in `dir_fd` without following a link at that name (Error(kNoInput) otherwise).
std::string read_file_at(int dir_fd, const std::string& name, const std::string& shown);

/// Opens a folder (following the user's path) as a descriptor; throws Error(kCantCreate).
UniqueFd open_folder(const std::string& path);
/// Creates (0700 if new) and opens the subfolder `name` of `dir_fd`, refusing a symbolic link
/// or anything but a folder there (Error(kCantCreate) naming `shown`).
UniqueFd open_subfolder(int dir_fd, const std::string& name, const std::string& shown);

/// Writes all of `text` to standard output (after flushing stdio); Error(kIoErr) on failure,
/// so `radmm predict > /dev/full` exits 74 instead of 0.
void write_stdout(const std::string& text);

/// Opens /dev/null on any of descriptors 0-2 that is closed, so no file radmm opens later
/// becomes "stdout" and receives progress lines.
void ensure_standard_fds();

/// Creates `dir` (and parents) and checks that a file can be created in it.
/// Throws Error(kCantCreate) naming the folder.
void make_output_dir(const std::string& dir);

/// "%.17g"-style shortest round-trip text for a double; non-finite as null (JSON) if json.
std::string format_double(double x, bool json = false);

/// Escapes a string for a JSON string literal (without the quotes).
std::string json_escape(const std::string& s);

/// 64-bit FNV-1a hash, used as the checksum of model files.
std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h = 1469598103934665603ULL);

/// Current UTC time as "YYYYMMDD-HHMMSS".
std::string timestamp_utc();

/// Monotonic seconds since an arbitrary origin.
double now_seconds();

/// Peak resident memory of this process in bytes (VmHWM).
std::int64_t peak_rss_bytes();

}  // namespace radmm
