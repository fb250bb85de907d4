#include "sidecar/admin.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "common/json_writer.h"
#include "sidecar/app_probes.h"
#include "sidecar/server.h"
#include "xds/proto_json.h"

namespace remora::sidecar {

namespace {

const char* stateName(ServerState s) {
  switch (s) {
    case ServerState::kInitializing:
      return "INITIALIZING";
    case ServerState::kLive:
      return "LIVE";
    case ServerState::kDraining:
      return "DRAINING";
  }
  return "UNKNOWN";
}

std::string serverInfo(const Server& server) {
  const auto& node = server.bootstrap().node();
  common::JsonWriter w;
  w.beginObject();
  w.field("version", REMORA_VERSION);
  w.field("node_id", node.id());
  w.field("service", node.service());
  w.field("namespace", node.namespace_());
  w.field("uptime_seconds", static_cast<int64_t>(server.uptimeSeconds()));
  w.field("state", stateName(server.state()));
  w.field("concurrency", static_cast<int64_t>(server.workers().size()));
  w.field("config_version", static_cast<int64_t>(server.snapshot()->version));
  w.field("mode", server.xdsClient() != nullptr ? "mesh" : "static");
  if (const XdsClient* xds = server.xdsClient()) {
    w.field("xds_connected", xds->connected());
    w.field("xds_address", xds->currentAddress());
  }
  w.endObject();
  return w.take();
}

std::string clustersJson(const Server& server) {
  const common::StatsStore& st = server.stats();
  common::JsonWriter w;
  w.beginObject();
  w.key("clusters");
  w.beginArray();
  for (const ClusterConfig& c : server.snapshot()->clusters) {
    w.beginObject();
    w.field("name", c.name);
    w.field("type", c.original_dst ? "ORIGINAL_DST" : "STATIC");
    w.field("lb_policy", filters::lb::policyName(c.lb));
    w.field("panic_threshold_percent", static_cast<int64_t>(c.panic_threshold_percent));
    w.field("connect_timeout_ms", static_cast<int64_t>(c.connect_timeout_ms));
    w.field("request_timeout_ms", static_cast<int64_t>(c.request_timeout_ms));
    w.field("idle_timeout_ms", static_cast<int64_t>(c.idle_timeout_ms));
    w.field("max_connections_per_endpoint", static_cast<int64_t>(c.max_connections_per_endpoint));
    w.key("circuit_breakers");
    w.beginObject();
    w.field("max_connections", static_cast<int64_t>(c.max_connections));
    w.field("max_pending_requests", static_cast<int64_t>(c.max_pending_requests));
    w.field("max_requests", static_cast<int64_t>(c.max_requests));
    w.field("max_retries", static_cast<int64_t>(c.max_retries));
    if (c.runtime) {
      w.field("connections", c.runtime->connections.load(std::memory_order_relaxed));
      w.field("pending_requests", c.runtime->pending_requests.load(std::memory_order_relaxed));
      w.field("active_requests", c.runtime->active_requests.load(std::memory_order_relaxed));
      w.field("active_retries", c.runtime->active_retries.load(std::memory_order_relaxed));
    }
    w.endObject();
    w.key("retry_policy");
    w.beginObject();
    w.field("num_retries", static_cast<int64_t>(c.retry.num_retries));
    w.field("per_try_timeout_ms", static_cast<int64_t>(c.retry.per_try_timeout_ms));
    w.endObject();
    w.field("outlier_detection", c.outlier_enabled);
    w.field("health_checks", c.health_check != nullptr);
    w.field("fallback", c.has_fallback);
    w.field("upstream_cx_active", st.value(c.stats.cx_active));
    w.field("upstream_cx_total", st.value(c.stats.cx_total));
    w.field("upstream_cx_connect_fail", st.value(c.stats.cx_connect_fail));
    w.field("upstream_rq_timeout", st.value(c.stats.rq_timeout));
    w.field("upstream_rq_retry", st.value(c.stats.rq_retry));
    w.field("outlier_ejections_total", st.value(c.stats.outlier_ejections));
    w.key("endpoints");
    w.beginArray();
    uint64_t now = uv_hrtime();
    for (const EndpointConfig& e : c.endpoints) {
      const filters::HostState& h = *e.host;
      uint64_t total = h.rq_total.load(std::memory_order_relaxed);
      uint64_t errors = h.rq_error.load(std::memory_order_relaxed);
      w.beginObject();
      w.field("address", e.address_text);
      w.field("weight", static_cast<int64_t>(e.weight));
      const char* health = h.has(filters::kHostFailedHealthCheck) ? "unhealthy"
                           : h.has(filters::kHostEjected)         ? "ejected"
                                                                  : "healthy";
      w.field("health", health);
      if (h.has(filters::kHostEjected)) {
        uint64_t until = h.ejected_until_ns.load(std::memory_order_relaxed);
        w.field("ejected_for_ms", static_cast<int64_t>(until > now ? (until - now) / 1000000 : 0));
      }
      w.field("times_ejected",
              static_cast<int64_t>(h.times_ejected.load(std::memory_order_relaxed)));
      w.field("active_requests",
              static_cast<int64_t>(h.active_requests.load(std::memory_order_relaxed)));
      w.field("requests_total", total);
      w.field("errors_total", errors);
      if (total > 0) {
        w.field("success_rate", static_cast<double>(total - errors) / static_cast<double>(total));
      } else {
        w.key("success_rate");
        w.null();
      }
      double ewma = h.ewmaMicros();
      if (ewma > 0) {
        w.field("ewma_latency_ms", ewma / 1000.0);
      } else {
        w.key("ewma_latency_ms");
        w.null();
      }
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.take();
}

std::string listenersJson(const Server& server) {
  common::JsonWriter w;
  w.beginObject();
  w.key("listeners");
  w.beginArray();
  const auto& ls = server.snapshot()->listeners;
  for (size_t i = 0; i < ls.size(); ++i) {
    w.beginObject();
    w.field("name", ls[i].name);
    w.field("address", server.listenerAddresses()[i].toString());
    w.field("direction", ls[i].inbound ? "INBOUND" : "OUTBOUND");
    w.field("protocol", ls[i].opaque ? "OPAQUE" : ls[i].http_only ? "HTTP" : "DETECT");
    w.field("route_config",
            ls[i].route_table >= 0
                ? server.snapshot()->route_tables[static_cast<size_t>(ls[i].route_table)].name
                : std::string());
    int64_t active = 0;
    for (common::Gauge g : ls[i].stats.cx_active) {
      active += server.stats().value(g);
    }
    w.field("downstream_cx_active", active);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.take();
}

std::string configDump(const Server& server) {
  std::string bootstrap_json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  if (!xds::printJson(server.snapshot()->source, opts, &bootstrap_json)) {
    bootstrap_json = "null";
  }
  std::string version = std::to_string(server.snapshot()->version);
  const XdsClient* xds = server.xdsClient();
  std::string out = "{\"version_info\":" + common::jsonQuote(version) + ",\"resources\":{";
  if (xds == nullptr) {
    // Static mode: every resource type carries the snapshot version and no nonce.
    const char* types[] = {"listeners", "clusters", "routes"};
    for (size_t i = 0; i < 3; ++i) {
      if (i > 0) {
        out += ",";
      }
      out += common::jsonQuote(types[i]) + ":{\"version_info\":" + common::jsonQuote(version) +
             ",\"nonce\":\"\",\"source\":\"static\"}";
    }
    out += "}";
  } else {
    // Mesh mode: each type as accepted from the control plane; "bootstrap" below is the merged
    // config the snapshot was built from (static resources and the pushed ones together).
    for (size_t i = 0; i < XdsClient::kTypes; ++i) {
      const XdsClient::TypeStatus& st = xds->typeStatus(i);
      if (i > 0) {
        out += ",";
      }
      out += common::jsonQuote(xds::typeShortName(xds::kPushOrder[i])) +
             ":{\"version_info\":" + common::jsonQuote(st.version) +
             ",\"nonce\":" + common::jsonQuote(st.nonce) + ",\"source\":\"xds\"}";
    }
    out += "},\"xds\":{\"connected\":" + std::string(xds->connected() ? "true" : "false") +
           ",\"address\":" + common::jsonQuote(xds->currentAddress());
    for (size_t i = 0; i < XdsClient::kTypes; ++i) {
      const XdsClient::TypeStatus& st = xds->typeStatus(i);
      out += "," + common::jsonQuote(xds::typeShortName(xds::kPushOrder[i])) +
             ":{\"version\":" + common::jsonQuote(st.version) +
             ",\"nonce\":" + common::jsonQuote(st.nonce) +
             ",\"last_error\":" + common::jsonQuote(st.last_error) + "}";
    }
    out += "}";
  }
  out += ",\"bootstrap\":" + bootstrap_json + "}";
  return out;
}

std::string loggingJson() {
  common::JsonWriter w;
  w.beginObject();
  auto lvl = spdlog::level::to_string_view(spdlog::get_level());
  w.field("level", std::string_view(lvl.data(), lvl.size()));
  w.endObject();
  return w.take();
}

}  // namespace

void handleAdminRequest(Server& server, AdminScope scope, common::HttpRequest& req,
                        common::Responder r) {
  const std::string& path = req.path;
  bool get = req.method_id == HTTP_GET || req.method_id == HTTP_HEAD;
  bool post = req.method_id == HTTP_POST;
  auto method_not_allowed = [&](const char* allowed) {
    common::HttpResponse resp(405, std::string("method not allowed; use ") + allowed + "\n");
    resp.headers.add("allow", allowed);
    r.respond(std::move(resp));
  };

  if (scope == AdminScope::kHealthOnly) {
    if (path == "/healthz/ready" && get) {
      bool ok = server.ready() && server.state() == ServerState::kLive;
      r.respond(ok ? 200 : 503, ok ? "READY\n" : "NOT READY\n");
    } else if (path.rfind(kAppHealthPrefix, 0) == 0 && get) {
      serveAppProbe(server.loop(), server.appProbes(), path, r);
    } else {
      r.respond(404, "not found\n");
    }
    return;
  }
  if (path == "/stats/prometheus") {
    if (!get) {
      return method_not_allowed("GET");
    }
    r.respond(200, server.stats().renderPrometheus(), "text/plain; version=0.0.4");
    return;
  }
  if (scope == AdminScope::kPrometheusOnly) {
    r.respond(404, "not found\n");
    return;
  }

  if (path == "/ready") {
    bool ok = server.ready() && server.state() == ServerState::kLive;
    r.respond(ok ? 200 : 503, ok ? "READY\n" : std::string("NOT READY\n"));
  } else if (path == "/healthz") {
    r.respond(200, "OK\n");
  } else if (path == "/server_info") {
    r.respond(common::HttpResponse::json(200, serverInfo(server)));
  } else if (path == "/stats") {
    r.respond(200, server.stats().renderText());
  } else if (path == "/clusters") {
    r.respond(common::HttpResponse::json(200, clustersJson(server)));
  } else if (path == "/listeners") {
    r.respond(common::HttpResponse::json(200, listenersJson(server)));
  } else if (path == "/config_dump") {
    r.respond(common::HttpResponse::json(200, configDump(server)));
  } else if (path == "/requests") {
    size_t limit = 100;
    if (req.hasQuery("limit")) {
      long n = std::strtol(req.query("limit").c_str(), nullptr, 10);
      if (n <= 0) {
        r.respond(400, "limit must be a positive number\n");
        return;
      }
      limit = static_cast<size_t>(n);
    }
    std::vector<filters::StreamInfo> all;
    for (const auto& w : server.workers()) {
      auto part = w->recent().snapshot();
      all.insert(all.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
    }
    r.respond(common::HttpResponse::json(200, renderRecentRequestsJson(std::move(all), limit)));
  } else if (path == "/logging") {
    if (get) {
      r.respond(common::HttpResponse::json(200, loggingJson()));
      return;
    }
    if (!post) {
      return method_not_allowed("GET, POST");
    }
    std::string level = req.query("level");
    auto lvl = spdlog::level::from_str(level);
    if (level.empty() || (lvl == spdlog::level::off && level != "off")) {
      r.respond(400, "level must be one of trace, debug, info, warn, error, off\n");
      return;
    }
    spdlog::set_level(lvl);
    spdlog::info("log level set to {}", level);
    r.respond(common::HttpResponse::json(200, loggingJson()));
  } else if (path == "/drain") {
    if (!post) {
      return method_not_allowed("POST");
    }
    r.respond(200, "DRAINING\n");
    server.beginDrain();
  } else if (path == "/quitquitquit") {
    if (!post) {
      return method_not_allowed("POST");
    }
    r.respond(200, "OK\n");
    server.quit();
  } else if (path == "/") {
    r.respond(200,
              "remora-sidecar admin: /ready /healthz /server_info /stats /stats/prometheus "
              "/clusters /listeners /config_dump /requests /logging (POST: /logging?level= "
              "/drain /quitquitquit)\n");
  } else {
    r.respond(404, "not found\n");
  }
}

}  // namespace remora::sidecar
