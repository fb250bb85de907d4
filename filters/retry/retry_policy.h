#pragma once
// Retry decisions of a cluster (or of a route that overrides it): which outcomes of a try are
// retried, how long to back off before the next try. Pure functions of the policy; no I/O.
//
// The policy is built once per config snapshot (config.h) and shared, read-only, by every
// worker.

#include <cstdint>
#include <string_view>
#include <vector>

#include "xds/retry_on.h"

namespace remora::filters::retry {

// The retry_on bits and names are the config schema's (xds/retry_on.h).
using xds::parseRetryOn;
using xds::RetryOn;
using enum xds::RetryOn;

// How a try failed before a response head arrived.
enum class TryFailure : uint8_t {
  kConnectFailure,
  kReset,
  kTimeout,  // the per-try timeout fired
};

struct RetryPolicy {
  uint32_t retry_on = 0;            // RetryOn bits
  uint32_t num_retries = 0;         // retries after the first try; 0 = retries off
  uint64_t per_try_timeout_ms = 0;  // 0 = none
  std::vector<uint16_t> retriable_status_codes;
  uint64_t backoff_base_ms = 25;
  uint64_t backoff_max_ms = 250;
  bool budget = false;  // budget configured
  double budget_percent = 20;
  uint32_t budget_min_per_second = 3;
  uint32_t buffer_limit_bytes = 65536;  // a request whose body grew past this is not retried

  bool enabled() const noexcept { return num_retries > 0; }
  // Is a response with this status retried? 5xx: any >= 500; gateway-error: 502, 503, 504;
  // retriable-status-codes: the listed codes. Whether retries are left is not asked here.
  bool retriesStatus(uint16_t status) const noexcept;
  // Is a try that failed this way retried? Connect failure: 5xx, gateway-error,
  // connect-failure; reset: 5xx, reset; per-try timeout: 5xx, gateway-error.
  bool retriesFailure(TryFailure f) const noexcept;
  // Is a trailers-only gRPC response with this grpc-status retried (cancelled,
  // deadline-exceeded, resource-exhausted, internal, unavailable)?
  bool retriesGrpcStatus(uint32_t grpc_status) const noexcept;
};

// Exponential backoff with full jitter before retry number `retry` (1 = first retry; 0 is
// taken as 1): uniform in [0, min(backoff_max_ms, backoff_base_ms * 2^(retry-1))], drawn from
// `random` (a uniformly distributed 64-bit number). Never overflows, whatever `retry` is.
uint64_t backoffMs(const RetryPolicy& p, uint32_t retry, uint64_t random) noexcept;

}  // namespace remora::filters::retry
