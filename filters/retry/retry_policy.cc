#include "filters/retry/retry_policy.h"

#include <algorithm>

namespace remora::filters::retry {

bool RetryPolicy::retriesGrpcStatus(uint32_t grpc_status) const noexcept {
  switch (grpc_status) {
    case 1:
      return (retry_on & kRetryOnGrpcCancelled) != 0;
    case 4:
      return (retry_on & kRetryOnGrpcDeadlineExceeded) != 0;
    case 8:
      return (retry_on & kRetryOnGrpcResourceExhausted) != 0;
    case 13:
      return (retry_on & kRetryOnGrpcInternal) != 0;
    case 14:
      return (retry_on & kRetryOnGrpcUnavailable) != 0;
    default:
      return false;
  }
}

bool RetryPolicy::retriesStatus(uint16_t status) const noexcept {
  if ((retry_on & kRetryOn5xx) && status >= 500) {
    return true;
  }
  if ((retry_on & kRetryOnGatewayError) && status >= 502 && status <= 504) {
    return true;
  }
  return (retry_on & kRetryOnRetriableStatusCodes) &&
         std::find(retriable_status_codes.begin(), retriable_status_codes.end(), status) !=
             retriable_status_codes.end();
}

bool RetryPolicy::retriesFailure(TryFailure f) const noexcept {
  switch (f) {
    case TryFailure::kConnectFailure:
      return (retry_on & (kRetryOn5xx | kRetryOnGatewayError | kRetryOnConnectFailure)) != 0;
    case TryFailure::kReset:
      return (retry_on & (kRetryOn5xx | kRetryOnReset)) != 0;
    case TryFailure::kTimeout:
      return (retry_on & (kRetryOn5xx | kRetryOnGatewayError)) != 0;
  }
  return false;
}

uint64_t backoffMs(const RetryPolicy& p, uint32_t retry, uint64_t random) noexcept {
  const uint32_t shift = retry > 1 ? retry - 1 : 0;
  // base * 2^shift when that is at most max, else max: base <= max >> shift exactly when
  // base << shift <= max, and the shift cannot overflow then.
  uint64_t ceiling = p.backoff_max_ms;
  if (shift < 64 && p.backoff_base_ms <= (p.backoff_max_ms >> shift)) {
    ceiling = p.backoff_base_ms << shift;
  }
  if (ceiling == UINT64_MAX) {
    return random;
  }
  // Scales random into [0, ceiling] (multiply-high: uniform to within 2^-64 per value).
  return static_cast<uint64_t>((static_cast<unsigned __int128>(random) * (ceiling + 1)) >> 64);
}

}  // namespace remora::filters::retry
