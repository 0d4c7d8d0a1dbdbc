// libFuzzer target: the settings reader (INI text, as in --config and in a checkpoint) must
// either give settings that validate() accepts and that round-trip through settings_to_ini,
// or throw radmm::Error with a one-line message free of control bytes; never crash or hang.
// Build and run: ./run.sh fuzz [seconds].
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "common/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    radmm::ParsedCommand cmd = radmm::parse_train_command({}, text);
    cmd.settings.validate();
    const std::string ini = radmm::settings_to_ini(cmd.settings);
    if (radmm::settings_to_ini(radmm::parse_train_command({}, ini).settings) != ini) __builtin_trap();
  } catch (const radmm::Error& e) {
    for (unsigned char c : e.line())
      if (c < 0x20 || c == 0x7f) __builtin_trap();  // echoed input must be escaped
  }
  return 0;
}
