#include "control/api_handlers.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "common/json_writer.h"
#include "common/logging.h"
#include "control/api_auth.h"
#include "control/control_plane.h"
#include "control/dashboard_page.h"
#include "control/proxy_stats.h"
#include "remora/control/v1/api.pb.h"
#include "remora/mesh/v1/registry.pb.h"
#include "xds/proto_json.h"

namespace remora::control {

namespace {

void countRefusal(ControlPlane& cp, std::string_view reason) {
  cp.stats().shard(0).add(
      cp.stats().counter("remora_control_api_refused_total", {{"reason", std::string(reason)}}));
}

// A refusal: counted, and answered with {"error": message}.
void refuseJson(ControlPlane& cp, common::Responder& r, int status, std::string_view reason,
                const std::string& message, bool bearer_challenge = false) {
  countRefusal(cp, reason);
  common::JsonWriter w;
  w.beginObject();
  w.field("error", message);
  w.field("reason", reason);
  w.endObject();
  common::HttpResponse resp = common::HttpResponse::json(status, w.take() + "\n");
  if (bearer_challenge) {
    resp.headers.add("www-authenticate", "Bearer realm=\"remora-control\"");
  }
  r.respond(std::move(resp));
}

std::string toJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)xds::printJson(m, opts, &out);  // valid UTF-8 whatever the peers registered
  out += "\n";
  return out;
}

void methodNotAllowed(common::Responder& r, std::string_view allow) {
  common::HttpResponse resp(405, "method not allowed\n");
  resp.headers.add("allow", std::string(allow));
  r.respond(std::move(resp));
}

control::v1::ServicesResponse servicesJson(ControlPlane& cp) {
  control::v1::ServicesResponse out;
  if (!cp.cache().config()) {
    return out;
  }
  for (const ServiceSummary& s : cp.cache().config()->services()) {
    control::v1::ServiceInfo* o = out.add_services();
    o->set_namespace_(s.ns);
    o->set_name(s.name);
    for (const auto& c : s.clusters)
      o->add_clusters(c);
    for (const auto& e : s.endpoints)
      o->add_endpoints(e);
    for (const auto& r : s.routes)
      o->add_routes(r);
    o->set_policy(s.policy);
    o->set_proxies(static_cast<uint32_t>(cp.xds().proxyCountOf(s.ns, s.name)));
  }
  return out;
}

control::v1::StatusResponse statusJson(ControlPlane& cp) {
  control::v1::StatusResponse out;
  out.set_version(REMORA_VERSION);
  if (const ManifestSource* src = cp.source()) {
    control::v1::SourceStatus* s = out.add_sources();
    s->set_name(src->name());
    s->set_objects(src->manifests().objectCount());
    for (const auto& e : src->errors())
      s->add_errors(e);
    s->set_last_change(src->lastChange());
    src->describe(s);
  }
  control::v1::SourceStatus* reg = out.add_sources();
  reg->set_name("registry");
  reg->set_objects(cp.registry().size());
  reg->set_last_change(cp.registryLastChange());
  if (cp.cache().config()) {
    for (const auto& e : cp.cache().config()->errors())
      out.add_translation_errors(e);
  }
  for (const auto& e : cp.pushProblems())
    out.add_translation_errors(e);
  out.set_last_push(cp.lastPushTime());
  out.set_last_push_duration_ms(cp.lastPushDurationMs());
  out.set_pushes(cp.pushes());
  out.set_proxies(cp.xds().proxyCount());
  out.set_config_version(cp.cache().version());
  return out;
}

std::string_view refusalName(Refusal why) {
  switch (why) {
    case Refusal::kAddress:
      return "address";
    case Refusal::kTooLarge:
      return "too_large";
    case Refusal::kNone:
    case Refusal::kInvalid:
      break;
  }
  return "invalid";
}

