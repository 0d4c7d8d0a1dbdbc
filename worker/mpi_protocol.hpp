// What rank 0 and the worker ranks of the MPI transport say to each other (docs/protocol.md,
// "MPI transport"): fixed-size setup / command / report records, and which state blocks travel
// before and after each phase. Both sides derive the block lists from the same function, so
// the messages need no headers: the n-th block message of a phase is the n-th list entry.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/admm.hpp"
#include "common/layout.hpp"
#include "common/partition.hpp"
#include "worker/phases.hpp"

namespace radmm {

/// Rank 0 -> worker, once: everything a worker needs besides the blocks (same binary everywhere).
struct MpiSetup {
  char magic[8] = {'R', 'A', 'D', 'M', 'M', 'P', 'I', '1'};
  std::int32_t struct_bytes = sizeof(MpiSetup);  ///< a rank built from other sources disagrees here
  std::int32_t scalar_bytes = 8;
  Dims dims;
  Penalties pen;
  Region region;
  double phase_timeout_s = 300;
};

enum class MpiCommandType : std::int32_t { kPhase = 0, kSync = 1, kStop = 2 };

/// Rank 0 -> worker before each step; the blocks of inbound_blocks / owned_blocks follow.
struct MpiCommand {
  MpiCommandType type = MpiCommandType::kPhase;
  std::int32_t phase = 0;
  std::int64_t iteration = 0;
};

/// Worker -> rank 0 after each phase (before the written blocks), and once after kStop with
/// the totals. status != 0: `text` says what failed and no blocks follow.
struct MpiReport {
  std::int32_t status = 0;
  std::int32_t bad_layer = 0;
  char bad_block = 0;
  std::int32_t pid = 0;
  double compute_s = 0;                  ///< this phase
  double compute_total_s[kPhaseCount] = {};
  double wait_total_s[kPhaseCount] = {};
  std::int64_t peak_rss = 0;
  char text[224] = {};
};

/// One state block: 'W', 'U', 'V' of a layer, 'X', 'N' (V_N), 'L' (Lambda), or 'P': the
/// layer terms partial[layer .. layer + count - 1] (doubles) that the U phase computes.
struct BlockRef {
  char kind;
  int layer;
  int count = 1;
};

/// Blocks a region reads in phase `ph` that another region (or rank 0) writes.
std::vector<BlockRef> inbound_blocks(Phase ph, const Region& r, const Dims& d, const Penalties& pen);
/// Blocks a region writes in phase `ph` (the U phase also its layer terms, 'P').
std::vector<BlockRef> outbound_blocks(Phase ph, const Region& r, const Dims& d, const Penalties& pen);
/// Blocks a region owns, plus X for the region of layer 1: sent at start and after rank 0
/// rewrote the auxiliaries (re-projection).
std::vector<BlockRef> owned_blocks(const Region& r, const Dims& d, const Penalties& pen);

/// Byte offset and length of block `b` in a state laid out by `l`.
struct ByteSpan {
  std::size_t offset = 0, bytes = 0;
};
ByteSpan span_of(const Layout& l, BlockRef b);
/// Total bytes of a block list.
std::size_t bytes_of(const Layout& l, const std::vector<BlockRef>& blocks);

}  // namespace radmm
