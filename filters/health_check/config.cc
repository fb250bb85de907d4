#include "filters/health_check/config.h"

#include "xds/duration.h"

namespace remora::filters::health_check {

HealthCheckConfig healthCheckConfigFromProto(const config::v1::HealthCheck& proto) {
  HealthCheckConfig c;
  if (proto.has_tcp()) {
    c.kind = HealthCheckConfig::Kind::kTcp;
  } else if (proto.has_http()) {
    const auto& http = proto.http();
    if (!http.path().empty()) {
      c.path = http.path();
    }
    c.host = http.host();
    if (!http.expected_statuses().empty()) {
      c.expected_statuses.clear();
      for (uint32_t status : http.expected_statuses()) {
        c.expected_statuses.push_back(static_cast<uint16_t>(status));
      }
    }
  }
  c.interval_ms = xds::durationMsOr(proto.interval(), c.interval_ms);
  c.timeout_ms = xds::durationMsOr(proto.timeout(), c.timeout_ms);
  c.jitter_ms = xds::durationMsOr(proto.interval_jitter(), 0);
  if (proto.has_unhealthy_threshold()) {
    c.unhealthy_threshold = proto.unhealthy_threshold();
  }
  if (proto.has_healthy_threshold()) {
    c.healthy_threshold = proto.healthy_threshold();
  }
  return c;
}

}  // namespace remora::filters::health_check
