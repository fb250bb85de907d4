#include "filters/lb/load_balancer.h"

#include <iterator>
#include <utility>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb {
namespace {

// Indexed by Policy, in its declaration order.
constexpr std::string_view kPolicyNames[] = {
    "ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "RING_HASH", "MAGLEV",
    "PEAK_EWMA"};
constexpr internal::FactoryMaker* kFactoryMakers[] = {
    internal::makeRoundRobinFactory, internal::makeWeightedRoundRobinFactory,
    internal::makeRandomFactory,     internal::makeLeastRequestFactory,
    internal::makeRingHashFactory,   internal::makeMaglevFactory,
    internal::makePeakEwmaFactory};
constexpr size_t kPolicyCount = static_cast<size_t>(Policy::kPeakEwma) + 1;
static_assert(std::size(kPolicyNames) == kPolicyCount, "a name per policy");
static_assert(std::size(kFactoryMakers) == kPolicyCount, "a factory maker per policy");

}  // namespace

std::string_view policyName(Policy p) noexcept {
  auto index = static_cast<size_t>(p);
  return index < kPolicyCount ? kPolicyNames[index] : "UNKNOWN";
}

std::shared_ptr<const LoadBalancerFactory> makeLoadBalancerFactory(Policy policy,
                                                                   std::vector<Host> hosts,
                                                                   const Options& options) {
  auto index = static_cast<size_t>(policy);
  return kFactoryMakers[index < kPolicyCount ? index : 0](std::move(hosts), options);
}

uint64_t hashKey(std::string_view key) noexcept {
  return internal::mix64(internal::fnv1a64(key));
}

}  // namespace remora::filters::lb
