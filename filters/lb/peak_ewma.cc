// PEAK_EWMA: power of two choices on cost = latency EWMA x (active_requests + 1) / weight, the
// time the request would wait behind the ones in flight, per unit of capacity.
//
// The EWMA (HostState::observeLatency) is read decayed towards 0 by the time since its last
// observation (time constant options.ewma_decay_ns), as Finagle and Linkerd do: an endpoint that
// was slow and has since been left alone is tried again eventually, and its next observation
// sets its estimate afresh. An endpoint with no observation yet gets a neutral start: the
// average EWMA of the usable endpoints that have one, or options.default_latency_us when none
// has, so it is neither flooded (cost 0) nor starved (cost infinite).

#include <algorithm>
#include <cmath>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

constexpr uint32_t kChoices = 2;

class PeakEwmaBalancer final : public RandomizedBalancer<NoTable> {
 public:
  using RandomizedBalancer::RandomizedBalancer;

  int pick(const PickContext& ctx) noexcept override {
    neutral_latency_us_ = -1;  // computed at most once per pick, when needed
    return pickCheapestOf(ctx, kChoices,
                          [this, &ctx](int a, int b) { return cost(a, ctx) < cost(b, ctx); });
  }

 private:
  // The EWMA in microseconds at `now_ns`, decayed; 0: no observation yet.
  double decayedLatencyUs(const HostState& state, uint64_t now_ns) const noexcept {
    double ewma = state.ewmaMicros();
    uint64_t stamp = state.ewma_stamp_ns.load(std::memory_order_relaxed);
    if (ewma <= 0 || now_ns <= stamp) {
      return std::max(ewma, 0.0);
    }
    double decay_ns = static_cast<double>(std::max<uint64_t>(options().ewma_decay_ns, 1));
    return ewma * std::exp(-static_cast<double>(now_ns - stamp) / decay_ns);
  }

  double neutralLatencyUs(const PickContext& ctx) noexcept {
    if (neutral_latency_us_ >= 0) {
      return neutral_latency_us_;
    }
    double sum = 0;
    uint32_t observed = 0;
    for (const Host& host : hosts()) {
      if (!isUsable(host, ctx)) {
        continue;
      }
      double latency = decayedLatencyUs(*host.state, ctx.now_ns);
      if (latency > 0) {
        sum += latency;
        ++observed;
      }
    }
    neutral_latency_us_ = observed > 0 ? sum / observed : options().default_latency_us;
    return neutral_latency_us_;
  }

  double cost(int index, const PickContext& ctx) noexcept {
    const Host& host = hosts()[static_cast<size_t>(index)];
    double latency = decayedLatencyUs(*host.state, ctx.now_ns);
    if (latency <= 0) {
      latency = neutralLatencyUs(ctx);
    }
    return latency * static_cast<double>(requestsWithThisOne(host)) / effectiveWeight(host);
  }

  double neutral_latency_us_ = -1;  // this pick's neutral start; < 0: not computed yet
};

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makePeakEwmaFactory(std::vector<Host> hosts,
                                                               const Options& options) {
  return makeFactory<PeakEwmaBalancer>(Policy::kPeakEwma, std::move(hosts), options);
}

}  // namespace remora::filters::lb::internal
