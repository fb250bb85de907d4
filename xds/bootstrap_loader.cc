#include "xds/bootstrap_loader.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <vector>

#include <google/protobuf/unknown_field_set.h>

#include "common/host_port.h"
#include "common/utf8.h"
#include "xds/retry_on.h"
#include "xds/yaml_to_proto.h"

namespace remora::xds {
namespace {

namespace pb = google::protobuf;
namespace v1 = config::v1;

constexpr uint32_t kMaxConcurrency = 128;
constexpr uint32_t kMaxRequestHeadersKb = 1024;
// Client addresses one per-source rate limit may track (each costs ~150 bytes).
constexpr uint32_t kMaxRateLimitSources = 1000000;
// Largest Duration.seconds whose value still fits in int64 nanoseconds.
constexpr int64_t kMaxDurationSeconds = 9223372035;

std::string quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

std::string at(std::string_view parent, std::string_view name) {
  return joinPath(parent, name);
}

std::string at(std::string_view parent, std::string_view name, int index) {
  return indexPath(joinPath(parent, name), static_cast<size_t>(index));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class Validator {
 public:
  Validator(std::string_view source, const SourceMap& map) : source_(source), map_(map) {}

  common::Status run(const v1::Bootstrap& b);

 private:
  struct Error {
    SourcePos pos;
    std::string text;
  };

  void error(const std::string& path, std::string_view problem) {
    SourcePos pos = map_.find(path);
    errors_.push_back({pos, formatConfigError(source_, pos, path, problem)});
  }
  int lineOf(const std::string& path) const { return map_.find(path).line; }
  std::string firstAt(const std::string& path) const {
    int line = lineOf(path);
    return line > 0 ? " (first at line " + std::to_string(line) + ")" : "";
  }

  std::optional<common::ParsedAddress> address(const std::string& path, const std::string& text,
                                               bool allow_port_zero);
  void regex(const std::string& path, const std::string& pattern);
  void durations(const pb::Message& m, const std::string& path);
  void listeners(const v1::Bootstrap& b);
  void clusters(const v1::StaticResources& r);
  void routeConfigs(const v1::StaticResources& r);
  void route(const v1::Route& route, const std::string& path);
  void clusterPolicy(const v1::Cluster& c, const std::string& path);
  void retryPolicy(const v1::RetryPolicy& p, const std::string& path);
  void routeAction(const v1::RouteAction& a, const std::string& path);
  void rateLimit(const v1::RateLimit& rl, const std::string& path);
  void reference(const std::string& path, const std::string& name,
                 const std::map<std::string, std::string>& defined, std::string_view kind,
                 std::string_view where);

  std::string source_;
  const SourceMap& map_;
  std::vector<Error> errors_;
  bool resolve_references_ = true;
  std::map<std::string, std::string> cluster_paths_;  // name -> path of its first definition
  std::map<std::string, std::string> route_paths_;
};

common::Status Validator::run(const v1::Bootstrap& b) {
  resolve_references_ = !b.has_xds() || b.xds().address_size() == 0;
  // Names first, so that references can be checked wherever they appear.
  const v1::StaticResources& res = b.static_resources();
  for (int i = 0; i < res.clusters_size(); ++i) {
    cluster_paths_.emplace(res.clusters(i).name(), at("static_resources", "clusters", i));
  }
  for (int i = 0; i < res.routes_size(); ++i) {
    route_paths_.emplace(res.routes(i).name(), at("static_resources", "routes", i));
  }

  if (b.concurrency() > kMaxConcurrency) {
    error("concurrency", "concurrency " + std::to_string(b.concurrency()) +
                             " exceeds the maximum of " + std::to_string(kMaxConcurrency));
  }
  if (b.has_admin()) {
    const v1::Admin& a = b.admin();
    if (!a.address().empty()) {
      address("admin.address", a.address(), /*allow_port_zero=*/true);
    }
    if (a.has_prometheus_address() && !a.prometheus_address().empty()) {
      address("admin.prometheus_address", a.prometheus_address(), true);
    }
    if (a.has_health_address() && !a.health_address().empty()) {
      address("admin.health_address", a.health_address(), true);
    }
  }
  for (int i = 0; i < b.xds().address_size(); ++i) {
    if (!isControlPlaneAddress(b.xds().address(i))) {
      error(at("xds", "address", i), "invalid control plane address " + quote(b.xds().address(i)) +
                                         " (expected HOST:PORT with a port in 1..65535)");
    }
  }
  listeners(b);
  clusters(res);
  routeConfigs(res);
  durations(b, "");

  if (errors_.empty()) {
    return common::Status::ok();
  }
  // File order reads best; errors without a position go last.
  std::stable_sort(errors_.begin(), errors_.end(), [](const Error& x, const Error& y) {
    auto key = [](SourcePos p) {
      return std::pair{p.known() ? p.line : INT32_MAX, p.known() ? p.col : INT32_MAX};
    };
    return key(x.pos) < key(y.pos);
  });
  std::string m;
  for (const Error& e : errors_) {
    if (!m.empty()) {
      m += '\n';
    }
    m += e.text;
  }
  return common::Status::invalid(std::move(m));
}

std::optional<common::ParsedAddress> Validator::address(const std::string& path,
                                                        const std::string& text,
                                                        bool allow_port_zero) {
  auto parsed = common::parseHostPort(text);
  if (!parsed.isOk()) {
    error(path, parsed.status().message());
    return std::nullopt;
  }
  if (!allow_port_zero && parsed.value().port == 0) {
    error(path, "invalid address " + quote(text) + ": port must be in 1..65535");
    return std::nullopt;
  }
  return std::move(parsed).value();
}

void Validator::regex(const std::string& path, const std::string& pattern) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    (void)re;
  } catch (const std::regex_error& e) {
    error(path, "invalid regex " + quote(pattern) + ": " + e.what());
  }
}

void Validator::reference(const std::string& path, const std::string& name,
                          const std::map<std::string, std::string>& defined, std::string_view kind,
                          std::string_view where) {
  if (resolve_references_ && defined.find(name) == defined.end()) {
    error(path, std::string(kind) + " " + quote(name) + " is not defined in " + std::string(where));
  }
}

void Validator::durations(const pb::Message& m, const std::string& path) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  if (d->full_name() == "google.protobuf.Duration") {
    const int64_t seconds = r->GetInt64(m, d->FindFieldByName("seconds"));
    const int32_t nanos = r->GetInt32(m, d->FindFieldByName("nanos"));
    if (seconds < 0 || nanos < 0) {
      error(path, "negative durations are not allowed");
    } else if (nanos > 999999999) {
      error(path, "duration nanos " + std::to_string(nanos) + " out of range 0..999999999");
    } else if (seconds > kMaxDurationSeconds) {
      error(path, "duration too large (the maximum is about 292 years)");
    }
    return;
  }
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || f->is_map()) {
      continue;
    }
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        durations(r->GetRepeatedMessage(m, f, i), at(path, f->name(), i));
      }
    } else {
      durations(r->GetMessage(m, f), at(path, f->name()));
    }
  }
}

