#include "control/policy_translation.h"

#include <algorithm>
#include <map>

#include "xds/source_map.h"

namespace remora::control {
namespace {

namespace cfg = remora::config::v1;

bool hasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

cfg::Cluster::LbPolicy lbPolicyOf(const std::string& type) {
  cfg::Cluster::LbPolicy policy = cfg::Cluster::ROUND_ROBIN;
  // Validation admits only the names of the enum, so parsing cannot fail; empty is the default.
  if (!type.empty()) {
    cfg::Cluster::LbPolicy_Parse(type, &policy);
  }
  return policy;
}

}  // namespace

std::vector<std::string> policyProblems(const Manifest<mesh::TrafficPolicy>& policy) {
  std::vector<std::string> problems;
  const mesh::TrafficPolicySpec& spec = policy.object.spec();
  if (spec.retry().has_attempts() && spec.retry().attempts() > kMaxRetries) {
    problems.push_back(
        policy.error("spec.retry.attempts", std::to_string(spec.retry().attempts()) +
                                                " is above the sidecar's maximum of " +
                                                std::to_string(kMaxRetries) + " retries"));
  }
  // Map order is not file order: look at the names sorted so the messages come out stable.
  std::map<std::string, std::string> headers(spec.fallback().headers().begin(),
                                             spec.fallback().headers().end());
  for (const auto& [name, value] : headers) {
    if (hasLineBreak(value)) {
      problems.push_back(policy.error(xds::mapEntryPath("spec.fallback.headers", name),
                                      "a header value cannot hold a line break"));
    }
  }
  return problems;
}

bool hasClientSideSettings(const mesh::TrafficPolicySpec& spec) {
  return spec.has_load_balancer() || spec.has_connection_pool() || spec.has_outlier_detection() ||
         spec.has_health_check() || spec.has_retry() || spec.has_timeout() ||
         spec.has_fault_injection() || spec.has_fallback();
}

void applyClusterPolicy(const mesh::TrafficPolicySpec& spec, cfg::Cluster* cluster) {
  if (spec.has_load_balancer()) {
    const mesh::LoadBalancer& lb = spec.load_balancer();
    cluster->set_lb_policy(lbPolicyOf(lb.type()));
    cfg::LoadBalancer* out = cluster->mutable_load_balancer();
    if (lb.has_hash_on()) {
      switch (lb.hash_on().key_case()) {
        case mesh::HashOn::kHeader:
          out->mutable_hash_on()->set_header(lb.hash_on().header());
          break;
        case mesh::HashOn::kCookie:
          out->mutable_hash_on()->set_cookie(lb.hash_on().cookie());
          break;
        case mesh::HashOn::kSourceIp:
          out->mutable_hash_on()->set_source_ip(lb.hash_on().source_ip());
          break;
        case mesh::HashOn::KEY_NOT_SET:
          break;
      }
    }
    if (lb.has_ewma_decay()) {
      *out->mutable_ewma_decay() = lb.ewma_decay();
    }
    if (lb.has_panic_threshold_percent()) {
      out->set_panic_threshold_percent(lb.panic_threshold_percent());
    }
    if (out->ByteSizeLong() == 0) {
      cluster->clear_load_balancer();  // only the type was given
    }
  }
  if (spec.has_connection_pool()) {
    const mesh::ConnectionPool& cp = spec.connection_pool();
    if (cp.has_max_connections() || cp.has_max_pending_requests() || cp.has_max_requests() ||
        cp.has_max_retries()) {
      cfg::CircuitBreakers* cb = cluster->mutable_circuit_breakers();
      if (cp.has_max_connections())
        cb->set_max_connections(cp.max_connections());
      if (cp.has_max_pending_requests())
        cb->set_max_pending_requests(cp.max_pending_requests());
      if (cp.has_max_requests())
        cb->set_max_requests(cp.max_requests());
      if (cp.has_max_retries())
        cb->set_max_retries(cp.max_retries());
    }
    if (cp.has_connect_timeout()) {
      *cluster->mutable_connect_timeout() = cp.connect_timeout();
    }
    if (cp.has_idle_timeout()) {
      *cluster->mutable_idle_timeout() = cp.idle_timeout();
    }
  }
  if (spec.has_outlier_detection()) {
    // Present (even empty) turns outlier detection on with the sidecar's defaults.
    const mesh::OutlierDetection& od = spec.outlier_detection();
    cfg::OutlierDetection* out = cluster->mutable_outlier_detection();
    if (od.has_consecutive_5xx())
      out->set_consecutive_5xx(od.consecutive_5xx());
    if (od.has_consecutive_gateway_errors()) {
      out->set_consecutive_gateway_failure(od.consecutive_gateway_errors());
    }
    if (od.has_interval())
      *out->mutable_interval() = od.interval();
    if (od.has_base_ejection_time())
      *out->mutable_base_ejection_time() = od.base_ejection_time();
    if (od.has_max_ejection_time())
      *out->mutable_max_ejection_time() = od.max_ejection_time();
    if (od.has_max_ejection_percent())
      out->set_max_ejection_percent(od.max_ejection_percent());
  }
  if (spec.has_health_check()) {
    const mesh::HealthCheck& hc = spec.health_check();
    cfg::HealthCheck* out = cluster->mutable_health_check();
    if (hc.has_http()) {
      cfg::HealthCheck::Http* http = out->mutable_http();
      http->set_path(hc.http().path());
      http->mutable_expected_statuses()->CopyFrom(hc.http().expected_statuses());
    } else if (hc.has_tcp()) {
      out->mutable_tcp();
    }
    if (hc.has_interval())
      *out->mutable_interval() = hc.interval();
    if (hc.has_timeout())
      *out->mutable_timeout() = hc.timeout();
    if (hc.has_unhealthy_threshold())
      out->set_unhealthy_threshold(hc.unhealthy_threshold());
    if (hc.has_healthy_threshold())
      out->set_healthy_threshold(hc.healthy_threshold());
  }
  if (spec.has_retry()) {
    *cluster->mutable_retry_policy() = retryPolicyOf(spec.retry());
  }
  if (spec.has_timeout()) {
    *cluster->mutable_request_timeout() = spec.timeout();  // 0: none
  }
  if (spec.has_fallback()) {
    const mesh::Fallback& fb = spec.fallback();
    cfg::FallbackResponse* out = cluster->mutable_fallback();
    out->set_status(fb.has_status() ? fb.status() : 200);
    out->set_body(fb.body());
    for (const auto& [name, value] : fb.headers()) {
      (*out->mutable_headers())[name] = value;
    }
  }
}

cfg::RetryPolicy retryPolicyOf(const mesh::Retry& retry) {
  cfg::RetryPolicy out;
  for (const std::string& on : retry.retry_on()) {
    out.add_retry_on(on);
  }
  out.set_num_retries(retry.attempts());
  if (retry.has_per_try_timeout()) {
    *out.mutable_per_try_timeout() = retry.per_try_timeout();
  }
  out.mutable_retriable_status_codes()->CopyFrom(retry.retriable_status_codes());
  if (retry.has_backoff()) {
    cfg::RetryPolicy::Backoff* b = out.mutable_backoff();
    if (retry.backoff().has_base_interval()) {
      *b->mutable_base_interval() = retry.backoff().base_interval();
    }
    if (retry.backoff().has_max_interval()) {
      *b->mutable_max_interval() = retry.backoff().max_interval();
    }
  }
  if (retry.has_budget()) {
    cfg::RetryPolicy::Budget* b = out.mutable_budget();
    if (retry.budget().has_percent())
      b->set_percent(retry.budget().percent());
    if (retry.budget().has_min_retries_per_second()) {
      b->set_min_retries_per_second(retry.budget().min_retries_per_second());
    }
  }
  return out;
}

cfg::RateLimit rateLimitOf(const mesh::RateLimit& rate_limit) {
  cfg::RateLimit out;
  out.set_requests_per_unit(rate_limit.requests_per_unit());
  if (rate_limit.unit() == "minute") {
    out.set_unit(cfg::RateLimit::MINUTE);
  } else if (rate_limit.unit() == "hour") {
    out.set_unit(cfg::RateLimit::HOUR);
  } else {
    out.set_unit(cfg::RateLimit::SECOND);  // "second" or unset
  }
  if (rate_limit.has_burst()) {
    out.set_burst(rate_limit.burst());
  }
  out.set_per_source(rate_limit.per_source());
  return out;
}

cfg::FaultInjection faultOf(const mesh::FaultInjection& fault) {
  cfg::FaultInjection out;
  if (fault.has_delay()) {
    cfg::FaultInjection::Delay* d = out.mutable_delay();
    d->set_percent(fault.delay().has_percent() ? fault.delay().percent() : 100.0);
    *d->mutable_fixed_delay() = fault.delay().fixed_delay();
  }
  if (fault.has_abort()) {
    cfg::FaultInjection::Abort* a = out.mutable_abort();
    a->set_percent(fault.abort().has_percent() ? fault.abort().percent() : 100.0);
    a->set_http_status(fault.abort().has_http_status() ? fault.abort().http_status() : 503);
  }
  return out;
}

}  // namespace remora::control
