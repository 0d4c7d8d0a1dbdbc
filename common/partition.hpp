// Splits the hidden layers 1..N-1 into P contiguous regions of balanced cost
// (ALGORITHM.md 8: O(d^2 n + d^3) per layer; the last region also updates W_N).
#pragma once
#include <vector>

#include "common/layout.hpp"

namespace radmm {

struct Region {
  int first = 1, last = 0;  ///< hidden layers first..last (inclusive); owns W_N when last = N-1
  double cost = 0;          ///< modelled flops per iteration
};

/// Modelled flops of one iteration's work on hidden layer i (plus W_N for i = N-1).
double layer_cost(const Dims& dims, int i);

/// P >= 1 non-empty contiguous regions minimising the largest region cost (P <= N-1).
std::vector<Region> partition_layers(const Dims& dims, int workers);

}  // namespace radmm
