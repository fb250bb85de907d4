#include "control/traffic_policy_validation.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "control/field_checks.h"
#include "control/http_route_validation.h"
#include "xds/retry_on.h"

namespace remora::control {
namespace {

constexpr int64_t kDefaultBaseEjectionNs = 30'000'000'000;
constexpr int64_t kDefaultMaxEjectionNs = 300'000'000'000;
constexpr int64_t kDefaultBackoffBaseNs = 25'000'000;

constexpr std::string_view kLoadBalancerTypes[] = {
    "ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "RING_HASH", "MAGLEV",
    "PEAK_EWMA"};

template <size_t N>
std::string joined(const std::string_view (&names)[N]) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out.append(n);
  }
  return out;
}

void atLeastOne(bool has, uint32_t value, const std::string& path, ObjectChecker& check) {
  if (has && value < 1) {
    check.error(path, "must be at least 1");
  }
}

void checkTargetRefs(const mesh::TrafficPolicySpec& spec, ObjectChecker& check) {
  if (spec.target_refs_size() == 0) {
    check.error("spec.targetRefs", "at least one targetRef (a Service) is required");
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < spec.target_refs_size(); ++i) {
    const std::string path = itemPath("spec", "targetRefs", i);
    const mesh::LocalPolicyTargetReference& t = spec.target_refs(i);
    if (t.kind().empty()) {
      check.error(path + ".kind", "required (Service)");
    } else if (t.kind() != "Service") {
      check.error(path + ".kind", "kind " + quote(t.kind()) +
                                      " is not supported: a TrafficPolicy targets Services");
    }
    if (!isCoreGroup(t.group())) {
      check.error(path + ".group",
                  "group " + quote(t.group()) + " is not the core group of a Service (\"\")");
    }
    if (checkServiceName(t.name(), path, check)) {
      auto [first, fresh] = seen.emplace(t.name(), i);
      if (!fresh) {
        check.error(
            path + ".name",
            "Service " + quote(t.name()) + " is targeted twice (first at line " +
                std::to_string(check.lineOf(itemPath("spec", "targetRefs", first->second))) + ")");
      }
    }
  }
}

void checkLoadBalancer(const mesh::LoadBalancer& lb, ObjectChecker& check) {
  const std::string path = "spec.loadBalancer";
  const std::string type = lb.type().empty() ? "ROUND_ROBIN" : lb.type();
  const bool known_type = isLoadBalancerType(type);
  if (!known_type) {
    check.error(path + ".type", "unknown load balancer type " + quote(lb.type()) +
                                    " (valid: " + joined(kLoadBalancerTypes) + ")");
  }
  if (lb.has_hash_on()) {
    const mesh::HashOn& h = lb.hash_on();
    const std::string hp = path + ".hashOn";
    if (known_type && type != "RING_HASH" && type != "MAGLEV") {
      check.error(hp, "hashOn applies only to RING_HASH and MAGLEV, not " + type);
    }
    switch (h.key_case()) {
      case mesh::HashOn::kHeader:
        checkHeaderName(h.header(), hp + ".header", check);
        break;
      case mesh::HashOn::kCookie:
        if (h.cookie().empty()) {
          check.error(hp + ".cookie", "a cookie name is required");
        }
        break;
      case mesh::HashOn::kSourceIp:
        if (!h.source_ip()) {
          check.error(hp + ".sourceIP",
                      "false hashes on nothing: write sourceIP: true or leave "
                      "hashOn out");
        }
        break;
      case mesh::HashOn::KEY_NOT_SET:
        check.error(hp, "set one of header, cookie, sourceIP");
        break;
    }
  }
  if (lb.has_ewma_decay()) {
    if (known_type && type != "PEAK_EWMA") {
      check.error(path + ".ewmaDecay", "ewmaDecay applies only to PEAK_EWMA, not " + type);
    }
    checkPositive(true, lb.ewma_decay(), path + ".ewmaDecay", check);
  }
  if (lb.has_panic_threshold_percent()) {
    checkPercent(lb.panic_threshold_percent(), path + ".panicThresholdPercent", check);
  }
}

