// LEAST_REQUEST: power of `choice_count` choices. Draws that many distinct candidates and takes
// the one with the lowest (active_requests + 1) / weight: the load it would have after this
// request, per unit of capacity. Requests in flight come from every worker (HostState).

#include <algorithm>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

class LeastRequestBalancer final : public RandomizedBalancer<NoTable> {
 public:
  LeastRequestBalancer(std::shared_ptr<const SharedState<NoTable>> shared, uint64_t seed)
      : RandomizedBalancer(std::move(shared), seed),
        choices_(std::max<uint32_t>(1, options().choice_count)) {}

  int pick(const PickContext& ctx) noexcept override {
    const std::vector<Host>& all = hosts();
    return pickCheapestOf(ctx, choices_, [&all](int a, int b) {
      const Host& host_a = all[static_cast<size_t>(a)];
      const Host& host_b = all[static_cast<size_t>(b)];
      // load_a / weight_a < load_b / weight_b, without division.
      return requestsWithThisOne(host_a) * effectiveWeight(host_b) <
             requestsWithThisOne(host_b) * effectiveWeight(host_a);
    });
  }

 private:
  uint32_t choices_;
};

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makeLeastRequestFactory(std::vector<Host> hosts,
                                                                   const Options& options) {
  return makeFactory<LeastRequestBalancer>(Policy::kLeastRequest, std::move(hosts), options);
}

}  // namespace remora::filters::lb::internal
