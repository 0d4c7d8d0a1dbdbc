// The instruction set this binary was compiled for (from the compiler's predefined macros), so
// summary.json and bench.json say whether a build is portable across hosts (RADMM_NATIVE=OFF:
// baseline x86-64) or tied to the build machine's CPU (-march=native, the default).
#pragma once
#include <string>

namespace radmm {

/// e.g. "x86-64 sse2 sse4.2 avx avx2 fma avx512f" (the widest vector extensions enabled at compile time).
std::string compiled_isa();

}  // namespace radmm