void Validator::listeners(const v1::Bootstrap& b) {
  std::map<std::string, std::string> names;      // name -> path of its first use
  std::map<std::string, std::string> addresses;  // "host:port" -> listener path
  for (int i = 0; i < b.listeners_size(); ++i) {
    const v1::Listener& l = b.listeners(i);
    const std::string path = at("", "listeners", i);
    if (l.name().empty()) {
      error(at(path, "name"), "listener name is required");
    } else if (auto [first, fresh] = names.emplace(l.name(), at(path, "name")); !fresh) {
      error(at(path, "name"),
            "duplicate listener name " + quote(l.name()) + firstAt(first->second));
    }
    if (l.address().empty()) {
      error(at(path, "address"), "listener address is required (IP:PORT)");
    } else if (auto a = address(at(path, "address"), l.address(), /*allow_port_zero=*/true)) {
      if (a->port != 0) {
        std::string key = (a->ipv6 ? "[" + a->host + "]" : a->host) + ":" + std::to_string(a->port);
        auto [first, fresh] = addresses.emplace(key, path);
        if (!fresh) {
          error(at(path, "address"),
                "address " + quote(l.address()) + " is already used by " + first->second);
        }
      }
    }
    if (!l.route_config().empty()) {
      reference(at(path, "route_config"), l.route_config(), route_paths_, "route configuration",
                "static_resources.routes");
    }
    if (!l.tcp_cluster().empty()) {
      reference(at(path, "tcp_cluster"), l.tcp_cluster(), cluster_paths_, "cluster",
                "static_resources.clusters");
    }
    for (int p = 0; p < l.opaque_ports_size(); ++p) {
      if (l.opaque_ports(p) < 1 || l.opaque_ports(p) > 65535) {
        error(at(path, "opaque_ports", p),
              "opaque port " + std::to_string(l.opaque_ports(p)) + " is not in 1..65535");
      }
    }
    if (l.max_request_headers_kb() > kMaxRequestHeadersKb) {
      error(at(path, "max_request_headers_kb"),
            "max_request_headers_kb " + std::to_string(l.max_request_headers_kb()) +
                " exceeds the maximum of " + std::to_string(kMaxRequestHeadersKb));
    }
  }
}

