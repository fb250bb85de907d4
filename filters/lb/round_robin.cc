// ROUND_ROBIN: the candidates in index order, one after the other.
// WEIGHTED_ROUND_ROBIN: nginx's smooth weighted round robin. Every pick adds each candidate's
// weight to its current weight, takes the candidate with the largest current weight and takes
// the candidates' total weight off the winner's: over any total-weight picks each endpoint gets
// its weight's share, interleaved rather than in bursts (5:1:1 goes a a b a c a a).
//
// Both start each worker at a seed-dependent endpoint (WRR: the first of equal current weights
// in scan order), so the workers do not all send their first requests to endpoint 0.

#include <vector>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

size_t startOffset(uint64_t seed, size_t host_count) noexcept {
  return host_count == 0 ? 0 : static_cast<size_t>(mix64(seed) % host_count);
}

class RoundRobinBalancer final : public LoadBalancer {
 public:
  RoundRobinBalancer(std::shared_ptr<const SharedState<NoTable>> shared, uint64_t seed)
      : shared_(std::move(shared)), next_(startOffset(seed, shared_->hosts.size())) {}

  int pick(const PickContext& ctx) noexcept override {
    const std::vector<Host>& hosts = shared_->hosts;
    for (size_t step = 0; step < hosts.size(); ++step) {
      size_t i = (next_ + step) % hosts.size();
      if (isCandidate(hosts, static_cast<int>(i), ctx)) {
        next_ = i + 1;
        return static_cast<int>(i);
      }
    }
    return lastResort(hosts, ctx);
  }

 private:
  std::shared_ptr<const SharedState<NoTable>> shared_;
  size_t next_;  // where the next scan starts
};

class SmoothWeightedRoundRobinBalancer final : public LoadBalancer {
 public:
  SmoothWeightedRoundRobinBalancer(std::shared_ptr<const SharedState<NoTable>> shared,
                                   uint64_t seed)
      : shared_(std::move(shared)),
        current_(shared_->hosts.size(), 0),
        scan_start_(startOffset(seed, shared_->hosts.size())) {}

  int pick(const PickContext& ctx) noexcept override {
    const std::vector<Host>& hosts = shared_->hosts;
    int best = -1;
    int64_t total = 0;
    for (size_t step = 0; step < hosts.size(); ++step) {
      size_t i = (scan_start_ + step) % hosts.size();
      if (!isCandidate(hosts, static_cast<int>(i), ctx)) {
        continue;  // an unavailable endpoint keeps its current weight for when it is back
      }
      int64_t weight = effectiveWeight(hosts[i]);
      current_[i] += weight;
      total += weight;
      if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) {
        best = static_cast<int>(i);
      }
    }
    if (best < 0) {
      return lastResort(hosts, ctx);
    }
    current_[static_cast<size_t>(best)] -= total;
    return best;
  }

 private:
  std::shared_ptr<const SharedState<NoTable>> shared_;
  std::vector<int64_t> current_;  // per endpoint
  size_t scan_start_;             // ties go to the first in scan order
};

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makeRoundRobinFactory(std::vector<Host> hosts,
                                                                 const Options& options) {
  return makeFactory<RoundRobinBalancer>(Policy::kRoundRobin, std::move(hosts), options);
}

std::shared_ptr<const LoadBalancerFactory> makeWeightedRoundRobinFactory(std::vector<Host> hosts,
                                                                         const Options& options) {
  return makeFactory<SmoothWeightedRoundRobinBalancer>(Policy::kWeightedRoundRobin,
                                                       std::move(hosts), options);
}

}  // namespace remora::filters::lb::internal
