#pragma once
// Internal to filters/lb: what the policies share. Not part of the module's interface.
//
// Vocabulary of a pick:
//   usable    : the endpoint may take the request (`ctx.ignore_health` or HostState::available()).
//   candidate : usable and not `ctx.avoid`. A policy picks among candidates; when there is none,
//               `lastResort` gives `ctx.avoid` if it is usable (the only endpoint left), else -1.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/lb/load_balancer.h"

namespace remora::filters::lb::internal {

inline bool isUsable(const Host& host, const PickContext& ctx) noexcept {
  return ctx.ignore_health || host.state->available();
}

inline bool isCandidate(const std::vector<Host>& hosts, int index,
                        const PickContext& ctx) noexcept {
  return index != ctx.avoid && isUsable(hosts[static_cast<size_t>(index)], ctx);
}

// The pick when no candidate exists: the avoided endpoint if usable, else -1.
int lastResort(const std::vector<Host>& hosts, const PickContext& ctx) noexcept;

// A configured weight of 0 counts as 1: every endpoint a cluster lists takes some traffic.
inline uint32_t effectiveWeight(const Host& host) noexcept {
  return host.weight == 0 ? 1 : host.weight;
}

// The endpoint's requests in flight counting the one being placed (never below 1).
inline uint64_t requestsWithThisOne(const Host& host) noexcept {
  int32_t active = host.state->active_requests.load(std::memory_order_relaxed);
  return active > 0 ? static_cast<uint64_t>(active) + 1 : 1;
}

// FNV-1a 64 of `bytes`. Its low bits are weak on their own: finish it with mix64.
uint64_t fnv1a64(std::string_view bytes) noexcept;

// A strong 64-bit finalizer: every input bit affects every output bit.
uint64_t mix64(uint64_t x) noexcept;

// The hash of `key` followed by the 8 little-endian bytes of `salt`, made like hashKey:
// independent hashes of one key (ring replicas, Maglev's offset and skip), stable across
// processes.
uint64_t hashKeySalted(std::string_view key, uint64_t salt) noexcept;

// splitmix64: a small, fast generator; good enough to spread picks, not for secrets.
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) noexcept : state_(seed) {}
  uint64_t next() noexcept;
  // Uniform in [0, bound); bound > 0. Multiply-shift (no division); the bias, under
  // bound / 2^64, is negligible.
  uint32_t below(uint32_t bound) noexcept {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

// Draws distinct candidates of one pick, uniformly at random, without allocating: it first
// draws endpoint indices and rejects the non-candidates (cheap when most are usable), and after
// a few misses lists the remaining candidates in `scratch` and draws from that list.
// `scratch` must have capacity for hosts.size() entries; its contents are overwritten.
class CandidateSampler {
 public:
  CandidateSampler(const std::vector<Host>& hosts, const PickContext& ctx, FastRandom& random,
                   std::vector<int>& scratch) noexcept;
  // A candidate not drawn before by this sampler, or -1 when every candidate has been drawn.
  int next() noexcept;

 private:
  bool drawnBefore(int index) const noexcept;
  void listRemainingCandidates() noexcept;

  const std::vector<Host>& hosts_;
  const PickContext& ctx_;
  FastRandom& random_;
  std::vector<int>& scratch_;  // drawn ones first (scratch_[0, drawn_)), then the rest if listed
  size_t drawn_ = 0;
  bool listed_ = false;
};

// What every balancer made by one factory shares, immutable: the endpoints, the options and the
// policy's precomputed structure (the ring, the Maglev table; NoTable for the others). Balancers
// hold it by shared_ptr, so they may outlive their factory.
struct NoTable {};

template <class Table>
struct SharedState {
  Policy policy;
  std::vector<Host> hosts;
  Options options;
  Table table;
};

// Base of the balancers that draw at random (RANDOM, LEAST_REQUEST, PEAK_EWMA, and the hash
// policies without a hash): the shared state, a generator seeded per worker and the scratch
// list the sampler needs, sized at creation so that no pick allocates.
template <class Table>
class RandomizedBalancer : public LoadBalancer {
 public:  // public so that make_unique reaches the inherited constructors
  RandomizedBalancer(std::shared_ptr<const SharedState<Table>> shared, uint64_t seed)
      : shared_(std::move(shared)), random_(seed) {
    scratch_.reserve(shared_->hosts.size());
  }

 protected:
  const std::vector<Host>& hosts() const noexcept { return shared_->hosts; }
  const Options& options() const noexcept { return shared_->options; }
  const Table& table() const noexcept { return shared_->table; }

  // A uniformly random candidate, or lastResort when there is none.
  int pickRandom(const PickContext& ctx) noexcept {
    if (hosts().size() == 1) {
      return isCandidate(hosts(), 0, ctx) ? 0 : lastResort(hosts(), ctx);
    }
    CandidateSampler sampler(hosts(), ctx, random_, scratch_);
    int index = sampler.next();
    return index >= 0 ? index : lastResort(hosts(), ctx);
  }

  // Power of `choices` choices: draws up to `choices` distinct candidates and returns the one
  // `cheaper(a, b)` ranks first (ties: the first drawn), or lastResort when there is none.
  // With at least as many choices as candidates this is the exact cheapest.
  template <class Cheaper>
  int pickCheapestOf(const PickContext& ctx, uint32_t choices, Cheaper cheaper) noexcept {
    if (hosts().size() == 1) {
      return isCandidate(hosts(), 0, ctx) ? 0 : lastResort(hosts(), ctx);  // nothing to compare
    }
    // Never more draws than endpoints: a draw past them only finds the ones drawn already.
    choices = std::min<uint32_t>(choices, static_cast<uint32_t>(hosts().size()));
    CandidateSampler sampler(hosts(), ctx, random_, scratch_);
    int best = -1;
    for (uint32_t drawn = 0; drawn < choices; ++drawn) {
      int index = sampler.next();
      if (index < 0) {
        break;
      }
      if (best < 0 || cheaper(index, best)) {
        best = index;
      }
    }
    return best >= 0 ? best : lastResort(hosts(), ctx);
  }

 private:
  std::shared_ptr<const SharedState<Table>> shared_;
  FastRandom random_;
  std::vector<int> scratch_;
};

// The first candidate among owners[start], owners[start + 1], ... (circularly), or, when the
// owners list none, the first candidate by endpoint index; lastResort when there is none.
// Deterministic: the same start and the same health give the same endpoint.
int firstCandidateFrom(const std::vector<Host>& hosts, const PickContext& ctx,
                       std::span<const uint32_t> owners, size_t start) noexcept;

// The balancer of the consistent-hash policies (RING_HASH, MAGLEV). `Table` holds `owners`, a
// vector<uint32_t> of endpoint indices, and maps a request hash to a position in it with
// `size_t start(uint64_t hash) const`. When the owner there cannot take the request the pick
// moves on through the owners; without a request hash it is random.
template <class Table>
class ConsistentHashBalancer final : public RandomizedBalancer<Table> {
 public:
  using RandomizedBalancer<Table>::RandomizedBalancer;

  int pick(const PickContext& ctx) noexcept override {
    const Table& table = this->table();
    if (!ctx.has_hash || table.owners.empty()) {
      return this->pickRandom(ctx);
    }
    return firstCandidateFrom(this->hosts(), ctx, table.owners, table.start(ctx.hash));
  }
};

// The factory of a balancer class `Balancer` constructible from
// (std::shared_ptr<const SharedState<Table>>, uint64_t seed).
template <class Balancer, class Table>
class BalancerFactory final : public LoadBalancerFactory {
 public:
  explicit BalancerFactory(std::shared_ptr<const SharedState<Table>> shared)
      : shared_(std::move(shared)) {}
  Policy policy() const noexcept override { return shared_->policy; }
  const std::vector<Host>& hosts() const noexcept override { return shared_->hosts; }
  std::unique_ptr<LoadBalancer> create(uint64_t seed) const override {
    return std::make_unique<Balancer>(shared_, seed);
  }

 private:
  std::shared_ptr<const SharedState<Table>> shared_;
};

template <class Balancer, class Table = NoTable>
std::shared_ptr<const LoadBalancerFactory> makeFactory(Policy policy, std::vector<Host> hosts,
                                                       const Options& options, Table table = {}) {
  std::shared_ptr<const SharedState<Table>> shared = std::make_shared<SharedState<Table>>(
      SharedState<Table>{policy, std::move(hosts), options, std::move(table)});
  return std::make_shared<BalancerFactory<Balancer, Table>>(std::move(shared));
}

// One factory maker per policy, each in its own .cc; makeLoadBalancerFactory dispatches to them.
using FactoryMaker = std::shared_ptr<const LoadBalancerFactory>(std::vector<Host> hosts,
                                                                const Options& options);
FactoryMaker makeRoundRobinFactory, makeWeightedRoundRobinFactory, makeRandomFactory,
    makeLeastRequestFactory, makeRingHashFactory, makeMaglevFactory, makePeakEwmaFactory;

}  // namespace remora::filters::lb::internal
