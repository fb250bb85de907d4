#pragma once
// The arithmetic of `remoractl stat`: what happened between two GET /v1/stats samples, per
// Service: request rate, success rate (of gRPC calls by grpc-status) and latency quantiles
// estimated from the histogram. Pure functions, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "remora/control/v1/api.pb.h"

namespace remora::control::cli {

// The `q` quantile (0..1) of a latency histogram. `counts[i]` is the number of observations in
// bucket i (not cumulative): bucket i < bounds.size() holds values in (bounds[i-1], bounds[i]]
// (bucket 0 starts at 0), and every bucket from bounds.size() on is the implicit +Inf bucket.
// The estimate interpolates linearly inside the bucket that holds the rank q * total (as
// Prometheus' histogram_quantile does); a rank that falls in the +Inf bucket reports the last
// bound. nullopt when there are no observations or no bounds. `bounds` must be ascending.
std::optional<double> histogramQuantile(const std::vector<uint64_t>& counts,
                                        const std::vector<double>& bounds, double q);

// Calls that ended with one grpc-status during a window.
struct GrpcStatusCount {
  uint32_t code = 0;
  uint64_t calls = 0;
};

// One Service's traffic over the window between two samples. A Service with gRPC calls in the
// window (`grpc`) is measured by its calls, whatever HTTP status carried them (a failed call
// usually comes in an HTTP 200): `requests` are the calls, `errors` those whose grpc-status is
// not 0 OK. Other Services are measured by their HTTP requests and 5xx answers.
struct ServiceWindow {
  std::string namespace_;
  std::string service;
  uint64_t requests = 0;          // answered during the window (gRPC: calls ended)
  uint64_t errors = 0;            // of those, 5xx (gRPC: grpc-status other than 0)
  double rps = 0;                 // requests / window seconds
  std::optional<double> success;  // 1 - errors / requests; nullopt without requests
  std::optional<double> p50_ms;   // nullopt without latency observations
  std::optional<double> p99_ms;
  bool grpc = false;  // gRPC calls ended during the window
  // The calls of every grpc-status other than 0 during the window, most calls first (ties: the
  // lower code first); they sum to `errors`.
  std::vector<GrpcStatusCount> grpc_failures;
};

// The seconds between two samples: from their collected_unix_ms when both are set and the
// second is later, else `fallback` (the --window the user asked for).
double windowSeconds(const v1::StatsResponse& before, const v1::StatsResponse& after,
                     double fallback);

// Every Service of `after`, sorted by namespace then name, with the differences to the same
// Service in `before` (a Service missing from `before` counts from zero). Counters are expected
// to grow; one that went down (a proxy disconnected, the control plane restarted) contributes
// zero rather than a negative number (per grpc-status code as well). Histogram deltas use
// `after`'s bounds; when `before` had other bounds, its buckets are not subtracted.
// `window_seconds` <= 0 gives rps 0.
std::vector<ServiceWindow> serviceWindows(const v1::StatsResponse& before,
                                          const v1::StatsResponse& after, double window_seconds);

}  // namespace remora::control::cli
