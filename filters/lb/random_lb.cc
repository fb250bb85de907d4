// RANDOM: a uniformly random candidate (weights are not considered).

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

class RandomBalancer final : public RandomizedBalancer<NoTable> {
 public:
  using RandomizedBalancer::RandomizedBalancer;
  int pick(const PickContext& ctx) noexcept override { return pickRandom(ctx); }
};

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makeRandomFactory(std::vector<Host> hosts,
                                                             const Options& options) {
  return makeFactory<RandomBalancer>(Policy::kRandom, std::move(hosts), options);
}

}  // namespace remora::filters::lb::internal
