#pragma once
// Where a cluster's HealthCheck policy becomes a HealthCheckConfig (the only file of this module
// that sees protobuf types).

#include "filters/health_check/health_checker.h"
#include "remora/config/v1/cluster.pb.h"

namespace remora::filters::health_check {

// Unset fields take the defaults documented in cluster.proto: HTTP GET /healthz expecting 200
// (also when neither http nor tcp is set), every 5s, 1s timeout, no jitter, thresholds 3 and 2.
// As elsewhere in the config, a zero duration means "unset".
HealthCheckConfig healthCheckConfigFromProto(const config::v1::HealthCheck& proto);

}  // namespace remora::filters::health_check