void registryRequest(ControlPlane& cp, common::HttpRequest& req, common::Responder& r,
                     std::string_view action) {
  const WriteAccess access = authorizeWrite(
      cp.options().api_token, isLoopbackAddress(cp.apiAddress()), req.header("authorization"));
  if (access != WriteAccess::kAllowed) {
    const bool forbidden = access == WriteAccess::kNoTokenConfigured;
    refuseJson(cp, r, forbidden ? 403 : 401, forbidden ? "forbidden" : "unauthorized",
               writeAccessReason(access, cp.apiAddress().toString()), !forbidden);
    return;
  }
  mesh::RegistrationRequest body;
  google::protobuf::util::JsonParseOptions opts;
  auto st = google::protobuf::util::JsonStringToMessage(req.body, &body, opts);
  if (!st.ok()) {
    refuseJson(cp, r, 400, "invalid",
               "bad JSON body: " + common::logValue(std::string(st.message()), 512));
    return;
  }
  const uint64_t now = cp.loop().nowMs();
  Refusal why = Refusal::kInvalid;
  auto fail = [&](const common::Status& s) {
    if (s.code() == common::StatusCode::kNotFound) {
      common::JsonWriter w;
      w.beginObject();
      w.field("error", s.message());
      w.endObject();
      r.respond(common::HttpResponse::json(404, w.take() + "\n"));
      return;
    }
    refuseJson(cp, r, 400, refusalName(why), s.message());
  };
  auto answer = [&](common::Result<mesh::RegistrationResponse> res) {
    if (!res.isOk()) {
      fail(res.status());
      return;
    }
    r.respond(common::HttpResponse::json(200, toJson(res.value())));
  };
  KubernetesSource* kube = cp.kubernetes();
  // Kubernetes mode: the registry checks and answers as in file mode; the workload is stored as
  // an EndpointSlice (kube_registrations.h), which is what every replica serves from.
  auto endpointOf = [&] {
    RegisteredEndpoint e;
    e.ns = body.namespace_().empty() ? "default" : body.namespace_();
    e.service = body.service();
    e.address = body.address();
    e.port = body.port();
    e.labels.insert(body.labels().begin(), body.labels().end());
    return e;
  };
  if (action == "register") {
    bool changed = false;
    auto res = cp.registry().registerEndpoint(body, now, &changed, &why);
    if (res.isOk() && changed) {
      spdlog::info("registry: {} registered (ttl {}s)", res.value().id(),
                   res.value().ttl_seconds());
      cp.registryChanged();
    }
    if (res.isOk() && kube != nullptr) {
      kube->storeRegistration(endpointOf(), res.value().ttl_seconds());
    }
    answer(std::move(res));
  } else if (action == "heartbeat") {
    auto res = cp.registry().heartbeat(body, now, &why);
    if (kube != nullptr && !res.isOk() && res.status().code() == common::StatusCode::kNotFound) {
      // Registered through another replica, or before a restart: the slice says so.
      if (auto ttl = kube->storedRegistration(endpointOf())) {
        mesh::RegistrationRequest adopt = body;
        adopt.set_ttl_seconds(*ttl);
        bool changed = false;
        res = cp.registry().registerEndpoint(adopt, now, &changed, &why);
      }
    }
    if (res.isOk() && kube != nullptr) {
      kube->storeRegistration(endpointOf(), res.value().ttl_seconds());
    }
    answer(std::move(res));
  } else {
    common::Status s = cp.registry().deregister(body, &why);
    if (kube != nullptr && s.code() == common::StatusCode::kNotFound &&
        kube->removeRegistration(endpointOf())) {
      s = common::Status::ok();
    } else if (kube != nullptr && s.isOk()) {
      kube->removeRegistration(endpointOf());
    }
    if (!s.isOk()) {
      fail(s);
      return;
    }
    spdlog::info("registry: {}/{} {}:{} deregistered",
                 body.namespace_().empty() ? "default" : body.namespace_(), body.service(),
                 body.address(), body.port());
    cp.registryChanged();
    r.respond(common::HttpResponse::json(200, "{}\n"));
  }
}

// One collection at a time: requests that come while one runs share its answer, so that
// dashboards polling together never multiply the scrapes (nor the threads).
void statsRequest(ControlPlane& cp, common::Responder r) {
  std::vector<common::Responder>& waiters = cp.statsWaiters();
  waiters.push_back(std::move(r));
  if (waiters.size() > 1) {
    return;
  }
  struct Result {
    control::v1::StatsResponse stats;
    ScrapeFailures failures;
  };
  auto admins = cp.xds().adminAddresses();
  auto result = std::make_shared<Result>();
  cp.offload(
      [admins = std::move(admins), result] {
        result->stats = collectProxyStats(admins, ScrapeOptions(), &result->failures);
      },
      [&cp, result] {
        common::StatsShard& shard = cp.stats().shard(0);
        const std::pair<const char*, uint64_t> counts[] = {
            {"timeout", result->failures.timeout},
            {"too_large", result->failures.too_large},
            {"connect", result->failures.connect},
            {"bad_answer", result->failures.bad_answer}};
        for (const auto& [reason, n] : counts) {
          shard.add(cp.stats().counter("remora_control_stats_scrape_failures_total",
                                       {{"reason", reason}}),
                    n);
        }
        const std::string body = toJson(result->stats);
        std::vector<common::Responder> waiting;
        waiting.swap(cp.statsWaiters());
        for (common::Responder& w : waiting) {
          w.respond(common::HttpResponse::json(200, body));
        }
      });
}

}  // namespace

