// Checkpoint serialisation and atomic publication (see checkpoint.hpp).
#include "common/checkpoint.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/binary.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "common/settings.hpp"

namespace radmm {

namespace {

constexpr char kMagic[8] = {'R', 'A', 'D', 'M', 'M', 'C', 'K', 'P'};
constexpr std::uint32_t kVersion = 3;  // 2: scalar size (--precision); 3: model selection after the state

std::string file_name(const Checkpoint& c) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "ckpt-%09lld-%04d.bin", static_cast<long long>(c.iteration), c.next_phase);
  return buf;
}

}  // namespace

std::string serialize_checkpoint(const Checkpoint& c) {
  std::string s(kMagic, 8);
  put(s, kVersion);
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
  append_checksum(s);
  return s;
}

Checkpoint deserialize_checkpoint(const std::string& b, const std::string& name) {
  BinaryReader in(b, kMagic, name, "checkpoint",
                  "the file is damaged or not a radmm checkpoint; it was not loaded");
  if (in.get<std::uint32_t>() != kVersion) in.fail("unsupported version");
  Checkpoint c;
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
  if (!in.at_end()) in.fail("trailing bytes");
  return c;
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> names;
  const std::string dir = run_dir + "/checkpoints";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("ckpt-", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".bin") == 0) names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.rbegin(), names.rend());  // zero-padded: lexicographic = chronological
  for (auto& n : names) n = dir + "/" + n;
  return names;
}

std::string write_checkpoint(const std::string& run_dir, const Checkpoint& c) {
  make_output_dir(run_dir + "/checkpoints");
  // Temp files of a write that a SIGKILL interrupted: only this run writes here.
  if (DIR* d = ::opendir((run_dir + "/checkpoints").c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strstr(e->d_name, ".tmp.")) ::unlink((run_dir + "/checkpoints/" + e->d_name).c_str());
    ::closedir(d);
  }
  const std::string path = run_dir + "/checkpoints/" + file_name(c);
  write_file_atomic(path, serialize_checkpoint(c), 0600);  // holds the training data
  const auto all = list_checkpoints(run_dir);
  for (std::size_t i = 2; i < all.size(); ++i) ::unlink(all[i].c_str());
  return path;
}

Checkpoint load_latest_checkpoint(const std::string& run_dir, std::string* path) {
  const auto all = list_checkpoints(run_dir);
  if (all.empty())
    throw Error(ExitCode::kNoInput, "no checkpoint to resume from", run_dir + "/checkpoints",
                "run radmm train with --checkpoint-every K, or interrupt it with Ctrl-C, to create one");
  if (path) *path = all.front();
  return deserialize_checkpoint(read_file(all.front()), all.front());
}

}  // namespace radmm
