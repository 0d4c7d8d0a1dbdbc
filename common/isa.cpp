// Compile-time instruction set (see isa.hpp).
#include "common/isa.hpp"

namespace radmm {

std::string compiled_isa() {
  std::string s;
#if defined(__x86_64__)
  s = "x86-64";
#elif defined(__aarch64__)
  s = "aarch64";
#else
  s = "other";
#endif
#ifdef __SSE2__
  s += " sse2";
#endif
#ifdef __SSE4_2__
  s += " sse4.2";
#endif
#ifdef __AVX__
  s += " avx";
#endif
#ifdef __AVX2__
  s += " avx2";
#endif
#ifdef __FMA__
  s += " fma";
#endif
#ifdef __AVX512F__
  s += " avx512f";
#endif
#ifdef __ARM_NEON
  s += " neon";
#endif
  return s;
}

}  // namespace radmm
