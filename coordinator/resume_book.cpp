// Resume bookkeeping record (see resume_book.hpp).
#include "coordinator/resume_book.hpp"

#include "common/binary.hpp"

namespace radmm {

namespace {
constexpr char kMagic[8] = {'R', 'A', 'D', 'M', 'M', 'R', 'E', 'S'};
constexpr std::uint32_t kVersion = 1;
}  // namespace

std::string encode_resume_book(const ResumeBook& b) {
  std::string s(kMagic, 8);
  put(s, kVersion);
  put(s, static_cast<std::int32_t>(b.violations));
  put(s, static_cast<std::int32_t>(b.restarts));
  put(s, b.l_start);
  put(s, static_cast<std::uint8_t>(b.restart));
  put(s, static_cast<std::uint64_t>(b.steps.size()));
  for (const StepRecord& r : b.steps) {
    put(s, static_cast<std::int32_t>(r.iter));
    put(s, r.l_before);
    put(s, r.l_after);
    put(s, r.step_sq);
    put(s, static_cast<std::uint8_t>(r.restart));
  }
  put(s, static_cast<std::uint64_t>(b.snapshot.size()));
  s += b.snapshot;
  append_checksum(s);
  return s;
}

ResumeBook decode_resume_book(const std::string& bytes, const std::string& name) {
  BinaryReader in(bytes, kMagic, name, "checkpoint's resume record", "the checkpoint was not loaded");
  if (in.get<std::uint32_t>() != kVersion) in.fail("unsupported version");
  ResumeBook b;
  b.violations = in.get<std::int32_t>();
  b.restarts = in.get<std::int32_t>();
  b.l_start = in.get<double>();
  b.restart = in.get<std::uint8_t>() != 0;
  const auto n = in.get<std::uint64_t>();
  constexpr std::size_t kRecordBytes = 4 + 3 * 8 + 1;
  if (n > bytes.size() / kRecordBytes) in.fail("bad step count");
  for (std::uint64_t i = 0; i < n; ++i) {
    StepRecord r;
    r.iter = in.get<std::int32_t>();
    r.l_before = in.get<double>();
    r.l_after = in.get<double>();
    r.step_sq = in.get<double>();
    r.restart = in.get<std::uint8_t>() != 0;
    b.steps.push_back(r);
  }
  b.snapshot = in.bytes(in.get<std::uint64_t>());
  if (!in.at_end()) in.fail("trailing bytes");
  return b;
}

}  // namespace radmm
