// The grid's cost model and cells (see grid.hpp; the model is stated in docs/algorithm.md).
#include "common/grid.hpp"

#include <algorithm>
#include <cstdio>

#include "common/error.hpp"
#include "common/reduction.hpp"

namespace radmm {

namespace {

/// A barrier (go + done round trip over P workers) in flop equivalents: about 20-50 us at the
/// 2-5 GFLOP/s a core reaches on these sizes (docs/benchmarks.md, synchronisation overhead).
constexpr double kBarrierFlops = 1e5;
/// W, V-even, V-odd, U (one inner pass).
constexpr int kPhasesPerIteration = 4;

/// Work of hidden layer i (plus W_N when i = N-1) split by how it scales with the grid.
struct LayerWork {
  double columns = 0;  ///< proportional to the samples: divided among the shards
  double system = 0;   ///< V_i's d x d factorisation, repeated by every shard of the region
  double solve = 0;    ///< the W solves (W_i, and W_N), done once per layer by one shard
  double reduce = 0;   ///< per chunk: adding one chunk partial of the W sums (S > 1 only)
};

LayerWork layer_work(const Dims& dims, int i) {
  const double n = static_cast<double>(dims.samples), d = dims.width, c = dims.outputs;
  const double k = static_cast<double>(dims.w_cols(i) - 1);
  const bool last = i == dims.depth - 1;
  const double next = last ? c : d;
  LayerWork w;
  // W_i: Gram of P~ (none for layer 1 after the first iteration: X never changes) and P~ U^T.
  w.columns = (i == 1 ? 0 : k * (k + 1) * n) + 2 * (k + 1) * d * n;
  w.columns += 2 * d * k * n;                                 // U_i: Z = W_i V~_{i-1}
  w.columns += 2 * d * next * n * (last ? 2 : 1) + 2 * d * d * n;  // V_i: A^T terms and the solve
  w.system = d * (d + 1) * next + d * d * d / 3;
  w.solve = (k + 1) * (k + 1) * (k + 1) / 3 + 2 * (k + 1) * (k + 1) * d;
  w.reduce = (k + 1) * (k + 1 + d);
  if (last) {
    w.columns += d * (d + 1) * n + 2 * (d + 1) * c * n + 2 * c * d * n;  // W_N's sums, Z_N
    w.solve += (d + 1) * (d + 1) * (d + 1) / 3 + 2 * (d + 1) * (d + 1) * c;
    w.reduce += (d + 1) * (d + 1 + c);
  }
  return w;
}

}  // namespace

bool parse_grid(const std::string& text, Grid& g) {
  int r = 0, s = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &r, &x, &s, &extra) != 3 || (x != 'x' && x != 'X')) return false;
  if (r < 1 || s < 1 || text.find_first_not_of("0123456789xX") != std::string::npos) return false;
  g.regions = r;
  g.shards = s;
  return true;
}

double grid_cost(const Dims& dims, const Grid& g, const ColumnChunks& chunks) {
  const int k = chunks.count();
  // The largest shard's share of the columns.
  double share = 0;
  for (int s = 0; s < g.shards; ++s) {
    const int b = shard_chunk_begin(k, g.shards, s), e = shard_chunk_begin(k, g.shards, s + 1);
    const std::int64_t cols = e > b ? chunks.begin(e - 1) + chunks.cols(e - 1) - chunks.begin(b) : 0;
    share = std::max(share, static_cast<double>(cols) / static_cast<double>(chunks.n));
  }
  double worst = 0;
  for (const Region& r : partition_layers(dims, g.regions)) {
    double shared = 0;
    std::vector<double> solver(static_cast<std::size_t>(g.shards), 0.0);  // layer j of the region: shard j % S
    for (int i = r.first; i <= r.last; ++i) {
      const LayerWork w = layer_work(dims, i);
      shared += w.columns * share + w.system;
      solver[static_cast<std::size_t>((i - r.first) % g.shards)] +=
          w.solve + (g.shards > 1 ? w.reduce * k : 0.0);
    }
    worst = std::max(worst, shared + *std::max_element(solver.begin(), solver.end()));
  }
  const int barriers = kPhasesPerIteration + (g.shards > 1 ? 1 : 0);
  return worst + barriers * kBarrierFlops;
}

