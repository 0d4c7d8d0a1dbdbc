// Force-included first in every translation unit built by GCC 12 for x86 (CMakeLists.txt): the
// AVX-512 intrinsics that Eigen uses under -march=native raise false -W(maybe-)uninitialized
// warnings at every inlined use (GCC bug 105593, fixed in GCC 13). A warning's state is taken at
// the location it names, so this silences those headers only, never radmm's own code.
#pragma once
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
