// Checkpoint serialisation and atomic publication (see checkpoint.hpp).
#include "common/checkpoint.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/binary.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "common/settings.hpp"

namespace radmm {

namespace {

constexpr char kMagic[8] = {'R', 'A', 'D', 'M', 'M', 'C', 'K', 'P'};
// 2: scalar size after the dimensions (--precision); 3: model selection after the state;
// 4: run id after the version, and the trainer's resume record after the selection.
constexpr std::uint32_t kVersion = 4;

std::string file_name(const Checkpoint& c) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "ckpt-%09lld-%04d-%s.bin", static_cast<long long>(c.iteration), c.next_phase,
                run_id_text(c.run_id).c_str());
  return buf;
}

/// "ckpt-<9 digits>-<4 digits>-<16 hex>.bin"; returns the id, or 0 if `n` is not such a name.
std::uint64_t id_of_name(const std::string& n) {
  if (n.size() != 40 || n.rfind("ckpt-", 0) != 0 || n.compare(36, 4, ".bin") != 0 || n[14] != '-' || n[19] != '-')
    return 0;
  for (std::size_t i = 5; i < 36; ++i)
    if (i != 14 && i != 19 && !std::isxdigit(static_cast<unsigned char>(n[i]))) return 0;
  return std::strtoull(n.substr(20, 16).c_str(), nullptr, 16);
}

}  // namespace

std::string serialize_checkpoint(const Checkpoint& c) {
  std::string s(kMagic, 8);
  put(s, kVersion);
  put(s, c.run_id);
  put(s, c.iteration);
  put(s, c.next_phase);
  put(s, c.elapsed_s);
  put(s, c.fingerprint);
  put(s, static_cast<std::int64_t>(c.dims.depth));
  put(s, static_cast<std::int64_t>(c.dims.d0));
  put(s, static_cast<std::int64_t>(c.dims.width));
  put(s, static_cast<std::int64_t>(c.dims.outputs));
  put(s, static_cast<std::int64_t>(c.dims.samples));
  put(s, c.scalar_bytes);
  put(s, static_cast<std::uint64_t>(c.settings_ini.size()));
  s += c.settings_ini;
  put(s, static_cast<std::uint64_t>(c.state.size()));
  s += c.state;
  c.selection.serialize(s);
  put(s, static_cast<std::uint64_t>(c.resume_extra.size()));
  s += c.resume_extra;
  append_checksum(s);
  return s;
}

Checkpoint deserialize_checkpoint(const std::string& b, const std::string& name) {
  BinaryReader in(b, kMagic, name, "checkpoint",
                  "the file is damaged or not a radmm checkpoint; it was not loaded");
  const auto version = in.get<std::uint32_t>();
  if (version < kVersion)
    in.fail("version " + std::to_string(version) + " was written by an older radmm, which had no run ids; start a new run");
  if (version != kVersion) in.fail("unsupported version " + std::to_string(version));
  Checkpoint c;
  c.run_id = in.get<std::uint64_t>();
  c.iteration = in.get<std::int64_t>();
  c.next_phase = in.get<std::int32_t>();
  c.elapsed_s = in.get<double>();
  c.fingerprint = in.get<std::uint64_t>();
  const auto depth = in.get<std::int64_t>(), d0 = in.get<std::int64_t>(), width = in.get<std::int64_t>(),
             outputs = in.get<std::int64_t>(), samples = in.get<std::int64_t>();
  if (c.iteration < 0 || c.next_phase < 0 || c.next_phase > 3 * kMaxInnerPasses || depth < 2 || depth > 100000 || d0 < 1 ||
      width < 1 || width > 65536 || outputs < 1 || samples < 1 || d0 > (1 << 24) || samples > (1LL << 40))
    in.fail("bad header values");
  // Bound the state size before computing it, so no product can wrap around.
  if (static_cast<double>(depth) * static_cast<double>(width + d0 + outputs) * static_cast<double>(samples) * 24.0 >
      static_cast<double>(1ULL << 50))
    in.fail("dimensions too large");
  c.dims.depth = static_cast<int>(depth);
  c.dims.d0 = static_cast<int>(d0);
  c.dims.width = static_cast<int>(width);
  c.dims.outputs = static_cast<int>(outputs);
  c.dims.samples = samples;
  c.scalar_bytes = in.get<std::uint32_t>();
  if (c.scalar_bytes != sizeof(float) && c.scalar_bytes != sizeof(double)) in.fail("bad scalar size");
  c.settings_ini = in.bytes(in.get<std::uint64_t>());
  c.state = in.bytes(in.get<std::uint64_t>());
  if (c.state.size() != Layout::make(c.dims, c.scalar_bytes).bytes())
    in.fail("state size does not match its dimensions");
  c.selection.deserialize(in);
  c.resume_extra = in.bytes(in.get<std::uint64_t>());
  if (!in.at_end()) in.fail("trailing bytes");
  return c;
}

