// RING_HASH: a ketama-style hash ring. Each endpoint owns points on a 64-bit ring in proportion
// to its weight; point r of an endpoint is hashKeySalted(key, r). A request goes to the owner of
// the first point at or after its hash.
//
// Points per unit of weight: the smallest power of two (possibly below 1) that puts at least
// options.ring_size points on the ring, each endpoint getting ceil(weight x that) and at least
// one. A power of two rather than ring_size / total weight keeps the count of the others when
// an endpoint comes or goes (unless ring_size / total weight crosses a power of two), so that only
// the requests of the endpoint's own points move.

#include <algorithm>
#include <cmath>
#include <utility>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

struct Ring {
  std::vector<uint64_t> points;  // sorted
  std::vector<uint32_t> owners;  // owners[i]: the endpoint of points[i]

  size_t start(uint64_t hash) const noexcept {
    auto at = std::lower_bound(points.begin(), points.end(), hash);
    return at == points.end() ? 0 : static_cast<size_t>(at - points.begin());
  }
};

Ring buildRing(const std::vector<Host>& hosts, const Options& options) {
  double total_weight = 0;
  for (const Host& host : hosts) {
    total_weight += effectiveWeight(host);
  }
  const double min_points = std::max<uint32_t>(options.ring_size, 1);
  double points_per_weight = 1;
  while (total_weight * points_per_weight < min_points) {
    points_per_weight *= 2;
  }
  while (total_weight * points_per_weight / 2 >= min_points) {
    points_per_weight /= 2;
  }
  std::vector<std::pair<uint64_t, uint32_t>> entries;
  for (size_t i = 0; i < hosts.size(); ++i) {
    auto replicas = static_cast<uint64_t>(std::ceil(effectiveWeight(hosts[i]) * points_per_weight));
    replicas = std::max<uint64_t>(replicas, 1);
    for (uint64_t replica = 0; replica < replicas; ++replica) {
      entries.emplace_back(hashKeySalted(hosts[i].key, replica), static_cast<uint32_t>(i));
    }
  }
  std::sort(entries.begin(), entries.end());  // equal points: the lower endpoint index first
  Ring ring;
  ring.points.reserve(entries.size());
  ring.owners.reserve(entries.size());
  for (const auto& [point, owner] : entries) {
    ring.points.push_back(point);
    ring.owners.push_back(owner);
  }
  return ring;
}

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makeRingHashFactory(std::vector<Host> hosts,
                                                               const Options& options) {
  Ring ring = buildRing(hosts, options);
  return makeFactory<ConsistentHashBalancer<Ring>>(Policy::kRingHash, std::move(hosts), options,
                                                   std::move(ring));
}

}  // namespace remora::filters::lb::internal