void Validator::clusters(const v1::StaticResources& r) {
  std::map<std::string, std::string> names;
  for (int i = 0; i < r.clusters_size(); ++i) {
    const v1::Cluster& c = r.clusters(i);
    const std::string path = at("static_resources", "clusters", i);
    if (c.name().empty()) {
      error(at(path, "name"), "cluster name is required");
    } else if (auto [first, fresh] = names.emplace(c.name(), at(path, "name")); !fresh) {
      error(at(path, "name"), "duplicate cluster name " + quote(c.name()) + firstAt(first->second));
    }
    // With a control plane the endpoints may come later (a ClusterLoadAssignment).
    if (c.type() == v1::Cluster::STATIC && c.endpoints_size() == 0 && resolve_references_) {
      error(at(path, "endpoints"), "a STATIC cluster needs at least one endpoint");
    }
    if (c.type() == v1::Cluster::ORIGINAL_DST && c.endpoints_size() > 0) {
      error(at(path, "endpoints"),
            "an ORIGINAL_DST cluster must not list endpoints (it connects to the original "
            "destination)");
    }
    for (int e = 0; e < c.endpoints_size(); ++e) {
      const std::string ep = at(path, "endpoints", e);
      if (c.endpoints(e).address().empty()) {
        error(at(ep, "address"), "endpoint address is required (IP:PORT)");
      } else {
        address(at(ep, "address"), c.endpoints(e).address(), /*allow_port_zero=*/false);
      }
    }
    clusterPolicy(c, path);
  }
}

void Validator::clusterPolicy(const v1::Cluster& c, const std::string& path) {
  const v1::LoadBalancer& lb = c.load_balancer();
  const std::string lpath = at(path, "load_balancer");
  if (lb.has_panic_threshold_percent() && lb.panic_threshold_percent() > 100) {
    error(at(lpath, "panic_threshold_percent"), "panic_threshold_percent " +
                                                    std::to_string(lb.panic_threshold_percent()) +
                                                    " is not in 0..100");
  }
  if (lb.ring_size() > 8 * 1024 * 1024) {
    error(at(lpath, "ring_size"), "ring_size is above 8388608");
  }
  if (lb.choice_count() == 1 || lb.choice_count() > 100) {
    error(at(lpath, "choice_count"), "choice_count must be 2..100");
  }
  bool hashing = c.lb_policy() == v1::Cluster::RING_HASH || c.lb_policy() == v1::Cluster::MAGLEV;
  if (lb.has_hash_on() && !hashing) {
    error(at(lpath, "hash_on"), "hash_on is only used by RING_HASH and MAGLEV");
  }
  if (lb.hash_on().key_case() == v1::HashPolicy::kHeader && lb.hash_on().header().empty()) {
    error(at(at(lpath, "hash_on"), "header"), "header name is empty");
  }
  if (lb.hash_on().key_case() == v1::HashPolicy::kCookie && lb.hash_on().cookie().empty()) {
    error(at(at(lpath, "hash_on"), "cookie"), "cookie name is empty");
  }
  if (c.has_outlier_detection()) {
    const v1::OutlierDetection& o = c.outlier_detection();
    const std::string opath = at(path, "outlier_detection");
    if (o.has_max_ejection_percent() && o.max_ejection_percent() > 100) {
      error(at(opath, "max_ejection_percent"), "max_ejection_percent is not in 0..100");
    }
  }
  if (c.has_health_check()) {
    const v1::HealthCheck& h = c.health_check();
    const std::string hpath = at(path, "health_check");
    if (h.kind_case() == v1::HealthCheck::KIND_NOT_SET) {
      error(hpath, "a health check needs http or tcp");
    }
    for (int i = 0; i < h.http().expected_statuses_size(); ++i) {
      uint32_t st = h.http().expected_statuses(i);
      if (st < 100 || st > 599) {
        error(at(at(hpath, "http"), "expected_statuses", i),
              "status " + std::to_string(st) + " is not in 100..599");
      }
    }
    if (!h.http().path().empty() && h.http().path().front() != '/') {
      error(at(at(hpath, "http"), "path"), "path must start with '/'");
    }
    if ((h.has_unhealthy_threshold() && h.unhealthy_threshold() == 0) ||
        (h.has_healthy_threshold() && h.healthy_threshold() == 0)) {
      error(hpath, "thresholds must be at least 1");
    }
    if (c.type() == v1::Cluster::ORIGINAL_DST) {
      error(hpath, "an ORIGINAL_DST cluster has no endpoints to check");
    }
  }
  if (c.has_retry_policy()) {
    retryPolicy(c.retry_policy(), at(path, "retry_policy"));
  }
  if (c.has_fallback()) {
    uint32_t st = c.fallback().status();
    if (st != 0 && (st < 200 || st > 599)) {
      error(at(at(path, "fallback"), "status"),
            "status " + std::to_string(st) + " is not in 200..599");
    }
    for (const auto& [name, value] : c.fallback().headers()) {
      if (name.empty() || name.find_first_of(" :\t\r\n") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        error(at(at(path, "fallback"), "headers"), "invalid header \"" + name + "\"");
      }
    }
  }
}

