#pragma once
// Which endpoint of a cluster a request (HTTP) or a connection (opaque TCP) goes to, and what
// its outcome tells outlier detection: one implementation for both protocols, so a TCP cluster
// gets the same balancer, health checks, ejections and panic routing as an HTTP one.
//
// Threads: worker threads, each with its own balancer (ClusterConfig::balancers[worker]); the
// endpoints' HostState is shared atomics.

#include <cstddef>
#include <cstdint>

#include "common/stats.h"
#include "filters/lb/load_balancer.h"
#include "filters/outlier/outlier_detector.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

// How many endpoints of a cluster can take traffic now.
struct ClusterAvailability {
  uint64_t total = 0;    // endpoints in the cluster
  uint64_t healthy = 0;  // of those: neither failing health checks nor ejected
  // Below the cluster's panic threshold: health is ignored and every endpoint takes traffic.
  bool panic = false;
};
ClusterAvailability clusterAvailability(const ClusterConfig& cluster) noexcept;

// Picks an endpoint of a cluster that is not original-destination with worker `worker`'s
// balancer (health ignored in panic). Returns an index into cluster.endpoints, or -1 when no
// endpoint can take it (none at all, or none healthy). The caller decides what that means
// (a 503 or a fallback response for HTTP, a closed connection for TCP).
int pickClusterEndpoint(const ClusterConfig& cluster, size_t worker,
                        const ClusterAvailability& availability,
                        filters::lb::PickContext context) noexcept;

// Folds the outcome of one try (HTTP) or one connection attempt (TCP) on `endpoint` into its
// counters (rq_total, and rq_error when `errored`) and into outlier detection when the cluster
// has it. Returns true when this outcome ejected the endpoint; the ejection is then counted in
// `stats` and logged.
bool recordEndpointOutcome(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                           common::StatsShard& stats, filters::outlier::Outcome outcome,
                           bool errored, uint64_t now_ns) noexcept;

}  // namespace remora::sidecar
