// The in-process transport: every layer's phase work in the coordinator itself.
#include "coordinator/transport.hpp"

#include <unistd.h>

#include "common/io.hpp"

namespace radmm {

namespace {

class InProcessTransport final : public Transport {
 public:
  InProcessTransport(const LayerKernel& kernel, FaultPlan fault) : kernel_(kernel.clone()), fault_(std::move(fault)) {
    stats_.rank = 0;
    stats_.pid = ::getpid();
    stats_.region = Region{1, kernel.dims().hidden(), 0};
    stats_.region_bytes = kernel.layout().region_bytes(1, kernel.dims().hidden());
  }
  PhaseReport run_phase(Phase ph, std::int64_t iter) override {
    const int phi = static_cast<int>(ph);
    const double t0 = now_seconds();
    bool poison = false;
    if (fault_.matches(0, iter, phi)) poison = fault_.fire_before();
    kernel_->run(ph, stats_.region);
    if (poison) kernel_->poison(1);
    PhaseReport rep;
    rep.bad = kernel_->check(ph, stats_.region);
    rep.slowest_compute_s = now_seconds() - t0;
    stats_.compute_s[phi] += rep.slowest_compute_s;
    return rep;
  }
  void stop() override { stats_.peak_rss = peak_rss_bytes(); }
  std::vector<WorkerStats> stats() const override { return {stats_}; }
  int workers() const override { return 0; }

 private:
  std::unique_ptr<LayerKernel> kernel_;
  FaultPlan fault_;
  WorkerStats stats_;
};

}  // namespace

std::unique_ptr<Transport> make_in_process_transport(const LayerKernel& kernel, FaultPlan fault) {
  return std::make_unique<InProcessTransport>(kernel, std::move(fault));
}

}  // namespace radmm