std::vector<Grid> feasible_grids(const Dims& dims, int workers, const ColumnChunks& chunks, bool shardable) {
  std::vector<Grid> out;
  for (int r = 1; r <= workers; ++r) {
    if (workers % r != 0) continue;
    const Grid g{r, workers / r};
    if (g.regions > dims.hidden() || g.shards > chunks.count() || (g.shards > 1 && !shardable)) continue;
    out.push_back(g);
  }
  return out;
}

namespace {
/// The shared chunk partials of S > 1 (K slots per layer) may not outgrow the state itself: a
/// memory rule, not a time one (many chunks of a wide input layer, e.g. 784 pixels).
bool chunk_partials_fit(const Dims& dims, const ColumnChunks& chunks) {
  return ReductionArea::bytes(dims, chunks, 8) <= Layout::make(dims, 8).bytes();
}
}  // namespace

Grid choose_grid(const Dims& dims, int workers, const ColumnChunks& chunks, bool shardable) {
  Grid best{0, 0};
  double best_cost = 0;
  const bool partials_fit = chunk_partials_fit(dims, chunks);
  for (const Grid& g : feasible_grids(dims, workers, chunks, shardable)) {
    if (g.shards > 1 && !partials_fit) continue;
    const double c = grid_cost(dims, g, chunks);
    // Ascending R: "<=" lets a later (more regions, fewer barriers) grid win a tie.
    if (best.regions == 0 || c <= best_cost) best = g, best_cost = c;
  }
  return best;
}

Grid resolve_grid(const Settings& s, const Dims& dims) {
  const int p = s.resolved_workers();
  if (p == 0) return Grid{1, 1};
  const ColumnChunks chunks{dims.samples, s.chunk_columns};
  const bool shardable = s.sample_shardable();
  const std::string sizes = std::to_string(dims.samples) + " training samples make " + std::to_string(chunks.count()) +
                            " chunk(s) of --chunk-columns " + std::to_string(s.chunk_columns);
  if (s.transport == "mpi") return Grid{p, 1};  // its workers own layer regions (validate: S = 1)
  Grid g;
  if (s.grid != "auto") {
    parse_grid(s.grid, g);  // validate() accepted it
    if (g.shards > chunks.count())
      throw Error(ExitCode::kUsage, "--grid " + s.grid + " asks for " + std::to_string(g.shards) + " sample shards but the " +
                  sizes, "--grid", "use fewer shards or a smaller --chunk-columns");
    return g;
  }
  for (int q = p; q >= 1; --q) {
    g = choose_grid(dims, q, chunks, shardable);
    if (g.regions > 0 || s.workers > 0) break;  // an explicit --workers is not lowered
  }
  if (g.regions == 0) {
    // Too few chunks asks for smaller chunks; partials larger than the state for larger ones
    // (fewer chunk slots): name the smallest doubling of --chunk-columns that fits.
    std::string hint = "use fewer workers or a smaller --chunk-columns";
    const auto fits = [&](int c) { return chunk_partials_fit(dims, ColumnChunks{dims.samples, c}); };
    if (shardable && chunks.count() >= 2 && !fits(s.chunk_columns)) {
      int c = s.chunk_columns;
      while (!fits(c) && c < dims.samples / 2) c *= 2;
      if (fits(c) && ColumnChunks{dims.samples, c}.count() >= 2)
        hint = "use fewer workers or --chunk-columns " + std::to_string(c) + " (fewer, larger chunk partials)";
    }
    throw Error(ExitCode::kUsage,
                "--workers " + std::to_string(p) + " has no grid R x S = P with R <= depth - 1 = " +
                    std::to_string(dims.hidden()) + " and S <= the chunks (" + sizes + ")" +
                    (shardable ? "; S > 1 also needs the shared chunk partials to fit in the size of the state"
                               : "; --splitting ts2 and --update linearized need S = 1"),
                "--workers", hint);
  }
  return g;
}

std::vector<Region> grid_cells(const Dims& dims, const Grid& g, const ColumnChunks& chunks) {
  std::vector<Region> cells;
  const int k = chunks.count();
  for (const Region& r : partition_layers(dims, g.regions)) {
    for (int s = 0; s < g.shards; ++s) {
      Region c = r;
      c.shard = s;
      c.shards = g.shards;
      c.chunk_begin = shard_chunk_begin(k, g.shards, s);
      c.chunk_end = shard_chunk_begin(k, g.shards, s + 1);
      cells.push_back(c);
    }
  }
  return cells;
}

}  // namespace radmm
