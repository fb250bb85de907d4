#include "filters/retry/config.h"

#include <algorithm>

namespace remora::filters::retry {

namespace {
constexpr uint64_t kDefaultBackoffBaseMs = 25;
constexpr uint32_t kDefaultBufferLimit = 65536;

uint64_t millis(const google::protobuf::Duration& d) {
  return static_cast<uint64_t>(d.seconds()) * 1000 + static_cast<uint64_t>(d.nanos()) / 1000000;
}
}  // namespace

RetryPolicy retryPolicyFromProto(const config::v1::RetryPolicy& p) {
  RetryPolicy r;
  for (const std::string& name : p.retry_on()) {
    r.retry_on |= parseRetryOn(name);
  }
  r.num_retries = p.num_retries();
  if (p.retry_on_size() == 0 && r.num_retries > 0) {
    r.retry_on = kRetryOnGatewayError | kRetryOnConnectFailure | kRetryOnReset;
  }
  r.per_try_timeout_ms = p.has_per_try_timeout() ? millis(p.per_try_timeout()) : 0;
  for (uint32_t code : p.retriable_status_codes()) {
    if (code <= UINT16_MAX) {
      r.retriable_status_codes.push_back(static_cast<uint16_t>(code));
    }
  }
  const uint64_t base = p.backoff().has_base_interval() ? millis(p.backoff().base_interval()) : 0;
  r.backoff_base_ms = base > 0 ? base : kDefaultBackoffBaseMs;
  const uint64_t max = p.backoff().has_max_interval() ? millis(p.backoff().max_interval()) : 0;
  r.backoff_max_ms = max > 0 ? std::max(max, r.backoff_base_ms) : r.backoff_base_ms * 10;
  r.budget = p.has_budget();
  if (r.budget) {
    if (p.budget().has_percent()) {
      r.budget_percent = p.budget().percent();
    }
    if (p.budget().has_min_retries_per_second()) {
      r.budget_min_per_second = p.budget().min_retries_per_second();
    }
  }
  r.buffer_limit_bytes = p.has_buffer_limit_bytes() ? p.buffer_limit_bytes() : kDefaultBufferLimit;
  return r;
}

}  // namespace remora::filters::retry