void Validator::retryPolicy(const v1::RetryPolicy& p, const std::string& path) {
  for (int i = 0; i < p.retry_on_size(); ++i) {
    if (parseRetryOn(p.retry_on(i)) == 0) {
      error(at(path, "retry_on", i),
            "unknown retry_on " + quote(p.retry_on(i)) + " (use " + retryOnNamesText() + ")");
    }
  }
  for (int i = 0; i < p.retriable_status_codes_size(); ++i) {
    uint32_t st = p.retriable_status_codes(i);
    if (st < 100 || st > 599) {
      error(at(path, "retriable_status_codes", i),
            "status " + std::to_string(st) + " is not in 100..599");
    }
  }
  if (p.num_retries() > 10) {
    error(at(path, "num_retries"),
          "num_retries " + std::to_string(p.num_retries()) + " is above the maximum of 10");
  }
  if (p.budget().has_percent() && !(p.budget().percent() >= 0 && p.budget().percent() <= 100)) {
    error(at(at(path, "budget"), "percent"), "percent is not in 0..100");
  }
}

void Validator::routeAction(const v1::RouteAction& a, const std::string& path) {
  if (a.has_retry_policy()) {
    retryPolicy(a.retry_policy(), at(path, "retry_policy"));
  }
  if (a.weighted_clusters_size() == 0) {
    const std::string cpath = at(path, "cluster");
    if (a.cluster().empty()) {
      error(cpath, "route needs a cluster (route.cluster or route.weighted_clusters)");
    } else {
      reference(cpath, a.cluster(), cluster_paths_, "cluster", "static_resources.clusters");
    }
    return;
  }
  if (!a.cluster().empty()) {
    error(at(path, "cluster"), "set either cluster or weighted_clusters, not both");
  }
  uint64_t total = 0;
  for (int i = 0; i < a.weighted_clusters_size(); ++i) {
    const v1::WeightedCluster& wc = a.weighted_clusters(i);
    const std::string wpath = at(path, "weighted_clusters", i);
    reference(at(wpath, "cluster"), wc.cluster(), cluster_paths_, "cluster",
              "static_resources.clusters");
    total += wc.weight();
  }
  if (total == 0) {
    error(at(path, "weighted_clusters"), "the weights add up to 0");
  } else if (total > 1000000) {
    error(at(path, "weighted_clusters"), "the weights add up to more than 1000000");
  }
}