void checkConnectionPool(const mesh::ConnectionPool& cp, ObjectChecker& check) {
  const std::string path = "spec.connectionPool";
  atLeastOne(cp.has_max_connections(), cp.max_connections(), path + ".maxConnections", check);
  atLeastOne(cp.has_max_requests(), cp.max_requests(), path + ".maxRequests", check);
  checkPositive(cp.has_connect_timeout(), cp.connect_timeout(), path + ".connectTimeout", check);
  checkPositive(cp.has_idle_timeout(), cp.idle_timeout(), path + ".idleTimeout", check);
}

void checkOutlierDetection(const mesh::OutlierDetection& od, ObjectChecker& check) {
  const std::string path = "spec.outlierDetection";
  checkPositive(od.has_interval(), od.interval(), path + ".interval", check);
  const bool base_ok = checkPositive(od.has_base_ejection_time(), od.base_ejection_time(),
                                     path + ".baseEjectionTime", check);
  const int64_t base =
      od.has_base_ejection_time() ? toNanos(od.base_ejection_time()) : kDefaultBaseEjectionNs;
  const int64_t max =
      od.has_max_ejection_time() ? toNanos(od.max_ejection_time()) : kDefaultMaxEjectionNs;
  if (base_ok && max < base) {
    check.error(path + (od.has_max_ejection_time() ? ".maxEjectionTime" : ".baseEjectionTime"),
                "maxEjectionTime (default 300s) must be at least baseEjectionTime "
                "(default 30s)");
  }
  if (od.has_max_ejection_percent()) {
    checkPercent(od.max_ejection_percent(), path + ".maxEjectionPercent", check);
  }
}

void checkHealthCheck(const mesh::HealthCheck& hc, ObjectChecker& check) {
  const std::string path = "spec.healthCheck";
  if (hc.kind_case() == mesh::HealthCheck::KIND_NOT_SET) {
    check.error(path, "set http or tcp");
  }
  if (hc.has_http()) {
    const std::string& p = hc.http().path();
    if (!p.empty() && p.front() != '/') {
      check.error(path + ".http.path", "a path must start with '/', got " + quote(p));
    }
    for (int i = 0; i < hc.http().expected_statuses_size(); ++i) {
      checkStatus(hc.http().expected_statuses(i), 100, 599,
                  itemPath(path + ".http", "expectedStatuses", i), check);
    }
  }
  checkPositive(hc.has_interval(), hc.interval(), path + ".interval", check);
  checkPositive(hc.has_timeout(), hc.timeout(), path + ".timeout", check);
  atLeastOne(hc.has_unhealthy_threshold(), hc.unhealthy_threshold(), path + ".unhealthyThreshold",
             check);
  atLeastOne(hc.has_healthy_threshold(), hc.healthy_threshold(), path + ".healthyThreshold", check);
}

void checkRetry(const mesh::Retry& r, ObjectChecker& check) {
  const std::string path = "spec.retry";
  bool status_codes = false;
  for (int i = 0; i < r.retry_on_size(); ++i) {
    const std::string& name = r.retry_on(i);
    status_codes = status_codes || name == "retriable-status-codes";
    if (xds::parseRetryOn(name) == 0) {
      check.error(itemPath(path, "retryOn", i), "unknown retry condition " + quote(name) +
                                                    " (valid: " + xds::retryOnNamesText() + ")");
    }
  }
  for (int i = 0; i < r.retriable_status_codes_size(); ++i) {
    checkStatus(r.retriable_status_codes(i), 100, 599, itemPath(path, "retriableStatusCodes", i),
                check);
  }
  if (r.retriable_status_codes_size() > 0 && !status_codes) {
    check.error(path + ".retriableStatusCodes",
                "only used when retryOn lists retriable-status-codes");
  }
  checkPositive(r.has_per_try_timeout(), r.per_try_timeout(), path + ".perTryTimeout", check);
  const mesh::Retry::Backoff& b = r.backoff();
  if (checkPositive(b.has_base_interval(), b.base_interval(), path + ".backoff.baseInterval",
                    check) &&
      b.has_max_interval()) {
    const int64_t base = b.has_base_interval() ? toNanos(b.base_interval()) : kDefaultBackoffBaseNs;
    if (toNanos(b.max_interval()) < base) {
      check.error(path + ".backoff.maxInterval", "must be at least baseInterval (default 25ms)");
    }
  }
  if (r.budget().has_percent()) {
    checkPercent(r.budget().percent(), path + ".budget.percent", check);
  }
}

