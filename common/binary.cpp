// Checked binary records (see binary.hpp).
#include "common/binary.hpp"

#include "common/io.hpp"

namespace radmm {

void append_checksum(std::string& s) { put(s, fnv1a64(s.data(), s.size())); }

BinaryReader::BinaryReader(const std::string& b, const char* magic, std::string name, std::string kind,
                           std::string hint)
    : name_(std::move(name)), kind_(std::move(kind)), hint_(std::move(hint)) {
  if (b.size() < 16 || std::memcmp(b.data(), magic, 8) != 0) fail("bad magic (not a radmm " + kind_ + ")");
  std::uint64_t stored;
  std::memcpy(&stored, b.data() + b.size() - 8, 8);
  if (fnv1a64(b.data(), b.size() - 8) != stored) {
    pos_ = b.size() - 8;
    fail("checksum mismatch");
  }
  body_ = b.substr(0, b.size() - 8);
  pos_ = 8;
}

std::string BinaryReader::bytes(std::uint64_t n) {
  if (body_.size() - pos_ < n) fail("truncated or bad length field");
  std::string s = body_.substr(pos_, n);
  pos_ += n;
  return s;
}

void BinaryReader::need_doubles(std::uint64_t n) const {
  if ((body_.size() - pos_) / sizeof(double) < n) fail("truncated or bad length field");
}

void BinaryReader::doubles(double* out, std::size_t n) {
  need_doubles(n);
  std::memcpy(out, body_.data() + pos_, n * sizeof(double));
  pos_ += n * sizeof(double);
}

void BinaryReader::fail(const std::string& what) const {
  throw Error(ExitCode::kDataErr, "bad " + kind_ + ": " + what, name_ + " at byte " + std::to_string(pos_), hint_);
}

}  // namespace radmm
