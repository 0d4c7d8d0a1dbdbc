// libFuzzer target: the CSV reader must either parse or throw radmm::Error, never crash,
// hang or allocate without bound. Build and run: ./run.sh fuzz [seconds].
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/csv.hpp"
#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const radmm::Table t = radmm::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    if (t.values.size() != t.rows() * t.cols()) __builtin_trap();
  } catch (const radmm::Error&) {
  }
  return 0;
}
