// Stale Open MPI segments (see mpi_cleanup.hpp).
#include "coordinator/mpi_cleanup.hpp"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

namespace radmm {

namespace {

/// Every /dev/shm path that some process has mapped (from /proc/<pid>/maps).
std::set<std::string> mapped_shm_paths() {
  std::set<std::string> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (dirent* e = ::readdir(proc)) {
    if (std::atoi(e->d_name) <= 0) continue;
    std::ifstream maps(std::string("/proc/") + e->d_name + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      const auto at = line.find("/dev/shm/");
      if (at == std::string::npos) continue;
      std::string path = line.substr(at);
      const auto del = path.find(" (deleted)");
      if (del != std::string::npos) path.erase(del);
      out.insert(path);
    }
  }
  ::closedir(proc);
  return out;
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

/// Removes a folder tree without following links (nftw FTW_PHYS, children first).
bool remove_tree(const std::string& dir) { return ::nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0; }

}  // namespace

int sweep_stale_vader_segments(bool verbose) {
  DIR* dir = ::opendir("/dev/shm");
  if (!dir) return 0;
  std::set<std::string> candidates;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind("vader_segment.", 0) != 0) continue;
    const std::string path = "/dev/shm/" + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_uid == ::getuid()) candidates.insert(path);
  }
  ::closedir(dir);
  if (candidates.empty()) return 0;
  const std::set<std::string> mapped = mapped_shm_paths();
  int removed = 0;
  for (const std::string& path : candidates) {
    if (mapped.count(path)) continue;  // a live job's
    if (::unlink(path.c_str()) == 0) {
      ++removed;
      if (verbose) std::printf("removed %s (Open MPI segment no process maps)\n", path.c_str());
    }
  }
  return removed;
}

int sweep_stale_mpirun_sessions(bool verbose) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string root = tmp && *tmp ? tmp : "/tmp";
  DIR* dir = ::opendir(root.c_str());
  if (!dir) return 0;
  int removed = 0;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.rfind("ompi.", 0) != 0) continue;
    const std::string top = root + "/" + name;
    struct stat st {};
    if (::lstat(top.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
    DIR* sessions = ::opendir(top.c_str());
    if (!sessions) continue;
    while (dirent* s = ::readdir(sessions)) {
      const std::string sname = s->d_name;
      if (sname.rfind("pid.", 0) != 0) continue;
      const long pid = std::atol(sname.c_str() + 4);
      if (pid <= 0 || (pid <= 0x7fffffffL && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))) continue;
      const std::string path = top + "/" + sname;
      if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
      if (remove_tree(path)) {
        ++removed;
        if (verbose) std::printf("removed %s (its mpirun %ld is gone)\n", path.c_str(), pid);
      }
    }
    ::closedir(sessions);
  }
  ::closedir(dir);
  return removed;
}

}  // namespace radmm
