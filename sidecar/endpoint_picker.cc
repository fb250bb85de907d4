#include "sidecar/endpoint_picker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace remora::sidecar {

ClusterAvailability clusterAvailability(const ClusterConfig& cluster) noexcept {
  ClusterAvailability a;
  a.total = cluster.endpoints.size();
  const uint64_t unavailable = std::min<uint64_t>(
      cluster.runtime->health.unavailable.load(std::memory_order_relaxed), a.total);
  a.healthy = a.total - unavailable;
  a.panic = a.healthy * 100 < a.total * cluster.panic_threshold_percent;
  return a;
}

int pickClusterEndpoint(const ClusterConfig& cluster, size_t worker,
                        const ClusterAvailability& availability,
                        filters::lb::PickContext context) noexcept {
  if (availability.total == 0) {
    return -1;
  }
  if (availability.panic) {
    context.ignore_health = true;
  }
  return cluster.balancers[worker]->pick(context);
}

bool recordEndpointOutcome(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                           common::StatsShard& stats, filters::outlier::Outcome outcome,
                           bool errored, uint64_t now_ns) noexcept {
  filters::HostState& host = *endpoint.host;
  host.rq_total.fetch_add(1, std::memory_order_relaxed);
  if (errored) {
    host.rq_error.fetch_add(1, std::memory_order_relaxed);
  }
  if (!cluster.outlier_enabled ||
      !filters::outlier::recordOutcome(cluster.outlier, host, cluster.runtime->health,
                                       static_cast<uint32_t>(cluster.endpoints.size()), outcome,
                                       now_ns)) {
    return false;
  }
  stats.add(cluster.stats.outlier_ejections);
  stats.add(cluster.stats.outlier_ejections_active, 1);  // the main thread's sweep corrects it
  spdlog::info("outlier detection: cluster {} endpoint {} ejected", cluster.name,
               endpoint.address_text);
  return true;
}

}  // namespace remora::sidecar
