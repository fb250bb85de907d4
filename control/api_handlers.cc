#include "control/api_handlers.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "control/control_plane.h"
#include "control/dashboard_page.h"
#include "control/proxy_stats.h"
#include "remora/control/v1/api.pb.h"
#include "remora/mesh/v1/registry.pb.h"
#include "xds/proto_json.h"

namespace remora::control {

namespace {

constexpr auto kScrapeTimeout = std::chrono::milliseconds(1000);

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
    for (const auto& c : s.clusters) o->add_clusters(c);
    for (const auto& e : s.endpoints) o->add_endpoints(e);
    for (const auto& r : s.routes) o->add_routes(r);
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
    for (const auto& e : src->errors()) s->add_errors(e);
    s->set_last_change(src->lastChange());
  }
  control::v1::SourceStatus* reg = out.add_sources();
  reg->set_name("registry");
  reg->set_objects(cp.registry().size());
  reg->set_last_change(cp.registryLastChange());
  if (cp.cache().config()) {
    for (const auto& e : cp.cache().config()->errors()) out.add_translation_errors(e);
  }
  for (const auto& e : cp.pushProblems()) out.add_translation_errors(e);
  out.set_last_push(cp.lastPushTime());
  out.set_last_push_duration_ms(cp.lastPushDurationMs());
  out.set_pushes(cp.pushes());
  out.set_proxies(cp.xds().proxyCount());
  out.set_config_version(cp.cache().version());
  return out;
}

void registryRequest(ControlPlane& cp, common::HttpRequest& req, common::Responder& r,
                     std::string_view action) {
  mesh::RegistrationRequest body;
  google::protobuf::util::JsonParseOptions opts;
  auto st = google::protobuf::util::JsonStringToMessage(req.body, &body, opts);
  if (!st.ok()) {
    r.respond(400, "bad JSON body: " + std::string(st.message()) + "\n");
    return;
  }
  const uint64_t now = cp.loop().nowMs();
  auto answer = [&](common::Result<mesh::RegistrationResponse> res) {
    if (!res.isOk()) {
      r.respond(res.status().code() == common::StatusCode::kNotFound ? 404 : 400,
                res.status().message() + "\n");
      return;
    }
    r.respond(common::HttpResponse::json(200, toJson(res.value())));
  };
  if (action == "register") {
    bool changed = false;
    auto res = cp.registry().registerEndpoint(body, now, &changed);
    if (res.isOk() && changed) {
      spdlog::info("registry: {} registered (ttl {}s)", res.value().id(), res.value().ttl_seconds());
      cp.registryChanged();
    }
    answer(std::move(res));
  } else if (action == "heartbeat") {
    answer(cp.registry().heartbeat(body, now));
  } else {
    common::Status s = cp.registry().deregister(body);
    if (!s.isOk()) {
      r.respond(s.code() == common::StatusCode::kNotFound ? 404 : 400, s.message() + "\n");
      return;
    }
    spdlog::info("registry: {}/{} {}:{} deregistered", body.namespace_().empty() ? "default" : body.namespace_(),
                 body.service(), body.address(), body.port());
    cp.registryChanged();
    r.respond(common::HttpResponse::json(200, "{}\n"));
  }
}

}  // namespace

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
    r.respond(common::HttpResponse::json(200, toJson(cp.xds().proxies())));
  } else if (path == "/v1/services") {
    r.respond(common::HttpResponse::json(200, toJson(servicesJson(cp))));
  } else if (path == "/v1/status") {
    r.respond(common::HttpResponse::json(200, toJson(statusJson(cp))));
  } else if (path == "/v1/stats") {
    auto admins = cp.xds().adminAddresses();
    auto result = std::make_shared<control::v1::StatsResponse>();
    cp.offload([admins = std::move(admins), result] { *result = collectProxyStats(admins, kScrapeTimeout); },
               [r, result]() mutable { r.respond(common::HttpResponse::json(200, toJson(*result))); });
  } else if (path == "/metrics") {
    r.respond(200, cp.stats().renderPrometheus(), "text/plain; version=0.0.4");
  } else if (path == "/" || path == "/index.html") {
    r.respond(200, std::string(dashboardPage()), "text/html; charset=utf-8");
  } else {
    r.respond(404, "not found\n");
  }
}

}  // namespace remora::control
