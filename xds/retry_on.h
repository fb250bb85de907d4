#pragma once
// The retry_on conditions of the config schema: their names (manifests, bootstrap, xDS) and
// the bits the retry filter keeps them as (filters::retry::RetryPolicy::retry_on). Here, below
// the filters, so that the bootstrap and manifest validators name them from the same table.

#include <cstdint>
#include <string>
#include <string_view>

namespace remora::xds {

enum RetryOn : uint32_t {
  kRetryOn5xx = 1,                    // any response >= 500, connect failures, resets, timeouts
  kRetryOnGatewayError = 2,           // 502, 503, 504, connect failures, per-try timeouts
  kRetryOnReset = 4,                  // the upstream reset the stream before a response head
  kRetryOnConnectFailure = 8,         // no connection could be made to the endpoint
  kRetryOnRetriableStatusCodes = 16,  // the codes in RetryPolicy::retriable_status_codes
  // gRPC: a trailers-only response (grpc-status in the response head) with this status.
  kRetryOnGrpcCancelled = 32,           // 1 CANCELLED
  kRetryOnGrpcDeadlineExceeded = 64,    // 4 DEADLINE_EXCEEDED
  kRetryOnGrpcResourceExhausted = 128,  // 8 RESOURCE_EXHAUSTED
  kRetryOnGrpcInternal = 256,           // 13 INTERNAL
  kRetryOnGrpcUnavailable = 512,        // 14 UNAVAILABLE
};

struct RetryOnName {
  std::string_view name;
  uint32_t bit;
};
inline constexpr RetryOnName kRetryOnNames[] = {
    {"5xx", kRetryOn5xx},
    {"gateway-error", kRetryOnGatewayError},
    {"reset", kRetryOnReset},
    {"connect-failure", kRetryOnConnectFailure},
    {"retriable-status-codes", kRetryOnRetriableStatusCodes},
    {"cancelled", kRetryOnGrpcCancelled},
    {"deadline-exceeded", kRetryOnGrpcDeadlineExceeded},
    {"resource-exhausted", kRetryOnGrpcResourceExhausted},
    {"internal", kRetryOnGrpcInternal},
    {"unavailable", kRetryOnGrpcUnavailable},
};

// The bit of a retry_on name (exact, lower case); 0 if unknown.
constexpr uint32_t parseRetryOn(std::string_view name) noexcept {
  for (const RetryOnName& n : kRetryOnNames) {
    if (n.name == name) {
      return n.bit;
    }
  }
  return 0;
}

// "5xx, gateway-error, ...": every name, for error messages.
inline std::string retryOnNamesText() {
  std::string out;
  for (const RetryOnName& n : kRetryOnNames) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n.name;
  }
  return out;
}

}  // namespace remora::xds
