// File-system helpers and a tiny JSON writer (see io.hpp).
#include "common/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>

#include "common/error.hpp"

namespace radmm {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string random_hex() {
  std::random_device rd;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

[[noreturn]] void io_error(const std::string& what, int e, const std::string& where, const std::string& hint) {
  throw Error(ExitCode::kIoErr, what + ": " + std::strerror(e), where, hint);
}

}  // namespace

void write_file_at(int dir_fd, const std::string& name, const std::string& bytes, unsigned mode,
                   const std::string& shown) {
  const std::string tmp = "." + name + ".tmp." + random_hex();
  int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    io_error("cannot create file", errno, shown, "check the output folder's permissions and free space");
  auto drop = [&](const std::string& what, int e, const std::string& hint) {
    if (fd >= 0) ::close(fd);
    ::unlinkat(dir_fd, tmp.c_str(), 0);  // removes the name itself, never a link's target
    io_error(what, e, shown, hint);
  };
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    errno = 0;
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) drop("write failed", errno ? errno : ENOSPC, "check free space and file size limits");
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) drop("fsync failed", errno, "check the disk");
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) drop("close failed", errno, "check the disk");
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) drop("rename failed", errno, "");
  // The rename is durable only once the folder is: a failure here is reported, not ignored.
  if (::fsync(dir_fd) != 0 && errno != EINVAL)
    io_error("the file was renamed into place but the folder's fsync failed", errno, shown,
             "it may not survive a power loss; check the disk");
}

void write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode) {
  const UniqueFd dir(::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0)
    io_error("cannot open the folder of", errno, path, "check that the folder exists and is writable");
  const auto slash = path.find_last_of('/');
  write_file_at(dir.get(), slash == std::string::npos ? path : path.substr(slash + 1), bytes, mode, path);
}

std::string read_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(ExitCode::kNoInput, std::string("cannot open input: ") + std::strerror(errno), path,
                "check the path");
  if (!S_ISREG(st.st_mode))
    throw Error(ExitCode::kNoInput, "input is not a regular file", path, "pass a file, not a folder or device");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::kNoInput, "cannot read input", path, "check its permissions");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ExitCode::kNoInput, "read error", path, "");
  return ss.str();
}

std::string read_file_at(int dir_fd, const std::string& name, const std::string& shown) {
  const UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0)
    throw Error(ExitCode::kNoInput,
                std::string("cannot open: ") + (errno == ELOOP ? "it is a symbolic link" : std::strerror(errno)),
                shown, "radmm reads its own files only, never through a link");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ExitCode::kNoInput, "not a regular file", shown, "");
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(ExitCode::kNoInput, std::string("read error: ") + std::strerror(errno), shown, "");
    if (r == 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

UniqueFd open_folder(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0)
    throw Error(ExitCode::kCantCreate, std::string("cannot open folder: ") + std::strerror(errno), path,
                errno == ENAMETOOLONG ? "choose a shorter --out" : "choose a writable --out");
  return fd;
}

UniqueFd open_subfolder(int dir_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(dir_fd, name.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(ExitCode::kCantCreate, std::string("cannot create folder: ") + std::strerror(errno), shown,
                "check the run folder's permissions and free space");
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0)
    throw Error(ExitCode::kCantCreate,
                errno == ELOOP || errno == ENOTDIR ? std::string("not a folder (a symbolic link or a file)")
                                                   : std::string("cannot open folder: ") + std::strerror(errno),
                shown, "radmm never follows a link at a path it creates; remove it");
  return fd;
}

void write_stdout(const std::string& text) {
  std::fflush(stdout);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    errno = 0;
    const ssize_t w = ::write(STDOUT_FILENO, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      io_error("cannot write to standard output", errno ? errno : ENOSPC, "stdout",
               "check where standard output goes (a full disk, a closed pipe)");
    p += w;
    left -= static_cast<std::size_t>(w);
  }
}

void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int got = ::open("/dev/null", O_RDWR);  // the lowest free number: this one
    if (got >= 0 && got != fd) ::close(got);
  }
}

void make_output_dir(const std::string& dir) {
  if (dir.empty()) throw Error(ExitCode::kCantCreate, "empty output folder name", "--out", "");
  // mkdir -p
  std::string cur;
  std::size_t i = 0;
  while (i <= dir.size()) {
    std::size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    cur = dir.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw Error(ExitCode::kCantCreate, std::string("cannot create output folder: ") + std::strerror(errno),
                  cur, "choose a writable --out");
    i = j + 1;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(ExitCode::kCantCreate, "output path is not a folder", dir, "choose a folder for --out");
  const std::string probe = dir + "/.radmm-write-test." + std::to_string(::getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ExitCode::kCantCreate, std::string("output folder is not writable: ") + std::strerror(errno),
                dir, "choose a writable --out");
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string format_double(double x, bool json) {
  if (!std::isfinite(x)) {
    if (json) return "null";
    return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
  }
  char buf[40];
  for (int prec = 6; prec <= 17; ++prec) {  // shortest text that round-trips
    std::snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::uint64_t fnv1a64(const void* data, std::size_t size, std::uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}

std::string timestamp_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

}  // namespace radmm
