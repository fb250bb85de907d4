#pragma once
// Snapshot: one immutable, validated config in the shapes the data plane works on. Built once
// on the main thread from the protobuf config (the only place that reads protobuf types), then
// shared read-only with every worker as std::shared_ptr<const Snapshot>. A stream pins the
// snapshot it started on, so an update never changes an in-flight request's config.

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/http1_parser.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/status.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "sidecar/route_table.h"

namespace remora::sidecar {

struct EndpointStats {
  common::Counter rq_total;
  common::Counter rq_error;  // 5xx and proxy-detected upstream failures
  common::Gauge rq_active;
};

struct EndpointConfig {
  common::SocketAddress address;
  std::string address_text;
  uint32_t weight = 1;
  uint32_t pool_id = 0;  // stable per address across snapshots: index of a worker's pool
  EndpointStats stats;
};

struct ClusterStats {
  common::Counter rq_by_class[6];  // index = status / 100 (1..5)
  common::Histogram rq_time;
  common::Counter rq_retry;
  common::Counter rq_retry_success;
  common::Counter rq_timeout;
  common::Counter rq_pending_overflow;
  common::Gauge cx_active;
  common::Counter cx_total;
  common::Counter cx_connect_fail;
};

struct ClusterConfig {
  std::string name;
  uint32_t index = 0;
  bool original_dst = false;
  std::vector<EndpointConfig> endpoints;
  std::string lb_policy = "ROUND_ROBIN";
  uint64_t connect_timeout_ms = 5000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t request_timeout_ms = 15000;  // 0: none
  uint32_t max_idle_per_endpoint = 64;
  uint32_t max_connections_per_endpoint = 1024;
  ClusterStats stats;
};

struct ListenerStats {
  common::Gauge cx_active;
  common::Counter cx_total;
  common::Counter rq_by_class[6];
  common::Counter cx_overflow;
  common::Counter detect_timeout;
  common::Counter opaque_cx_total;
  common::Counter bad_request;
};

struct ListenerConfig {
  std::string name;
  common::SocketAddress address;
  bool inbound = false;
  int route_table = -1;   // index into Snapshot::route_tables, -1: none
  int tcp_cluster = -1;   // index into Snapshot::clusters, -1: original destination
  bool opaque = false;     // protocol OPAQUE: every connection is a TCP proxy
  bool http_only = false;  // protocol HTTP: no detection
  std::bitset<65536> opaque_ports;
  uint64_t detect_timeout_ms = 300;
  uint32_t max_connections = 100000;
  uint64_t header_read_timeout_ms = 10000;
  uint64_t idle_timeout_ms = 3600 * 1000;
  common::ParserLimits limits;
  ListenerStats stats;
};

struct Snapshot {
  uint64_t version = 0;
  std::vector<ListenerConfig> listeners;
  std::vector<RouteTable> route_tables;
  std::vector<ClusterConfig> clusters;
  // The passthrough cluster: used for original-destination traffic with no better match.
  uint32_t passthrough_cluster = 0;
  bool access_log = true;
  uint64_t drain_timeout_ms = 20000;
  // The config this snapshot was built from, for /config_dump.
  config::v1::Bootstrap source;

  const ClusterConfig* findCluster(std::string_view name) const;
};

// Assigns stable pool ids to endpoint addresses (main thread only).
class PoolIds {
 public:
  uint32_t idFor(const std::string& address_text);
  size_t size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
};

// Builds a snapshot from a validated bootstrap. Registers metrics in `stats`.
common::Result<std::shared_ptr<const Snapshot>> buildSnapshot(const config::v1::Bootstrap& config,
                                                             common::StatsStore& stats,
                                                             PoolIds& pool_ids, uint64_t version);

// The listeners a bootstrap gets when it names none: outbound 0.0.0.0:15001, inbound
// 0.0.0.0:15006 (both routed by the static route configs "outbound" / "inbound" when present).
void applyDefaultListeners(config::v1::Bootstrap& config);

}  // namespace remora::sidecar