void checkRateLimit(const mesh::RateLimit& rl, ObjectChecker& check) {
  const std::string path = "spec.rateLimit";
  if (!rl.has_requests_per_unit()) {
    check.error(path, "requestsPerUnit is required");
  } else {
    atLeastOne(true, rl.requests_per_unit(), path + ".requestsPerUnit", check);
  }
  if (!rl.unit().empty() && rl.unit() != "second" && rl.unit() != "minute" && rl.unit() != "hour") {
    check.error(path + ".unit",
                "unknown unit " + quote(rl.unit()) + " (valid: second, minute, hour)");
  }
  atLeastOne(rl.has_burst(), rl.burst(), path + ".burst", check);
}

void checkFaultInjection(const mesh::FaultInjection& fi, ObjectChecker& check) {
  const std::string path = "spec.faultInjection";
  if (!fi.has_delay() && !fi.has_abort()) {
    check.error(path, "set delay or abort");
  }
  if (fi.has_delay()) {
    const mesh::FaultInjection::Delay& d = fi.delay();
    if (d.has_percent()) {
      checkPercent(d.percent(), path + ".delay.percent", check);
    }
    if (!d.has_fixed_delay()) {
      check.error(path + ".delay", "fixedDelay is required");
    } else {
      checkPositive(true, d.fixed_delay(), path + ".delay.fixedDelay", check);
    }
  }
  if (fi.has_abort()) {
    const mesh::FaultInjection::Abort& a = fi.abort();
    if (a.has_percent()) {
      checkPercent(a.percent(), path + ".abort.percent", check);
    }
    if (a.has_http_status()) {
      checkStatus(a.http_status(), 200, 599, path + ".abort.httpStatus", check);
    }
  }
}

void checkFallback(const mesh::Fallback& fb, ObjectChecker& check) {
  const std::string path = "spec.fallback";
  if (fb.has_status()) {
    checkStatus(fb.status(), 200, 599, path + ".status", check);
  }
  // Map order is not file order: check the names sorted so the messages come out stable.
  std::set<std::string> names;
  for (const auto& [name, value] : fb.headers()) {
    names.insert(name);
  }
  for (const std::string& name : names) {
    checkHeaderName(name, xds::mapEntryPath(path + ".headers", name), check);
  }
}

}  // namespace

bool isLoadBalancerType(std::string_view name) {
  return std::find(std::begin(kLoadBalancerTypes), std::end(kLoadBalancerTypes), name) !=
         std::end(kLoadBalancerTypes);
}

void validateTrafficPolicy(const mesh::TrafficPolicy& policy, ObjectChecker& check) {
  checkMetadata(policy.metadata(), NameRule::kDnsSubdomain, check);
  const mesh::TrafficPolicySpec& spec = policy.spec();
  checkTargetRefs(spec, check);
  if (spec.has_load_balancer()) {
    checkLoadBalancer(spec.load_balancer(), check);
  }
  if (spec.has_connection_pool()) {
    checkConnectionPool(spec.connection_pool(), check);
  }
  if (spec.has_outlier_detection()) {
    checkOutlierDetection(spec.outlier_detection(), check);
  }
  if (spec.has_health_check()) {
    checkHealthCheck(spec.health_check(), check);
  }
  if (spec.has_retry()) {
    checkRetry(spec.retry(), check);
  }
  if (spec.has_rate_limit()) {
    checkRateLimit(spec.rate_limit(), check);
  }
  if (spec.has_fault_injection()) {
    checkFaultInjection(spec.fault_injection(), check);
  }
  if (spec.has_fallback()) {
    checkFallback(spec.fallback(), check);
  }
}

}  // namespace remora::control
