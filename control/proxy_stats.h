#pragma once
// GET /v1/stats: the outbound traffic of every connected sidecar, summed by destination Service.
// Read from each sidecar's admin /stats/prometheus (the address it reported in its node), from
// the counters `remora_upstream_rq_total{cluster,code_class}` and the histogram
// `remora_upstream_rq_time_ms{cluster}`. A cluster "<service>.<namespace>:<port>" counts for
// that Service; other clusters (local-app, passthrough, static ones) are skipped.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "remora/control/v1/api.pb.h"

namespace remora::control {

// Totals keyed by "namespace/service".
using ServiceStatsMap = std::map<std::string, control::v1::ServiceStats>;

// Adds one sidecar's Prometheus text to `totals`. Histogram buckets are turned from cumulative
// into per-bucket counts. Lines it does not understand are skipped.
void addPrometheusText(std::string_view text, ServiceStatsMap& totals);

// Blocking (run it off the loop thread): GETs every admin address (pairs of node id, address)
// with `timeout` each and sums what answered.
control::v1::StatsResponse collectProxyStats(
    const std::vector<std::pair<std::string, std::string>>& admins,
    std::chrono::milliseconds timeout);

}  // namespace remora::control
