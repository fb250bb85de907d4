#pragma once
// Snapshot: one immutable, validated config in the shapes the data plane works on. Built once
// on the main thread from the protobuf config (the only place that reads protobuf types), then
// shared read-only with every worker as std::shared_ptr<const Snapshot>. A stream pins the
// snapshot it started on, so an update never changes an in-flight request's config.

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/http1_parser.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/status.h"
#include "filters/health_check/health_checker.h"
#include "filters/lb/load_balancer.h"
#include "filters/outlier/outlier_detector.h"
#include "filters/retry/retry_policy.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "sidecar/cluster_runtime.h"
#include "sidecar/connection_info.h"
#include "sidecar/protocol_detection.h"
#include "sidecar/route_table.h"

namespace remora::sidecar {

struct EndpointConfig {
  common::SocketAddress address;
  std::string address_text;
  uint32_t weight = 1;
  uint32_t pool_id = 0;      // stable per address across snapshots: index of a worker's pool
  bool has_sidecar = false;  // a remora sidecar receives for it (HTTP/2 between the two)
  // Shared run-time state (ClusterRuntime::hosts): health, in-flight and answered requests.
  std::shared_ptr<filters::HostState> host;
};

struct ClusterStats {
  // gRPC requests by final grpc-status (0..16), for clusters that speak HTTP/2 (has_grpc).
  std::array<common::Counter, 17> grpc_requests{};
  bool has_grpc = false;
  common::Counter rq_by_class[6];  // index = status / 100 (1..5)
  common::Histogram rq_time;
  common::Counter rq_retry;
  common::Counter rq_retry_success;
  common::Counter rq_timeout;
  common::Counter rq_pending_overflow;
  common::Counter rq_overflow;        // max_requests / max_connections reached
  common::Counter rq_retry_overflow;  // a retry refused by max_retries or the budget
  common::Counter outlier_ejections;
  common::Gauge outlier_ejections_active;  // main thread keeps it equal to health.ejected
  common::Counter health_check_failures;
  common::Counter fallback_responses;
  common::Gauge cx_active;
  common::Counter cx_total;
  common::Counter cx_connect_fail;
};

struct ClusterConfig {
  std::string name;
  uint32_t index = 0;
  bool original_dst = false;
  std::vector<EndpointConfig> endpoints;
  uint64_t connect_timeout_ms = 5000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t request_timeout_ms = 15000;  // 0: none
  uint32_t max_idle_per_endpoint = 1024;
  uint32_t max_connections_per_endpoint = 1024;
  enum class Protocol : uint8_t { kHttp1, kHttp2, kUseDownstream } protocol = Protocol::kHttp1;

  // Load balancing: the factory (immutable, shared) and one balancer per worker (each used only
  // by its worker, so no lock).
  filters::lb::Policy lb = filters::lb::Policy::kRoundRobin;
  std::shared_ptr<const filters::lb::LoadBalancerFactory> lb_factory;
  std::vector<std::unique_ptr<filters::lb::LoadBalancer>> balancers;
  enum class HashOn : uint8_t { kNone, kHeader, kCookie, kSourceIp } hash_on = HashOn::kNone;
  std::string hash_name;  // header name (lowercase) or cookie name
  uint32_t panic_threshold_percent = 50;
  uint64_t ewma_decay_ns = 10'000'000'000ULL;
  filters::lb::Options lb_options;

  // Circuit breakers (across workers).
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;

  filters::retry::RetryPolicy retry;
  bool outlier_enabled = false;
  filters::outlier::OutlierConfig outlier;
  std::shared_ptr<const filters::health_check::HealthCheckConfig> health_check;  // null: none

  // The response when no healthy endpoint is left (has_fallback false: 503).
  bool has_fallback = false;
  uint16_t fallback_status = 200;
  std::string fallback_body;
  std::vector<std::pair<std::string, std::string>> fallback_headers;

  std::shared_ptr<ClusterRuntime> runtime;
  ClusterStats stats;
};

struct ListenerStats {
  // remora_downstream_cx_active{listener,protocol}, indexed by CxProtocol.
  std::array<common::Gauge, kCxProtocolCount> cx_active{};
  common::Counter cx_total;
  common::Counter rq_by_class[6];
  common::Counter cx_overflow;
  common::Counter detect_timeout;
  common::Counter opaque_cx_total;
  common::Counter bad_request;
  // remora_protocol_detect_total{protocol,reason}, indexed by DetectReason.
  common::Counter detect[kDetectReasonCount];
  // remora_own_port_refused_total{protocol="http"|"tcp"}: destinations that were our own ports.
  common::Counter own_port_refused_http;
  common::Counter own_port_refused_tcp;
  common::Counter header_timeout;  // no complete request head within header_read_timeout
  common::Counter body_timeout;    // a request body stalled past body_read_timeout
  common::Counter accept_error;    // accept(2) failed (EMFILE, ENFILE, ENOBUFS...)
};

struct ListenerConfig {
  std::string name;
  // Position in Snapshot::listeners. Listeners keep their positions across snapshots (they are
  // bound once at start), so a connection finds its listener in a later snapshot by index.
  uint32_t index = 0;
  common::SocketAddress address;
  bool inbound = false;
  int route_table = -1;  // index into Snapshot::route_tables, -1: none
  // Mesh mode: the route configuration the listener names but the snapshot lacks (route_table
  // is -1 then); shown in the decision trail of requests that find no route.
  std::string missing_route_config;
  int tcp_cluster = -1;    // index into Snapshot::clusters, -1: original destination
  bool opaque = false;     // protocol OPAQUE: every connection is a TCP proxy
  bool http_only = false;  // protocol HTTP: no detection
  std::bitset<65536> opaque_ports;
  uint64_t detect_timeout_ms = 300;
  uint32_t max_connections = 100000;
  uint64_t header_read_timeout_ms = 10000;
  uint64_t idle_timeout_ms = 3600 * 1000;
  uint64_t body_read_timeout_ms = 5000;  // 0: none
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
  uint64_t drain_grace_ms = 5000;  // at most drain_timeout_ms
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

// What outlives snapshots and is needed to build one (main thread).
struct SnapshotContext {
  common::StatsStore& stats;
  PoolIds& pool_ids;
  ClusterRuntimes& runtimes;
  uint32_t workers = 1;  // one balancer per worker per cluster
};

// Builds a snapshot from a validated bootstrap. Registers metrics in `ctx.stats`.
// Mesh mode (the bootstrap has xds addresses): names may be resolved by xDS later, so a STATIC
// cluster may have no endpoints (503 no-healthy-upstream, or its fallback), a route may name a
// cluster that does not exist (RouteEntry::kMissingCluster: 503 no-healthy-upstream with a
// "cluster X not found" note), and a listener may name a missing route configuration (no route
// table) or TCP cluster (original destination). In static mode each of these is an error.
common::Result<std::shared_ptr<const Snapshot>> buildSnapshot(const config::v1::Bootstrap& config,
                                                              SnapshotContext& ctx,
                                                              uint64_t version);

// The listeners a bootstrap gets when it names none: outbound 0.0.0.0:15001, inbound
// 0.0.0.0:15006 (both routed by the static route configs "outbound" / "inbound" when present).
void applyDefaultListeners(config::v1::Bootstrap& config);

}  // namespace remora::sidecar
