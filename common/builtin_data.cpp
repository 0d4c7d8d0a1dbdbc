// The Wine Quality CSVs (data/, CC BY 4.0, Cortez et al. 2009) embedded in the binary,
// so the default run needs no file argument and works from any working directory.
#include <string>

#include "common/csv.hpp"

#define RADMM_INCBIN(sym, file)                                                   \
  __asm__(".section .rodata\n.balign 16\n.global " #sym "_begin\n" #sym "_begin:\n" \
          ".incbin \"" file "\"\n.global " #sym "_end\n" #sym "_end:\n.byte 0\n.previous\n")

RADMM_INCBIN(radmm_wine_red, RADMM_DATA_DIR "/winequality-red.csv");
RADMM_INCBIN(radmm_wine_white, RADMM_DATA_DIR "/winequality-white.csv");

extern "C" const char radmm_wine_red_begin[], radmm_wine_red_end[];
extern "C" const char radmm_wine_white_begin[], radmm_wine_white_end[];

namespace radmm {

std::string builtin_csv(const std::string& name) {
  if (name == "wine-red") return std::string(radmm_wine_red_begin, radmm_wine_red_end);
  if (name == "wine-white") return std::string(radmm_wine_white_begin, radmm_wine_white_end);
  return {};
}

}  // namespace radmm
