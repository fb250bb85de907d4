#pragma once
// Load balancers: which endpoint of a cluster a request goes to.
//
// A LoadBalancerFactory is built once per cluster per config snapshot on the main thread, from
// the cluster's endpoints; it holds what is immutable and may be big (the hash ring, the Maglev
// table) and is shared read-only by the workers. Each worker gets its own LoadBalancer from it,
// holding what changes per pick (round-robin position, smooth-WRR current weights, ...), so a
// pick takes no lock. Run-time endpoint state (health, active requests, latency) is read from
// the shared HostState of each endpoint (filters/api/host.h).
//
// Health: a pick considers only available endpoints (HostState::available()) unless the caller
// says `ignore_health` (panic routing). The endpoint the previous try failed on is avoided when
// any other one can take the request.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/api/host.h"

namespace remora::filters::lb {

enum class Policy : uint8_t {
  kRoundRobin,
  kWeightedRoundRobin,
  kRandom,
  kLeastRequest,
  kRingHash,
  kMaglev,
  kPeakEwma,
};

// "ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN", ... (the config enum names).
std::string_view policyName(Policy p) noexcept;

struct Host {
  std::string key;  // "IP:PORT": what consistent hashing places on the ring / table
  uint32_t weight = 1;
  HostState* state = nullptr;  // never null; outlives the factory
};

struct Options {
  uint32_t ring_size = 1024;        // RING_HASH: entries on the ring in total (min)
  uint32_t maglev_table_size = 65537;  // MAGLEV: prime table size
  uint32_t choice_count = 2;        // LEAST_REQUEST: endpoints sampled per pick
  uint64_t ewma_decay_ns = 10'000'000'000ULL;  // PEAK_EWMA time constant
  // PEAK_EWMA: the latency assumed for an endpoint with no observation yet (a neutral start:
  // the average of the endpoints that have one, or this when none has).
  double default_latency_us = 1000.0;
};

// What one pick knows about the request.
struct PickContext {
  uint64_t now_ns = 0;
  // RING_HASH / MAGLEV: the request's hash key (from a header, a cookie or the source address).
  // Without one the pick is random.
  bool has_hash = false;
  uint64_t hash = 0;
  // Index of an endpoint to avoid (the one the previous try failed on); -1: none.
  int avoid = -1;
  // Panic routing: pick among all endpoints, whatever their health.
  bool ignore_health = false;
};

// One worker's balancer for one cluster. Not thread-safe: used by its worker only.
class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // Index into the factory's hosts, or -1 when no endpoint can take the request.
  virtual int pick(const PickContext& ctx) noexcept = 0;
};

class LoadBalancerFactory {
 public:
  virtual ~LoadBalancerFactory() = default;
  virtual Policy policy() const noexcept = 0;
  virtual const std::vector<Host>& hosts() const noexcept = 0;
  // A balancer for one worker; `seed` seeds its random generator.
  virtual std::unique_ptr<LoadBalancer> create(uint64_t seed) const = 0;
};

// Builds the factory for `hosts` (at least one). Main thread.
std::shared_ptr<const LoadBalancerFactory> makeLoadBalancerFactory(Policy policy,
                                                                   std::vector<Host> hosts,
                                                                   const Options& options);

// 64-bit hash of a key (header value, cookie, address) for PickContext::hash: stable across
// processes and runs (not std::hash), so every sidecar maps a key alike.
uint64_t hashKey(std::string_view key) noexcept;

}  // namespace remora::filters::lb
