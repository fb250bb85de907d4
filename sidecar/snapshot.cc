#include "sidecar/snapshot.h"

#include <algorithm>
#include <unordered_map>

#include <map>

#include "filters/health_check/config.h"
#include "filters/outlier/config.h"
#include "filters/registry.h"
#include "filters/retry/config.h"
#include "xds/duration.h"

namespace remora::sidecar {

namespace cfg = remora::config::v1;
using common::Labels;
using common::Result;
using common::Status;

namespace {

constexpr uint32_t kDefaultOpaquePorts[] = {25, 587, 3306, 4444, 5432, 6379, 9300, 11211};
constexpr char kPassthroughCluster[] = "PassthroughCluster";

StringMatch buildStringMatch(const std::string& exact, const std::string& prefix,
                             const std::string& regex, int which) {
  StringMatch m;
  // `which`: 0 exact, 1 prefix, 2 regex, 3 present.
  switch (which) {
    case 0:
      m.kind = StringMatch::Kind::kExact;
      m.value = exact;
      break;
    case 1:
      m.kind = StringMatch::Kind::kPrefix;
      m.value = prefix;
      break;
    case 2:
      m.kind = StringMatch::Kind::kRegex;
      m.value = regex;
      m.regex.emplace(regex, std::regex::ECMAScript | std::regex::optimize);
      break;
    default:
      m.kind = StringMatch::Kind::kPresent;
  }
  return m;
}

// One counter per code class 1xx..5xx at index 1..5; index 0 (a status outside 100..599) is
// counted as 5xx.
void registerCodeClasses(common::Counter (&out)[6], std::string_view name, const Labels& labels,
                         common::StatsStore& stats) {
  for (int k = 1; k <= 5; ++k) {
    Labels lk = labels;
    lk.emplace_back("code_class", std::to_string(k) + "xx");
    out[k] = stats.counter(name, lk);
  }
  out[0] = out[5];
}

void registerClusterStats(ClusterConfig& c, common::StatsStore& stats) {
  Labels l{{"cluster", c.name}};
  registerCodeClasses(c.stats.rq_by_class, "remora_upstream_rq_total", l, stats);
  c.stats.rq_time = stats.histogram("remora_upstream_rq_time_ms", l);
  c.stats.rq_retry = stats.counter("remora_upstream_rq_retry_total", l);
  c.stats.rq_retry_success = stats.counter("remora_upstream_rq_retry_success_total", l);
  c.stats.rq_timeout = stats.counter("remora_upstream_rq_timeout_total", l);
  c.stats.rq_pending_overflow = stats.counter("remora_upstream_rq_pending_overflow_total", l);
  c.stats.cx_active = stats.gauge("remora_upstream_cx_active", l);
  c.stats.cx_total = stats.counter("remora_upstream_cx_total", l);
  c.stats.cx_connect_fail = stats.counter("remora_upstream_cx_connect_fail_total", l);
  c.stats.rq_overflow = stats.counter("remora_upstream_rq_overflow_total", l);
  c.stats.rq_retry_overflow = stats.counter("remora_upstream_rq_retry_overflow_total", l);
  c.stats.outlier_ejections = stats.counter("remora_outlier_ejections_total", l);
  c.stats.outlier_ejections_active = stats.gauge("remora_outlier_ejections_active", l);
  c.stats.health_check_failures = stats.counter("remora_health_check_failure_total", l);
  c.stats.fallback_responses = stats.counter("remora_upstream_rq_fallback_total", l);
  // gRPC needs HTTP/2 to its servers: only such clusters count gRPC statuses.
  if (c.protocol != ClusterConfig::Protocol::kHttp1) {
    c.stats.has_grpc = true;
    for (uint32_t s = 0; s < c.stats.grpc_requests.size(); ++s) {
      c.stats.grpc_requests[s] = stats.counter(
          "remora_grpc_requests_total", {{"cluster", c.name}, {"grpc_status", std::to_string(s)}});
    }
  }
}

filters::lb::Policy lbPolicy(cfg::Cluster::LbPolicy p) {
  using filters::lb::Policy;
  switch (p) {
    case cfg::Cluster::WEIGHTED_ROUND_ROBIN:
      return Policy::kWeightedRoundRobin;
    case cfg::Cluster::RANDOM:
      return Policy::kRandom;
    case cfg::Cluster::LEAST_REQUEST:
      return Policy::kLeastRequest;
    case cfg::Cluster::RING_HASH:
      return Policy::kRingHash;
    case cfg::Cluster::MAGLEV:
      return Policy::kMaglev;
    case cfg::Cluster::PEAK_EWMA:
      return Policy::kPeakEwma;
    default:
      return Policy::kRoundRobin;
  }
}

// Policies of a cluster other than its endpoints: balancer options, breakers, retries,
// outlier detection, health checks, fallback.
void applyClusterPolicy(const cfg::Cluster& c, ClusterConfig& cc) {
  const cfg::LoadBalancer& lb = c.load_balancer();
  cc.lb = lbPolicy(c.lb_policy());
  switch (lb.hash_on().key_case()) {
    case cfg::HashPolicy::kHeader:
      cc.hash_on = ClusterConfig::HashOn::kHeader;
      cc.hash_name = lb.hash_on().header();  // HeaderMap lookups ignore case
      break;
    case cfg::HashPolicy::kCookie:
      cc.hash_on = ClusterConfig::HashOn::kCookie;
      cc.hash_name = lb.hash_on().cookie();
      break;
    case cfg::HashPolicy::kSourceIp:
      cc.hash_on = lb.hash_on().source_ip() ? ClusterConfig::HashOn::kSourceIp
                                            : ClusterConfig::HashOn::kNone;
      break;
    default:
      break;
  }
  cc.panic_threshold_percent = lb.has_panic_threshold_percent() ? lb.panic_threshold_percent() : 50;
  cc.ewma_decay_ns = xds::durationMsOr(lb.ewma_decay(), 10000) * 1'000'000ULL;
  cc.lb_options.ewma_decay_ns = cc.ewma_decay_ns;
  if (lb.ring_size() > 0) {
    cc.lb_options.ring_size = lb.ring_size();
  }
  if (lb.choice_count() > 0) {
    cc.lb_options.choice_count = lb.choice_count();
  }

  const cfg::CircuitBreakers& cb = c.circuit_breakers();
  cc.max_connections = cb.has_max_connections() ? cb.max_connections() : 1024;
  cc.max_pending_requests = cb.has_max_pending_requests() ? cb.max_pending_requests() : 1024;
  cc.max_requests = cb.has_max_requests() ? cb.max_requests() : 1024;
  cc.max_retries = cb.has_max_retries() ? cb.max_retries() : 3;

  cc.retry = filters::retry::retryPolicyFromProto(c.retry_policy());
  cc.outlier_enabled = c.has_outlier_detection();
  if (cc.outlier_enabled) {
    cc.outlier = filters::outlier::outlierConfigFromProto(c.outlier_detection());
  }
  if (c.has_health_check()) {
    cc.health_check = std::make_shared<const filters::health_check::HealthCheckConfig>(
        filters::health_check::healthCheckConfigFromProto(c.health_check()));
  }
  cc.has_fallback = c.has_fallback();
  if (cc.has_fallback) {
    cc.fallback_status = static_cast<uint16_t>(c.fallback().status() ? c.fallback().status() : 200);
    cc.fallback_body = c.fallback().body();
    // Sorted, so that the response (and /config_dump) does not depend on map order.
    std::map<std::string, std::string> sorted(c.fallback().headers().begin(),
                                              c.fallback().headers().end());
    cc.fallback_headers.assign(sorted.begin(), sorted.end());
  }
}

// The cluster's shared run-time state and balancers (after its endpoints are known).
void attachRuntime(ClusterConfig& cc, SnapshotContext& ctx) {
  std::vector<std::string> addresses;
  for (const EndpointConfig& e : cc.endpoints) {
    addresses.push_back(e.address_text);
  }
  uint8_t hc = filters::kHostFailedHealthCheck;
  std::vector<std::shared_ptr<filters::HostState>> hosts;
  cc.runtime = ctx.runtimes.update(cc.name, addresses, cc.health_check ? hc : 0,
                                   cc.health_check ? 0 : hc, hosts);
  std::vector<filters::lb::Host> lb_hosts;
  for (size_t i = 0; i < cc.endpoints.size(); ++i) {
    cc.endpoints[i].host = hosts[i];
    lb_hosts.push_back(
        filters::lb::Host{cc.endpoints[i].address_text, cc.endpoints[i].weight, hosts[i].get()});
  }
  if (cc.endpoints.empty()) {
    return;  // original destination: no balancing
  }
  cc.lb_factory = filters::lb::makeLoadBalancerFactory(cc.lb, std::move(lb_hosts), cc.lb_options);
  for (uint32_t w = 0; w < ctx.workers; ++w) {
    cc.balancers.push_back(cc.lb_factory->create(0x9e3779b97f4a7c15ULL * (w + 1)));
  }
}

void registerListenerStats(ListenerConfig& lc, common::StatsStore& stats) {
  Labels l{{"listener", lc.name}};
  for (size_t p = 0; p < kCxProtocolCount; ++p) {
    lc.stats.cx_active[p] =
        stats.gauge("remora_downstream_cx_active",
                    {{"listener", lc.name},
                     {"protocol", std::string(cxProtocolName(static_cast<CxProtocol>(p)))}});
  }
  lc.stats.cx_total = stats.counter("remora_downstream_cx_total", l);
  registerCodeClasses(lc.stats.rq_by_class, "remora_downstream_rq_total", l, stats);
  lc.stats.cx_overflow = stats.counter("remora_downstream_cx_overflow_total", l);
  lc.stats.detect_timeout = stats.counter("remora_protocol_detect_timeout_total", l);
  lc.stats.opaque_cx_total = stats.counter("remora_tcp_cx_total", l);
  lc.stats.bad_request = stats.counter("remora_downstream_rq_bad_request_total", l);
  for (size_t i = 0; i < kDetectReasonCount; ++i) {
    auto reason = static_cast<DetectReason>(i);
    lc.stats.detect[i] = stats.counter("remora_protocol_detect_total",
                                       {{"listener", lc.name},
                                        {"protocol", std::string(detectProtocolName(reason))},
                                        {"reason", std::string(detectReasonName(reason))}});
  }
  lc.stats.own_port_refused_http =
      stats.counter("remora_own_port_refused_total", {{"listener", lc.name}, {"protocol", "http"}});
  lc.stats.own_port_refused_tcp =
      stats.counter("remora_own_port_refused_total", {{"listener", lc.name}, {"protocol", "tcp"}});
  lc.stats.header_timeout = stats.counter("remora_downstream_rq_header_timeout_total", l);
  lc.stats.body_timeout = stats.counter("remora_downstream_rq_body_timeout_total", l);
  lc.stats.accept_error = stats.counter("remora_downstream_cx_accept_error_total", l);
}

}  // namespace

const ClusterConfig* Snapshot::findCluster(std::string_view name) const {
  for (const ClusterConfig& c : clusters) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

uint32_t PoolIds::idFor(const std::string& address_text) {
  auto [it, inserted] = ids_.emplace(address_text, static_cast<uint32_t>(ids_.size()));
  return it->second;
}

void applyDefaultListeners(cfg::Bootstrap& config) {
  if (config.listeners_size() > 0) {
    return;
  }
  auto has_routes = [&](const std::string& n) {
    for (const auto& r : config.static_resources().routes()) {
      if (r.name() == n) {
        return true;
      }
    }
    return false;
  };
  cfg::Listener* out = config.add_listeners();
  out->set_name("outbound");
  out->set_address("0.0.0.0:15001");
  out->set_direction(cfg::Listener::OUTBOUND);
  if (has_routes("outbound")) {
    out->set_route_config("outbound");
  }
  cfg::Listener* in = config.add_listeners();
  in->set_name("inbound");
  in->set_address("0.0.0.0:15006");
  in->set_direction(cfg::Listener::INBOUND);
  if (has_routes("inbound")) {
    in->set_route_config("inbound");
  }
}

Result<std::shared_ptr<const Snapshot>> buildSnapshot(const cfg::Bootstrap& config,
                                                      SnapshotContext& ctx, uint64_t version) {
  common::StatsStore& stats = ctx.stats;
  PoolIds& pool_ids = ctx.pool_ids;
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  snap->source = config;
  snap->access_log = !config.access_log().has_enabled() || config.access_log().enabled();
  snap->drain_timeout_ms = xds::durationMsOr(config.drain_timeout(), 20000);
  snap->drain_grace_ms = std::min(
      snap->drain_timeout_ms,
      config.has_drain_grace() ? xds::durationMsOr(config.drain_grace(), 0) : uint64_t{5000});
  const bool mesh = config.xds().address_size() > 0;

  std::unordered_map<std::string, uint32_t> cluster_index;
  auto add_cluster = [&](const cfg::Cluster& c) -> Status {
    ClusterConfig cc;
    cc.name = c.name();
    cc.index = static_cast<uint32_t>(snap->clusters.size());
    cc.original_dst = c.type() == cfg::Cluster::ORIGINAL_DST;
    cc.connect_timeout_ms = xds::durationMsOr(c.connect_timeout(), 5000);
    cc.idle_timeout_ms = xds::durationMsOr(c.idle_timeout(), 60000);
    cc.request_timeout_ms = xds::durationMsOr(c.request_timeout(), 15000);
    cc.max_idle_per_endpoint = c.max_idle_per_endpoint() ? c.max_idle_per_endpoint() : 1024;
    cc.max_connections_per_endpoint =
        c.max_connections_per_endpoint() ? c.max_connections_per_endpoint() : 1024;
    switch (c.protocol()) {
      case cfg::Cluster::HTTP2:
        cc.protocol = ClusterConfig::Protocol::kHttp2;
        break;
      case cfg::Cluster::USE_DOWNSTREAM:
        cc.protocol = ClusterConfig::Protocol::kUseDownstream;
        break;
      default:
        cc.protocol = ClusterConfig::Protocol::kHttp1;
        break;
    }
    cc.endpoints.reserve(static_cast<size_t>(c.endpoints_size()));
    for (const cfg::Endpoint& e : c.endpoints()) {
      auto addr = common::parseSocketAddress(e.address());
      if (!addr.isOk()) {
        return Status::invalid("cluster '" + c.name() + "': " + addr.status().message());
      }
      EndpointConfig ec;
      ec.address = addr.value();
      ec.address_text = addr.value().toString();
      ec.weight = e.weight() ? e.weight() : 1;
      ec.has_sidecar = e.has_sidecar();
      ec.pool_id = pool_ids.idFor(ec.address_text);
      cc.endpoints.push_back(std::move(ec));
    }
    if (!cc.original_dst && cc.endpoints.empty() && !mesh) {
      return Status::invalid("cluster '" + c.name() + "' has no endpoints");
    }
    if (!cluster_index.emplace(cc.name, cc.index).second) {
      return Status::invalid("duplicate cluster '" + cc.name + "'");
    }
    applyClusterPolicy(c, cc);
    attachRuntime(cc, ctx);
    registerClusterStats(cc, stats);
    snap->clusters.push_back(std::move(cc));
    return Status::ok();
  };
  for (const cfg::Cluster& c : config.static_resources().clusters()) {
    Status s = add_cluster(c);
    if (!s.isOk()) {
      return s;
    }
  }
  if (cluster_index.count(kPassthroughCluster) == 0) {
    cfg::Cluster passthrough;
    passthrough.set_name(kPassthroughCluster);
    passthrough.set_type(cfg::Cluster::ORIGINAL_DST);
    passthrough.set_protocol(cfg::Cluster::USE_DOWNSTREAM);  // whatever the destination speaks
    Status s = add_cluster(passthrough);
    if (!s.isOk()) {
      return s;
    }
  }
  snap->passthrough_cluster = cluster_index[kPassthroughCluster];

  std::unordered_map<std::string, int> table_index;
  for (const cfg::RouteConfiguration& rc : config.static_resources().routes()) {
    RouteTable table;
    table.name = rc.name();
    for (const cfg::VirtualHost& vh : rc.virtual_hosts()) {
      VirtualHost v;
      v.name = vh.name();
      for (const cfg::Route& r : vh.routes()) {
        RouteEntry e;
        e.name = r.name().empty() ? vh.name() + "/" + std::to_string(v.routes.size()) : r.name();
        e.trail_note = "route " + e.name;
        const cfg::RouteMatch& m = r.match();
        try {
          switch (m.path_specifier_case()) {
            case cfg::RouteMatch::kPath:
              e.path_kind = RouteEntry::PathKind::kExact;
              e.path = m.path();
              break;
            case cfg::RouteMatch::kRegex:
              e.path_kind = RouteEntry::PathKind::kRegex;
              e.path = m.regex();
              e.path_regex.emplace(m.regex(), std::regex::ECMAScript | std::regex::optimize);
              break;
            default:
              e.path_kind = RouteEntry::PathKind::kPrefix;
              e.path = m.prefix();
          }
          for (const std::string& method : m.methods()) {
            e.methods.push_back(method);
          }
          for (const cfg::HeaderMatcher& h : m.headers()) {
            int which = h.match_case() == cfg::HeaderMatcher::kExact    ? 0
                        : h.match_case() == cfg::HeaderMatcher::kPrefix ? 1
                        : h.match_case() == cfg::HeaderMatcher::kRegex  ? 2
                                                                        : 3;
            e.headers.push_back(HeaderCondition{
                h.name(), buildStringMatch(h.exact(), h.prefix(), h.regex(), which), h.invert()});
          }
          for (const cfg::QueryParamMatcher& q : m.query_params()) {
            int which = q.match_case() == cfg::QueryParamMatcher::kExact   ? 0
                        : q.match_case() == cfg::QueryParamMatcher::kRegex ? 2
                                                                           : 3;
            e.query.push_back(
                QueryCondition{q.name(), buildStringMatch(q.exact(), "", q.regex(), which)});
          }
        } catch (const std::regex_error& err) {
          return Status::invalid("route '" + e.name + "': bad regex: " + err.what());
        }
        const cfg::RouteAction& action = r.route();
        // `position`: the backend's place (see RouteEntry::missing_clusters).
        auto find_cluster = [&](const std::string& name, size_t position, uint32_t& out) {
          auto it = cluster_index.find(name);
          if (it != cluster_index.end()) {
            out = it->second;
            return Status::ok();
          }
          if (!mesh) {
            return Status::invalid("route '" + e.name + "' names unknown cluster '" + name + "'");
          }
          out = RouteEntry::kMissingCluster;
          e.missing_clusters.resize(position + 1);
          e.missing_clusters[position] = name;
          return Status::ok();
        };
        if (action.weighted_clusters_size() > 0) {
          for (const cfg::WeightedCluster& wc : action.weighted_clusters()) {
            if (wc.weight() == 0) {
              if (cluster_index.count(wc.cluster()) == 0 && !mesh) {
                return Status::invalid("route '" + e.name + "' names unknown cluster '" +
                                       wc.cluster() + "'");
              }
              continue;
            }
            uint32_t index = 0;
            if (Status st = find_cluster(wc.cluster(), e.weighted.size(), index); !st.isOk()) {
              return st;
            }
            e.total_weight += wc.weight();
            e.weighted.emplace_back(index, e.total_weight);
          }
          e.cluster = e.weighted.empty() ? 0 : e.weighted.front().first;
          if (e.weighted.empty()) {
            e.missing_clusters.clear();
          }
        } else if (Status st = find_cluster(action.cluster(), 0, e.cluster); !st.isOk()) {
          return st;
        }
        e.timeout_ms = action.has_timeout()
                           ? static_cast<int64_t>(xds::durationMsOr(action.timeout(), 0))
                           : -1;
        e.idle_timeout_ms = static_cast<int64_t>(xds::durationMsOr(action.idle_timeout(), 0));
        e.has_retry = action.has_retry_policy();
        if (e.has_retry) {
          e.retry = filters::retry::retryPolicyFromProto(action.retry_policy());
        }
        // The route's filters, in the registry's order (filters/registry.cc).
        e.filters = filters::buildRouteFilters(filters::RouteFilterConfig{r, e.name, stats});
        v.routes.push_back(std::move(e));
      }
      std::vector<std::string> domains(vh.domains().begin(), vh.domains().end());
      table.addVirtualHost(std::move(v), domains);
    }
    table_index[rc.name()] = static_cast<int>(snap->route_tables.size());
    snap->route_tables.push_back(std::move(table));
  }

  for (const cfg::Listener& l : config.listeners()) {
    ListenerConfig lc;
    lc.name = l.name();
    lc.index = static_cast<uint32_t>(snap->listeners.size());
    auto addr = common::parseSocketAddress(l.address());
    if (!addr.isOk()) {
      return Status::invalid("listener '" + l.name() + "': " + addr.status().message());
    }
    lc.address = addr.value();
    lc.inbound = l.direction() == cfg::Listener::INBOUND;
    if (!l.route_config().empty()) {
      auto it = table_index.find(l.route_config());
      if (it != table_index.end()) {
        lc.route_table = it->second;
      } else if (mesh) {
        lc.missing_route_config = l.route_config();
      } else {
        return Status::invalid("listener '" + l.name() + "' names unknown route_config '" +
                               l.route_config() + "'");
      }
    }
    if (!l.tcp_cluster().empty()) {
      auto it = cluster_index.find(l.tcp_cluster());
      if (it != cluster_index.end()) {
        lc.tcp_cluster = static_cast<int>(it->second);
      } else if (!mesh) {
        return Status::invalid("listener '" + l.name() + "' names unknown tcp_cluster '" +
                               l.tcp_cluster() + "'");
      }
    }
    lc.opaque = l.protocol() == cfg::Listener::OPAQUE;
    lc.http_only = l.protocol() == cfg::Listener::HTTP;
    if (l.opaque_ports_size() == 0) {
      for (uint32_t p : kDefaultOpaquePorts) {
        lc.opaque_ports.set(p);
      }
    } else {
      for (uint32_t p : l.opaque_ports()) {
        if (p > 0 && p < 65536) {
          lc.opaque_ports.set(p);
        }
      }
    }
    lc.detect_timeout_ms = xds::durationMsOr(l.detect_timeout(), 300);
    lc.max_connections = l.max_connections() ? l.max_connections() : 100000;
    lc.header_read_timeout_ms = xds::durationMsOr(l.header_read_timeout(), 10000);
    lc.idle_timeout_ms = xds::durationMsOr(l.idle_timeout(), 3600 * 1000);
    lc.body_read_timeout_ms =
        l.has_body_read_timeout() ? xds::durationMsOr(l.body_read_timeout(), 0) : 5000;
    if (l.max_request_headers_kb()) {
      lc.limits.max_header_bytes = static_cast<size_t>(l.max_request_headers_kb()) * 1024;
    }
    if (l.max_request_headers_count()) {
      lc.limits.max_headers = l.max_request_headers_count();
    }
    registerListenerStats(lc, stats);
    snap->listeners.push_back(std::move(lc));
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace remora::sidecar