common::HttpServer::Options apiServerOptions() {
  common::HttpServer::Options o;
  o.max_body_bytes = kApiMaxBodyBytes;
  o.request_timeout_ms = 10 * 1000;
  o.max_connections = 1024;
  return o;
}

void countApiRefusal(ControlPlane& cp, int status) {
  switch (status) {
    case 0:
      countRefusal(cp, "connection_limit");
      break;
    case 408:
      countRefusal(cp, "timeout");
      break;
    case 413:
    case 431:
      countRefusal(cp, "too_large");
      break;
    default:
      countRefusal(cp, "bad_request");
      break;
  }
}

void announceApi(ControlPlane& cp) {
  for (const char* reason : {"unauthorized", "forbidden", "address", "invalid", "too_large",
                             "bad_request", "timeout", "connection_limit"}) {
    (void)cp.stats().counter("remora_control_api_refused_total", {{"reason", reason}});
  }
  for (const char* reason : {"timeout", "too_large", "connect", "bad_answer"}) {
    (void)cp.stats().counter("remora_control_stats_scrape_failures_total", {{"reason", reason}});
  }
  const std::string address = cp.apiAddress().toString();
  if (!cp.options().api_token.empty()) {
    spdlog::info("API writes need the bearer token of --api-token-file");
  } else if (!isLoopbackAddress(cp.apiAddress())) {
    spdlog::warn(
        "API on {} (beyond loopback) without --api-token-file: the registration "
        "endpoints answer 403; reads stay open",
        address);
  }
  if (cp.options().registry_allow_loopback) {
    spdlog::warn(
        "--registry-allow-loopback: loopback, unspecified and link-local addresses "
        "may be registered (for tests and demos on one host only)");
  }
}

void handleApiRequest(ControlPlane& cp, common::HttpRequest& req, common::Responder r) {
  const std::string& path = req.path;
  const bool get = req.method_id == HTTP_GET || req.method_id == HTTP_HEAD;
  const bool post = req.method_id == HTTP_POST;
  if (path.rfind("/v1/registry/", 0) == 0) {
    std::string_view action = std::string_view(path).substr(13);
    if (action != "register" && action != "heartbeat" && action != "deregister") {
      r.respond(404, "not found\n");
      return;
    }
    if (!post) {
      methodNotAllowed(r, "POST");
      return;
    }
    registryRequest(cp, req, r, action);
    return;
  }
  if (!get) {
    methodNotAllowed(r, "GET, HEAD");
    return;
  }
  if (path == "/healthz") {
    r.respond(200, "ok\n");
  } else if (path == "/ready") {
    r.respond(cp.ready() ? 200 : 503, cp.ready() ? "READY\n" : "NOT READY\n");
  } else if (path == "/v1/proxies") {
    control::v1::ProxiesResponse proxies = cp.xds().proxies();
    if (const ManifestSource* src = cp.source()) {
      for (control::v1::Proxy& p : *proxies.mutable_proxies()) {
        src->describeProxy(&p);
      }
    }
    r.respond(common::HttpResponse::json(200, toJson(proxies)));
  } else if (path == "/v1/services") {
    r.respond(common::HttpResponse::json(200, toJson(servicesJson(cp))));
  } else if (path == "/v1/status") {
    r.respond(common::HttpResponse::json(200, toJson(statusJson(cp))));
  } else if (path == "/v1/stats") {
    statsRequest(cp, std::move(r));
  } else if (path == "/metrics") {
    r.respond(200, cp.stats().renderPrometheus(), "text/plain; version=0.0.4");
  } else if (path == "/" || path == "/index.html") {
    r.respond(200, std::string(dashboardPage()), "text/html; charset=utf-8");
  } else {
    r.respond(404, "not found\n");
  }
}

}  // namespace remora::control