void Validator::routeConfigs(const v1::StaticResources& r) {
  std::map<std::string, std::string> names;
  for (int i = 0; i < r.routes_size(); ++i) {
    const v1::RouteConfiguration& rc = r.routes(i);
    const std::string path = at("static_resources", "routes", i);
    if (rc.name().empty()) {
      error(at(path, "name"), "route configuration name is required");
    } else if (auto [first, fresh] = names.emplace(rc.name(), at(path, "name")); !fresh) {
      error(at(path, "name"),
            "duplicate route configuration name " + quote(rc.name()) + firstAt(first->second));
    }
    std::map<std::string, std::string> domains;  // lower-cased domain -> its path
    for (int v = 0; v < rc.virtual_hosts_size(); ++v) {
      const v1::VirtualHost& vh = rc.virtual_hosts(v);
      const std::string vpath = at(path, "virtual_hosts", v);
      if (vh.domains_size() == 0) {
        error(at(vpath, "domains"), "a virtual host needs at least one domain (\"*\" for any)");
      }
      for (int d = 0; d < vh.domains_size(); ++d) {
        const std::string& domain = vh.domains(d);
        const std::string dpath = at(vpath, "domains", d);
        const size_t star = domain.find('*');
        if (domain.empty()) {
          error(dpath, "empty domain");
          continue;
        }
        if (star != std::string::npos && domain != "*" &&
            (domain.find('*', star + 1) != std::string::npos ||
             (star != 0 && star != domain.size() - 1))) {
          error(dpath,
                "domain " + quote(domain) +
                    ": a wildcard must be the whole domain, its first or its last character");
          continue;
        }
        if (auto [first, fresh] = domains.emplace(lower(domain), dpath); !fresh) {
          error(dpath, "domain " + quote(domain) + " is already used in this route configuration" +
                           firstAt(first->second));
        }
      }
      for (int k = 0; k < vh.routes_size(); ++k) {
        route(vh.routes(k), at(vpath, "routes", k));
      }
    }
  }
}

void Validator::route(const v1::Route& rt, const std::string& path) {
  const v1::RouteMatch& m = rt.match();
  const std::string mpath = at(path, "match");
  if (m.path_specifier_case() == v1::RouteMatch::PATH_SPECIFIER_NOT_SET) {
    error(mpath, "match needs prefix, path or regex");
  } else if (m.has_regex()) {
    regex(at(mpath, "regex"), m.regex());
  }
  for (int h = 0; h < m.headers_size(); ++h) {
    const v1::HeaderMatcher& hm = m.headers(h);
    const std::string hpath = at(mpath, "headers", h);
    if (hm.name().empty()) {
      error(at(hpath, "name"), "header matcher needs a name");
    }
    if (hm.has_regex()) {
      regex(at(hpath, "regex"), hm.regex());
    }
  }
  for (int q = 0; q < m.query_params_size(); ++q) {
    const v1::QueryParamMatcher& qm = m.query_params(q);
    const std::string qpath = at(mpath, "query_params", q);
    if (qm.name().empty()) {
      error(at(qpath, "name"), "query parameter matcher needs a name");
    }
    if (qm.has_regex()) {
      regex(at(qpath, "regex"), qm.regex());
    }
  }
  if (!rt.prefix_rewrite().empty() && rt.match().path_specifier_case() != v1::RouteMatch::kPrefix) {
    error(at(path, "prefix_rewrite"), "prefix_rewrite needs a prefix match");
  }
  for (const char* which : {"request_headers", "response_headers"}) {
    const v1::HeaderMutation& m =
        std::string_view(which) == "request_headers" ? rt.request_headers() : rt.response_headers();
    const std::string mpath = at(path, which);
    for (int k = 0; k < m.remove_size(); ++k) {
      if (m.remove(k).empty()) {
        error(at(mpath, "remove", k), "empty header name");
      }
    }
    for (const auto* map : {&m.set(), &m.add()}) {
      for (const auto& [name, value] : *map) {
        if (name.empty() || name.find_first_of(" :\t\r\n") != std::string::npos) {
          error(mpath, "invalid header name \"" + name + "\"");
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
          error(mpath, "header value of \"" + name + "\" has a line break");
        }
      }
    }
  }
  if (rt.has_rate_limit()) {
    rateLimit(rt.rate_limit(), at(path, "rate_limit"));
  }
  if (rt.has_fault()) {
    const std::string fpath = at(path, "fault");
    const v1::FaultInjection& f = rt.fault();
    auto percent = [&](double p, const std::string& where) {
      if (!(p >= 0 && p <= 100)) {
        error(where, "percent " + std::to_string(p) + " is not in 0..100");
      }
    };
    percent(f.delay().percent(), at(at(fpath, "delay"), "percent"));
    percent(f.abort().percent(), at(at(fpath, "abort"), "percent"));
    uint32_t status = f.abort().http_status();
    if (status != 0 && (status < 200 || status > 599)) {
      error(at(at(fpath, "abort"), "http_status"),
            "http_status " + std::to_string(status) + " is not in 200..599");
    }
  }
  routeAction(rt.route(), at(path, "route"));
}

