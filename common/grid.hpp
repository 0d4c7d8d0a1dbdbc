// The worker grid: R layer regions x S sample shards (--grid RxS, or chosen from the cost model
// of docs/algorithm.md "Cost per iteration and the grid"), and the fixed decomposition of the
// samples into column chunks (--chunk-columns) that every sum over samples follows, whatever the grid.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "common/layout.hpp"
#include "common/partition.hpp"
#include "common/settings.hpp"

namespace radmm {

/// The columns 0..n-1 cut into chunks of `size` (the last one shorter): the unit of every
/// sum over samples in the phase schedule, so the sums do not depend on the grid.
struct ColumnChunks {
  std::int64_t n = 1;
  int size = kDefaultChunkColumns;
  int count() const { return static_cast<int>((n + size - 1) / size); }
  std::int64_t begin(int c) const { return static_cast<std::int64_t>(c) * size; }
  std::int64_t cols(int c) const { return std::min<std::int64_t>(size, n - begin(c)); }
};

/// Chunks [first, last) of shard s of S over K chunks (as even as possible, in chunk order).
inline int shard_chunk_begin(int chunks, int shards, int s) {
  return static_cast<int>(static_cast<std::int64_t>(chunks) * s / shards);
}

struct Grid {
  int regions = 1, shards = 1;
  int workers() const { return regions * shards; }
  std::string text() const { return std::to_string(regions) + "x" + std::to_string(shards); }
};

/// Parses "RxS" (R, S >= 1); false on anything else.
bool parse_grid(const std::string& text, Grid& g);

/// Modelled flops of one iteration's critical path on grid g (compute of the busiest cell, the
/// chunk reduction and the barriers); the quantities are in docs/algorithm.md.
double grid_cost(const Dims& dims, const Grid& g, const ColumnChunks& chunks);

/// Every grid R x S = P allowed for these sizes: R <= N-1, S <= number of chunks, S = 1 unless
/// `shardable` (only the exact TS3 updates split the samples).
std::vector<Grid> feasible_grids(const Dims& dims, int workers, const ColumnChunks& chunks, bool shardable);

/// The feasible grid of least grid_cost (ties: more regions), leaving out S > 1 when the shared
/// chunk partials would take more memory than the state; {0, 0} when none is feasible.
Grid choose_grid(const Dims& dims, int workers, const ColumnChunks& chunks, bool shardable);

/// The grid a run uses: --grid when given, else choose_grid for --workers (with --workers -1, the
/// largest P <= the resolved count that has a feasible grid). {1, 1} in-process. Throws
/// Error(kUsage) naming --grid / --workers / --chunk-columns when the samples are too few.
Grid resolve_grid(const Settings& s, const Dims& dims);

/// The cells in rank order r * S + s: region r of partition_layers(dims, R), chunks of shard s.
std::vector<Region> grid_cells(const Dims& dims, const Grid& g, const ColumnChunks& chunks);

}  // namespace radmm
