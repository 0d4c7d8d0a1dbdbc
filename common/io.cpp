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
#include <sstream>

#include "common/error.hpp"

namespace radmm {

static std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

static void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some file systems refuse opening folders
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomic(const std::string& path, const std::string& bytes, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd >= 0) ::fchmod(fd, mode);  // exact mode whatever the umask
  if (fd < 0)
    throw Error(ExitCode::kIoErr, std::string("cannot create file: ") + std::strerror(errno), tmp,
                "check the output folder's permissions and free space");
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(ExitCode::kIoErr, std::string("write failed: ") + std::strerror(e), path,
                  "check free space and file size limits");
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error(ExitCode::kIoErr, std::string("fsync failed: ") + std::strerror(e), path, "");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw Error(ExitCode::kIoErr, std::string("rename failed: ") + std::strerror(e), path, "");
  }
  fsync_dir(parent_dir(path));
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
