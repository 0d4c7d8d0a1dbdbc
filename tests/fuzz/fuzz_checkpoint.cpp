// libFuzzer target: the checkpoint and model.bin loaders must refuse any damaged input with
// radmm::Error, never crash or trust a length field. Each input is tried as is and with its
// trailing checksum recomputed, so the fuzzer also reaches the parsers behind the checksum.
// Build and run: ./run.sh fuzz [seconds].
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/checkpoint.hpp"
#include "common/error.hpp"
#include "common/io.hpp"
#include "common/model.hpp"

namespace {
void try_load(const std::string& bytes) {
  try {
    radmm::deserialize_checkpoint(bytes, "fuzz.ckpt");
  } catch (const radmm::Error&) {
  }
  try {
    radmm::deserialize_model(bytes, "fuzz.bin");
  } catch (const radmm::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try_load(bytes);
  if (size > 8) {
    const std::uint64_t h = radmm::fnv1a64(bytes.data(), size - 8);
    std::memcpy(&bytes[size - 8], &h, 8);
    try_load(bytes);
  }
  return 0;
}
