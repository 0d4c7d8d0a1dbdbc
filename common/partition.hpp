// Flop counts of an iteration and the split of the hidden layers 1..N-1 into P contiguous
// regions of balanced flops (ALGORITHM.md 8: O(d^2 n + d^3) per layer; the last region also
// updates W_N).
#pragma once
#include <vector>

#include "common/layout.hpp"

namespace radmm {

/// A worker's cell of the grid (common/grid.hpp): hidden layers first..last x the columns of
/// chunks chunk_begin..chunk_end-1 (shard `shard` of `shards`; chunk_end = -1 means every chunk).
struct Region {
  int first = 1, last = 0;  ///< hidden layers first..last (inclusive); owns W_N when last = N-1
  double cost = 0;          ///< flops per iteration (layer_flops)
  int shard = 0, shards = 1;
  int chunk_begin = 0, chunk_end = -1;
};

/// Floating-point operations of one iteration's work on hidden layer i (plus W_N for i = N-1),
/// counting the matrix products (2mnk), Gram matrices (k(k+1)n), Cholesky factorisations (k^3/3)
/// and triangular solves (2k^2 per right-hand side); elementwise work (O(d n)) is not counted.
double layer_flops(const Dims& dims, int i);

/// Flops of one whole iteration: every layer plus the coordinator's Z_N = W_N V~_{N-1}.
double iteration_flops(const Dims& dims);

/// P >= 1 non-empty contiguous regions minimising the largest region cost (P <= N-1).
std::vector<Region> partition_layers(const Dims& dims, int workers);

}  // namespace radmm
