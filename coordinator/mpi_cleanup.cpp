// Stale Open MPI segments (see mpi_cleanup.hpp).
#include "coordinator/mpi_cleanup.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace radmm
