// Versioned binary records (model.bin, checkpoints): 8-byte magic, little-endian fields, a
// trailing FNV-1a 64 checksum. The reader checks magic and checksum first and bounds every
// read and every length field, so damaged input is refused with Error(kDataErr), never trusted.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.hpp"

namespace radmm {

template <class T>
void put(std::string& s, const T& v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
inline void put_doubles(std::string& s, const double* p, std::size_t n) {
  s.append(reinterpret_cast<const char*>(p), n * sizeof(double));
}
/// Appends the FNV-1a 64 checksum of everything before it.
void append_checksum(std::string& s);

class BinaryReader {
 public:
  /// `kind` names the format in messages ("model file", "checkpoint").
  BinaryReader(const std::string& bytes, const char* magic, std::string name, std::string kind, std::string hint);
  template <class T>
  T get() {
    if (body_.size() - pos_ < sizeof(T)) fail("truncated");
    T v;
    std::memcpy(&v, body_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string bytes(std::uint64_t n);
  /// Refuses a length field larger than what is left, before anything is allocated from it.
  void need_doubles(std::uint64_t n) const;
  void doubles(double* out, std::size_t n);
  bool at_end() const { return pos_ == body_.size(); }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string body_, name_, kind_, hint_;
  std::size_t pos_ = 0;
};

}  // namespace radmm