// An empty rate_limit means none; one that sets anything needs a rate.
void Validator::rateLimit(const v1::RateLimit& rl, const std::string& path) {
  if (rl.requests_per_unit() == 0) {
    if (rl.unit() != v1::RateLimit::SECOND || rl.burst() != 0 || rl.per_source() ||
        rl.max_sources() != 0) {
      error(at(path, "requests_per_unit"), "requests_per_unit must be > 0 in a rate limit");
    }
    return;
  }
  if (rl.max_sources() != 0 && !rl.per_source()) {
    error(at(path, "max_sources"), "max_sources needs per_source: true");
  } else if (rl.max_sources() > kMaxRateLimitSources) {
    error(at(path, "max_sources"), "max_sources " + std::to_string(rl.max_sources()) +
                                       " exceeds the maximum of " +
                                       std::to_string(kMaxRateLimitSources));
  }
}

}  // namespace

common::Status validateBootstrap(const config::v1::Bootstrap& bootstrap,
                                 std::string_view source_name, const SourceMap& map) {
  try {
    Validator v(source_name, map);
    return v.run(bootstrap);
  } catch (const std::exception& e) {
    return common::Status::internal(formatConfigError(source_name, {}, "", e.what()));
  }
}

namespace {

void findInvalidUtf8(const pb::Message& m, const std::string& path, std::string* out);

// One value of field `f` (element `index` when repeated) of `m`.
void findInvalidUtf8In(const pb::Message& m, const pb::FieldDescriptor* f, int index,
                       const std::string& path, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
    std::string scratch;
    const std::string& v = f->is_repeated() ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                            : r->GetStringReference(m, f, &scratch);
    if (!common::isValidUtf8(v)) {
      *out = path;
    }
  } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    findInvalidUtf8(f->is_repeated() ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f),
                    path, out);
  }
}

void findInvalidUtf8(const pb::Message& m, const std::string& path, std::string* out) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string field_path = joinPath(path, f->name());
    if (!f->is_repeated()) {
      findInvalidUtf8In(m, f, 0, field_path, out);
    }
    for (int i = 0; f->is_map() && i < r->FieldSize(m, f) && out->empty(); ++i) {
      // An entry is named by its key ("set[\"x-a\"]"), its value checked under that name.
      const pb::Message& entry = r->GetRepeatedMessage(m, f, i);
      const pb::FieldDescriptor* key = f->message_type()->map_key();
      const pb::FieldDescriptor* value = f->message_type()->map_value();
      std::string entry_path = indexPath(field_path, static_cast<size_t>(i));
      if (key->type() == pb::FieldDescriptor::TYPE_STRING) {
        const std::string k = entry.GetReflection()->GetString(entry, key);
        if (!common::isValidUtf8(k)) {
          *out = entry_path;
          return;
        }
        entry_path = mapEntryPath(field_path, k);
      }
      findInvalidUtf8In(entry, value, 0, entry_path, out);
    }
    for (int i = 0; f->is_repeated() && !f->is_map() && i < r->FieldSize(m, f) && out->empty();
         ++i) {
      findInvalidUtf8In(m, f, i, indexPath(field_path, static_cast<size_t>(i)), out);
    }
    if (!out->empty()) {
      return;
    }
  }
}

constexpr int kMaxWireDepth = 100;

void findInvalidUtf8InWire(const pb::Descriptor* d, const std::string& bytes,
                           const std::string& path, int depth, std::string* out) {
  pb::UnknownFieldSet set;
  if (depth > kMaxWireDepth || !set.ParseFromString(bytes)) {
    return;
  }
  std::map<int, size_t> seen;  // field number -> elements so far
  for (int i = 0; i < set.field_count() && out->empty(); ++i) {
    const pb::UnknownField& u = set.field(i);
    const pb::FieldDescriptor* f = d->FindFieldByNumber(u.number());
    if (f == nullptr || u.type() != pb::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    std::string field_path = joinPath(path, f->name());
    if (f->is_repeated()) {
      field_path = indexPath(field_path, seen[u.number()]++);
    }
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (!common::isValidUtf8(u.length_delimited())) {
        *out = field_path;
      }
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      findInvalidUtf8InWire(f->message_type(), u.length_delimited(), field_path, depth + 1, out);
    }
  }
}

}  // namespace

