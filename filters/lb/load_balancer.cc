#include "filters/lb/load_balancer.h"

#include <utility>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb {

std::string_view policyName(Policy p) noexcept {
  switch (p) {
    case Policy::kRoundRobin:
      return "ROUND_ROBIN";
    case Policy::kWeightedRoundRobin:
      return "WEIGHTED_ROUND_ROBIN";
    case Policy::kRandom:
      return "RANDOM";
    case Policy::kLeastRequest:
      return "LEAST_REQUEST";
    case Policy::kRingHash:
      return "RING_HASH";
    case Policy::kMaglev:
      return "MAGLEV";
    case Policy::kPeakEwma:
      return "PEAK_EWMA";
  }
  return "UNKNOWN";
}

std::shared_ptr<const LoadBalancerFactory> makeLoadBalancerFactory(Policy policy,
                                                                   std::vector<Host> hosts,
                                                                   const Options& options) {
  switch (policy) {
    case Policy::kRoundRobin:
      return internal::makeRoundRobinFactory(std::move(hosts), options);
    case Policy::kWeightedRoundRobin:
      return internal::makeWeightedRoundRobinFactory(std::move(hosts), options);
    case Policy::kRandom:
      return internal::makeRandomFactory(std::move(hosts), options);
    case Policy::kLeastRequest:
      return internal::makeLeastRequestFactory(std::move(hosts), options);
    case Policy::kRingHash:
      return internal::makeRingHashFactory(std::move(hosts), options);
    case Policy::kMaglev:
      return internal::makeMaglevFactory(std::move(hosts), options);
    case Policy::kPeakEwma:
      return internal::makePeakEwmaFactory(std::move(hosts), options);
  }
  return internal::makeRoundRobinFactory(std::move(hosts), options);
}

uint64_t hashKey(std::string_view key) noexcept {
  return internal::mix64(internal::fnv1a64(key));
}

}  // namespace remora::filters::lb
