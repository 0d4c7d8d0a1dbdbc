// The MPI transport's block lists without mpirun (so also under the sanitizers): for every split
// of the layers and every phase, a state holding only a region's owned blocks and the phase's
// inbound blocks (everything else NaN) gives bit-for-bit the written blocks and layer terms of
// the full state. A block the kernel reads but the lists forget would turn them into NaN.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "common/layout.hpp"
#include "common/partition.hpp"
#include "helpers.hpp"
#include "worker/mpi_protocol.hpp"
#include "worker/phases.hpp"

using namespace radmm;

namespace {

void copy_blocks(const Layout& l, const std::vector<BlockRef>& blocks, const char* from, char* to) {
  for (const BlockRef& b : blocks) {
    const ByteSpan s = span_of(l, b);
    std::memcpy(to + s.offset, from + s.offset, s.bytes);
  }
}

bool same_blocks(const Layout& l, const std::vector<BlockRef>& blocks, const char* a, const char* b) {
  for (const BlockRef& blk : blocks) {
    const ByteSpan s = span_of(l, blk);
    if (std::memcmp(a + s.offset, b + s.offset, s.bytes) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("mpi blocks: owned + inbound blocks suffice for every phase, split and variant") {
  const Dims dims = test::make_dims(7, 3, 5, 2, 11);
  for (int variant = 0; variant < 3; ++variant) {
    Penalties pen = test::make_penalties(1.1, 0.9, 3, 0.2, 0.01);
    pen.ts2 = variant == 1;
    pen.linearized = variant == 2;
    StateBuffer full(dims);
    const State s = full.state();
    test::random_state(s, 7, Activation::kRelu);
    const Layout& l = full.layout();
    for (int p = 1; p <= dims.hidden(); ++p)
      for (const Region& r : partition_layers(dims, p))
        for (int ph = 0; ph < kPhaseCount; ++ph) {
          CAPTURE(variant);
          CAPTURE(p);
          CAPTURE(r.first);
          CAPTURE(ph);
          const Phase phase = static_cast<Phase>(ph);
          StateBuffer ref(dims), part(dims);
          std::memcpy(ref.state().base(), s.base(), l.bytes());
          double* nan = reinterpret_cast<double*>(part.state().base());
          for (std::size_t i = 0; i < l.bytes() / sizeof(double); ++i) nan[i] = std::nan("");
          copy_blocks(l, owned_blocks(r, dims, pen), s.base(), part.state().base());
          copy_blocks(l, inbound_blocks(phase, r, dims, pen), s.base(), part.state().base());
          make_layer_kernel<double>(ref.state(), pen)->run(phase, r);
          make_layer_kernel<double>(part.state(), pen)->run(phase, r);
          const auto out = outbound_blocks(phase, r, dims, pen);
          if (phase == Phase::kWeights || phase == Phase::kPreactivations) CHECK(!out.empty());  // a V phase may have no layer of its parity here
          CHECK(same_blocks(l, out, ref.state().base(), part.state().base()));
        }
  }
}

TEST_CASE("mpi blocks: sizes follow the layout") {
  const Dims dims = test::make_dims(5, 3, 4, 2, 10);
  const Layout l = Layout::make(dims);
  CHECK(span_of(l, {'V', 2}).bytes == 4 * 10 * 8);
  CHECK(span_of(l, {'W', 1}).bytes == 4 * (3 + 1) * 8);
  CHECK(span_of(l, {'W', 5}).bytes == 2 * (4 + 1) * 8);
  CHECK(span_of(l, {'P', 2, 3}).bytes == 3 * 8);
  const Region last{3, 4, 0};
  // W phase of the last region: V_2 in, plus V_N and Lambda (2 x 10 each).
  CHECK(bytes_of(l, inbound_blocks(Phase::kWeights, last, dims, Penalties{})) == (40 + 20 + 20) * 8);
}
