// The phase protocol with ranks as threads over the same control block and queues as the
// forked workers: P = 1..4 threads give the in-process iterates bit for bit, the partition
// is contiguous and balanced, and a worker's error text reaches the coordinator. Fast, and
// runnable under ThreadSanitizer (./run.sh tsan).
#include <doctest/doctest.h>

#include <cstring>

#include "common/error.hpp"
#include "coordinator/trainer.hpp"
#include "coordinator/transport.hpp"
#include "helpers.hpp"
#include "worker/protocol.hpp"

using namespace radmm;

namespace {

Dims dims7() { return test::make_dims(7, 4, 6, 1, 33); }

Penalties pens() { return test::make_penalties(1.1, 0.9, 3, 0.2, 0.01); }

FaultPlan fault_at(int worker, std::int64_t iteration, Phase phase, const std::string& action) {
  FaultPlan f;
  f.active = true;
  f.worker = worker;
  f.iteration = iteration;
  f.phase = static_cast<int>(phase);
  f.action = action;
  return f;
}

/// P worker threads over a random 7-layer state (seeded), with an optional fault.
struct ThreadRig {
  StateBuffer buf;
  State s;
  std::unique_ptr<LayerKernel> kernel;  // outlives the transport
  std::unique_ptr<Transport> t;
  ThreadRig(int workers, std::uint64_t seed, double timeout, FaultPlan fault = {})
      : buf(dims7(), control_bytes(workers)), s(buf.state()) {
    test::random_state(s, seed, Activation::kRelu);
    kernel = make_layer_kernel(s, pens());
    t = make_thread_transport(*kernel, buf.control(), partition_layers(s.dims(), workers), timeout, std::move(fault));
  }
};

void iterate(Transport& t, const State& s, const Penalties& pen, int iterations, std::vector<double>& objective) {
  for (int k = 1; k <= iterations; ++k) {
    for (int p = 0; p < kPhaseCount; ++p) t.run_phase(static_cast<Phase>(p), k);
    objective.push_back(finish_iteration(s, pen));
  }
  t.stop();
}

}  // namespace

TEST_CASE("threads P = 1..4 reproduce the in-process iterates bit for bit") {
  const Penalties pen = pens();
  StateBuffer ref_buf(dims7());
  const State ref = ref_buf.state();
  test::random_state(ref, 17, Activation::kRelu);
  std::vector<double> ref_obj;
  {
    const auto kernel = make_layer_kernel(ref, pen);
    auto t = make_in_process_transport(*kernel, {});
    iterate(*t, ref, pen, 8, ref_obj);
  }
  for (int p = 1; p <= 4; ++p) {
    CAPTURE(p);
    ThreadRig rig(p, 17, 30);
    std::vector<double> obj;
    iterate(*rig.t, rig.s, pen, 8, obj);
    CHECK(obj == ref_obj);
    CHECK(std::memcmp(rig.s.base(), ref.base(), rig.buf.layout().bytes()) == 0);
    const auto stats = rig.t->stats();
    REQUIRE(stats.size() == static_cast<std::size_t>(p));
    for (const auto& w : stats) CHECK(w.compute_s[0] > 0);
  }
}

TEST_CASE("partition: contiguous, non-empty, covering, balanced") {
  for (int depth : {2, 3, 7, 21, 51}) {
    Dims d = dims7();
    d.depth = depth;
    for (int p = 1; p <= std::min(depth - 1, 6); ++p) {
      CAPTURE(depth);
      CAPTURE(p);
      const auto parts = partition_layers(d, p);
      REQUIRE(parts.size() == static_cast<std::size_t>(p));
      CHECK(parts.front().first == 1);
      CHECK(parts.back().last == depth - 1);
      double total = 0, biggest = 0, largest_layer = 0;
      for (int i = 1; i < depth; ++i) {
        total += layer_flops(d, i);
        largest_layer = std::max(largest_layer, layer_flops(d, i));
      }
      for (std::size_t k = 0; k < parts.size(); ++k) {
        CHECK(parts[k].first <= parts[k].last);
        if (k > 0) CHECK(parts[k].first == parts[k - 1].last + 1);
        biggest = std::max(biggest, parts[k].cost);
      }
      // Greedy-with-bisection is within one layer of the ideal bottleneck.
      CHECK(biggest <= total / p + largest_layer + 1e-6 * total);
    }
  }
}

TEST_CASE("a worker's error report reaches the coordinator with its text") {
  ThreadRig rig(3, 2, 30, fault_at(2, 2, Phase::kActivationsOdd, "throw"));
  std::vector<double> obj;
  try {
    iterate(*rig.t, rig.s, pens(), 3, obj);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kWorkerFailed);
    const std::string what = e.what();
    CHECK(what.find("worker 2") != std::string::npos);
    CHECK(what.find("injected fault") != std::string::npos);
    CHECK(what.find("phase V-odd of iteration 2") != std::string::npos);
  }
  CHECK(obj.size() == 1);
  CHECK(test::radmm_shm_entries().empty());
}

TEST_CASE("a phase that overruns its deadline is reported with exit code 5") {
  ThreadRig rig(2, 2, 0.3, fault_at(1, 1, Phase::kWeights, "sleep:700"));
  try {
    rig.t->run_phase(Phase::kWeights, 1);
    FAIL("no deadline");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kDeadline);
    CHECK(std::string(e.what()).find("worker 1") != std::string::npos);
  }
}
