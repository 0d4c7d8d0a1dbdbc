// The in-process transport: every layer's phase work in the coordinator itself.
#include "coordinator/transport.hpp"

#include <unistd.h>

#include <limits>

#include "common/io.hpp"

namespace radmm {

namespace {

class InProcessTransport final : public Transport {
 public:
  InProcessTransport(const State& s, const Penalties& pen, FaultPlan fault)
      : state_(s), pen_(pen), fault_(std::move(fault)), z_(s.dims().width, s.dims().samples) {
    stats_.rank = 0;
    stats_.pid = ::getpid();
    stats_.region = Region{1, s.dims().hidden(), 0};
    stats_.region_bytes = s.layout().region_bytes(1, s.dims().hidden());
  }
  PhaseReport run_phase(Phase ph, std::int64_t iter) override {
    const int phi = static_cast<int>(ph);
    const double t0 = now_seconds();
    bool poison = false;
    if (fault_.matches(0, iter, phi)) poison = fault_.fire_before();
    radmm::run_phase(ph, stats_.region, state_, pen_, z_);
    if (poison) state_.W(1)(0, 0) = std::numeric_limits<double>::quiet_NaN();
    PhaseReport rep;
    rep.bad = check_phase(ph, stats_.region, state_);
    rep.slowest_compute_s = now_seconds() - t0;
    stats_.compute_s[phi] += rep.slowest_compute_s;
    return rep;
  }
  void stop() override { stats_.peak_rss = peak_rss_bytes(); }
  std::vector<WorkerStats> stats() const override { return {stats_}; }
  int workers() const override { return 0; }

 private:
  State state_;
  Penalties pen_;
  FaultPlan fault_;
  Mat z_;
  WorkerStats stats_;
};

}  // namespace

std::unique_ptr<Transport> make_in_process_transport(const State& state, const Penalties& pen, FaultPlan fault) {
  return std::make_unique<InProcessTransport>(state, pen, std::move(fault));
}

}  // namespace radmm
