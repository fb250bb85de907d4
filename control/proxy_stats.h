#pragma once
// GET /v1/stats: the outbound traffic of every connected sidecar, summed by destination Service.
// Read from each sidecar's admin /stats/prometheus (the address it reported in its node), from
// the counters `remora_upstream_rq_total{cluster,code_class}` and
// `remora_grpc_requests_total{cluster,grpc_status}` and the histogram
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
// into per-bucket counts. gRPC calls are summed per grpc-status code; codes outside 0..16 and
// zero counts are left out. Lines it does not understand are skipped.
void addPrometheusText(std::string_view text, ServiceStatsMap& totals);

// Adds `from` into `into` (requests, errors, latency buckets and gRPC calls by status).
void mergeServiceStats(const ServiceStatsMap& from, ServiceStatsMap& into);

// How proxies are scraped. An admin address is whatever a peer reported, so nothing about the
// answer is trusted: the whole collection takes at most about `timeout` (every scrape shares
// that deadline; proxies not reached by then count as failed), at most `concurrency` scrapes
// run at once, and an answer over `max_body_bytes` is dropped (memory: at most concurrency x
// max_body_bytes).
struct ScrapeOptions {
  std::chrono::milliseconds timeout{1000};
  size_t concurrency = 16;
  size_t max_body_bytes = 4 * 1024 * 1024;
};

// Why scrapes failed, for remora_control_stats_scrape_failures_total{reason}.
struct ScrapeFailures {
  uint64_t timeout = 0;     // no (complete) answer before the deadline, or not reached in time
  uint64_t too_large = 0;   // the answer's body was over max_body_bytes
  uint64_t connect = 0;     // the address refused the connection or is not an address
  uint64_t bad_answer = 0;  // not HTTP, or a status other than 200, or the peer closed early
};

// Blocking (run it off the loop thread): GETs /stats/prometheus from every admin address (pairs
// of node id, address) in parallel within `options` and sums what answered. `failures`, when
// given, is filled.
control::v1::StatsResponse collectProxyStats(
    const std::vector<std::pair<std::string, std::string>>& admins, const ScrapeOptions& options,
    ScrapeFailures* failures = nullptr);

}  // namespace remora::control
