// Block lists of the MPI transport (see mpi_protocol.hpp). They follow the reads and writes of
// step_weights / step_activations / step_preactivations in phases.cpp exactly.
#include "worker/mpi_protocol.hpp"

namespace radmm {

std::vector<BlockRef> inbound_blocks(Phase ph, const Region& r, const Dims& d, const Penalties& pen) {
  const int n_layers = d.depth;
  const bool last = r.last == n_layers - 1;
  std::vector<BlockRef> out;
  switch (ph) {
    case Phase::kWeights:
    case Phase::kPreactivations:
      if (r.first > 1) out.push_back({'V', r.first - 1});  // V~_{a-1} of W_a / U_a
      if (ph == Phase::kWeights && last) out.push_back({'N', 0}), out.push_back({'L', 0});  // W_N's target
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      if (r.first > 1 && r.first % 2 == parity) out.push_back({'V', r.first - 1});
      if (r.last % 2 == parity) {
        if (last) {
          out.push_back({'N', 0}), out.push_back({'L', 0});
        } else {  // the layer above: its W, V and (TS3) U
          out.push_back({'W', r.last + 1});
          out.push_back({'V', r.last + 1});
          if (!pen.ts2) out.push_back({'U', r.last + 1});
        }
      }
      break;
    }
    case Phase::kWeightsReduce:  // the sample-shard rounds: MPI runs R x 1 grids only (validate)
    case Phase::kPreactivationsReduce:
      break;
  }
  return out;
}

std::vector<BlockRef> outbound_blocks(Phase ph, const Region& r, const Dims& d, const Penalties& pen) {
  std::vector<BlockRef> out;
  switch (ph) {
    case Phase::kWeights:
      for (int i = r.first; i <= r.last; ++i) out.push_back({'W', i});
      if (r.last == d.depth - 1) out.push_back({'W', d.depth});
      break;
    case Phase::kActivationsEven:
    case Phase::kActivationsOdd: {
      const int parity = ph == Phase::kActivationsEven ? 0 : 1;
      for (int i = r.first; i <= r.last; ++i)
        if (i % 2 == parity) out.push_back({'V', i});
      break;
    }
    case Phase::kPreactivations:
      if (!pen.ts2)
        for (int i = r.first; i <= r.last; ++i) out.push_back({'U', i});
      out.push_back({'P', r.first, r.last - r.first + 1});
      break;
    case Phase::kWeightsReduce:  // never sent: see inbound_blocks
    case Phase::kPreactivationsReduce:
      break;
  }
  return out;
}

std::vector<BlockRef> owned_blocks(const Region& r, const Dims& d, const Penalties& pen) {
  std::vector<BlockRef> out;
  if (r.first == 1) out.push_back({'X', 0});
  for (int i = r.first; i <= r.last; ++i) {
    out.push_back({'W', i});
    if (!pen.ts2) out.push_back({'U', i});
    out.push_back({'V', i});
  }
  if (r.last == d.depth - 1) out.push_back({'W', d.depth});
  return out;
}

ByteSpan span_of(const Layout& l, BlockRef b) {
  const Dims& d = l.dims;
  const auto n = static_cast<std::size_t>(d.samples);
  const std::size_t sb = l.scalar_bytes;
  switch (b.kind) {
    case 'W': return {l.w[b.layer], static_cast<std::size_t>(d.w_rows(b.layer) * d.w_cols(b.layer)) * sb};
    case 'U': return {l.u[b.layer], static_cast<std::size_t>(d.width) * n * sb};
    case 'V': return {l.v[b.layer], static_cast<std::size_t>(d.width) * n * sb};
    case 'X': return {l.x, static_cast<std::size_t>(d.d0) * n * sb};
    case 'N': return {l.vn, static_cast<std::size_t>(d.outputs) * n * sb};
    case 'L': return {l.lambda, static_cast<std::size_t>(d.outputs) * n * sb};
    case 'P': return {l.partial + sizeof(double) * static_cast<std::size_t>(b.layer), sizeof(double) * static_cast<std::size_t>(b.count)};
  }
  return {};
}

std::size_t bytes_of(const Layout& l, const std::vector<BlockRef>& blocks) {
  std::size_t total = 0;
  for (const BlockRef& b : blocks) total += span_of(l, b).bytes;
  return total;
}

}  // namespace radmm