std::vector<std::string> checkpoint_names(int dir_fd, std::uint64_t run_id) {
  std::vector<std::string> names;
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);  // closedir closes its own descriptor
  if (dup < 0) return names;
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return names;
  }
  ::rewinddir(d);  // the duplicate shares its position with dir_fd
  while (dirent* e = ::readdir(d)) {
    const std::uint64_t id = id_of_name(e->d_name);
    if (id != 0 && (run_id == 0 || id == run_id)) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.rbegin(), names.rend());  // zero-padded: lexicographic = chronological
  return names;
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  const std::string dir = run_dir + "/checkpoints";
  const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return {};
  auto names = checkpoint_names(fd.get());
  for (auto& n : names) n = dir + "/" + n;
  return names;
}

std::string write_checkpoint(RunFolder& folder, Checkpoint c) {
  const int dir = folder.checkpoints_fd();
  const std::string shown = folder.path() + "/checkpoints/";
  // Temp files of a write that a SIGKILL interrupted: the folder is locked, so they are this run's.
  {
    const int dup = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
    if (DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr) {
      ::rewinddir(d);
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] == '.' && std::strstr(e->d_name, ".tmp.")) ::unlinkat(dir, e->d_name, 0);
      ::closedir(d);
    } else if (dup >= 0) {
      ::close(dup);
    }
  }
  c.run_id = folder.run_id();
  const std::string name = file_name(c);
  write_file_at(dir, name, serialize_checkpoint(c), kPrivateMode, shown + name);  // holds the training data
  const auto ours = checkpoint_names(dir, folder.run_id());
  for (std::size_t i = 2; i < ours.size(); ++i) ::unlinkat(dir, ours[i].c_str(), 0);
  return shown + name;
}

Checkpoint load_latest_checkpoint(RunFolder& folder, std::string* path) {
  const std::string shown = folder.path() + "/checkpoints";
  auto none = [&](const std::string& why) {
    return Error(ExitCode::kNoInput, "no checkpoint to resume from" + why, shown,
                 "run radmm train with --checkpoint-every K, or interrupt it with Ctrl-C, to create one");
  };
  struct stat st {};
  if (::fstatat(folder.fd(), "checkpoints", &st, AT_SYMLINK_NOFOLLOW) != 0) throw none("");
  const int dir = folder.checkpoints_fd();
  const auto ours = checkpoint_names(dir, folder.run_id());
  if (ours.empty()) {
    const auto all = checkpoint_names(dir);
    if (all.empty()) throw none("");
    throw Error(ExitCode::kDataErr,
                "no checkpoint of this folder's run " + run_id_text(folder.run_id()) + "; " + all.front() +
                    " belongs to another run and was not loaded",
                shown, "resume the folder that run wrote, or start a new run");
  }
  const std::string file = shown + "/" + ours.front();
  if (path) *path = file;
  Checkpoint c = deserialize_checkpoint(read_file_at(dir, ours.front(), file), file);
  if (c.run_id != folder.run_id())
    throw Error(ExitCode::kDataErr, "bad checkpoint: its header names run " + run_id_text(c.run_id) + ", not " +
                                        run_id_text(folder.run_id()), file, "it was copied from another run; it was not loaded");
  return c;
}

}  // namespace radmm