std::string invalidUtf8Field(const google::protobuf::Message& message) {
  std::string out;
  findInvalidUtf8(message, "", &out);
  return out;
}

std::string invalidUtf8FieldInWire(const google::protobuf::Descriptor* type,
                                   std::string_view bytes) {
  std::string out;
  findInvalidUtf8InWire(type, std::string(bytes), "", 0, &out);
  return out;
}

std::string resourceNameInWire(const google::protobuf::Descriptor* type, std::string_view bytes) {
  pb::UnknownFieldSet set;
  if (!set.ParseFromString(std::string(bytes))) {
    return "";
  }
  for (int i = 0; i < set.field_count(); ++i) {
    const pb::UnknownField& u = set.field(i);
    const pb::FieldDescriptor* f = type->FindFieldByNumber(u.number());
    if (f != nullptr && (f->name() == "name" || f->name() == "cluster_name") &&
        f->type() == pb::FieldDescriptor::TYPE_STRING &&
        u.type() == pb::UnknownField::TYPE_LENGTH_DELIMITED &&
        common::isValidUtf8(u.length_delimited())) {
      return u.length_delimited();
    }
  }
  return "";
}

common::Status checkPushedResource(const google::protobuf::Message& resource) {
  if (std::string field = invalidUtf8Field(resource); !field.empty()) {
    return common::Status::invalid(field + ": not valid UTF-8 (the sidecar cannot parse it)");
  }
  v1::Bootstrap b;
  b.mutable_xds()->add_address("127.0.0.1:15010");  // mesh mode: references are not resolved
  std::string prefix;
  if (const auto* c = dynamic_cast<const v1::Cluster*>(&resource)) {
    *b.mutable_static_resources()->add_clusters() = *c;
    prefix = "static_resources.clusters[0].";
  } else if (const auto* a = dynamic_cast<const v1::ClusterLoadAssignment*>(&resource)) {
    v1::Cluster* c = b.mutable_static_resources()->add_clusters();
    c->set_name(a->cluster_name().empty() ? "cluster" : a->cluster_name());
    c->set_type(v1::Cluster::STATIC);
    *c->mutable_endpoints() = a->endpoints();
    prefix = "static_resources.clusters[0].";
  } else if (const auto* rc = dynamic_cast<const v1::RouteConfiguration*>(&resource)) {
    *b.mutable_static_resources()->add_routes() = *rc;
    prefix = "static_resources.routes[0].";
  } else {
    return common::Status::ok();
  }
  common::Status s = validateBootstrap(b, "", SourceMap());
  if (s.isOk()) {
    return s;
  }
  // Lines are ": PATH: problem" (no source, no position): keep "PATH: problem" relative to the
  // resource.
  std::string out;
  const std::string& m = s.message();
  size_t start = 0;
  while (start < m.size()) {
    size_t nl = m.find('\n', start);
    std::string line = m.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (line.rfind(": ", 0) == 0) {
      line.erase(0, 2);
    }
    if (line.rfind(prefix, 0) == 0) {
      line.erase(0, prefix.size());
    }
    out += (out.empty() ? "" : "\n") + line;
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return common::Status::invalid(std::move(out));
}

common::Result<config::v1::Bootstrap> parseBootstrap(std::string_view text,
                                                     std::string_view source_name) {
  config::v1::Bootstrap bootstrap;
  SourceMap map;
  if (common::Status s = parseYamlInto(text, source_name, &bootstrap, &map); !s.isOk()) {
    return s;
  }
  if (common::Status s = validateBootstrap(bootstrap, source_name, map); !s.isOk()) {
    return s;
  }
  return bootstrap;
}

common::Result<config::v1::Bootstrap> loadBootstrap(const std::string& path) {
  config::v1::Bootstrap bootstrap;
  SourceMap map;
  if (common::Status s = loadYamlFile(path, &bootstrap, &map); !s.isOk()) {
    return s;
  }
  if (common::Status s = validateBootstrap(bootstrap, path, map); !s.isOk()) {
    return s;
  }
  return bootstrap;
}

bool isControlPlaneAddress(std::string_view text) {
  auto ip = common::parseHostPort(text);
  if (ip.isOk()) {
    return ip.value().port != 0;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string_view host = text.substr(0, colon);
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') {
      return false;
    }
  }
  std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) {
    return false;
  }
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v >= 1 && v <= 65535;
}

}  // namespace remora::xds
