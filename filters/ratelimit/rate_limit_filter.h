#pragma once
// Local rate limiting (per route): a request that finds no token in the route's bucket (or in
// its client address's bucket, per_source) is answered here with 429, x-remora-reason:
// rate-limited and retry-after (whole seconds until the next token, at least 1). Every such
// answer is counted in remora_ratelimited_total{route} and noted in the decision trail as
// "rate limited (N/unit, burst B)". Runs first in the route's chain.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/stats.h"
#include "filters/api/http_filter.h"
#include "filters/ratelimit/rate_limiter.h"

namespace remora::filters::ratelimit {

struct RateLimitConfig {
  std::string route;
  RateLimitSettings settings;
  std::string note;                  // the trail line, "rate limited (10/second, burst 5)"
  common::Counter limited;           // remora_ratelimited_total{route}
  uint64_t (*clock)() = &uv_hrtime;  // monotonic ns, the same clock on every worker
};

class RateLimitFilter final : public HttpFilter {
 public:
  RateLimitFilter(const RateLimitConfig& config, RateLimiter& limiter)
      : config_(config), limiter_(limiter) {}
  // Takes a token; without one answers 429 and returns kStop.
  FilterStatus onRequestHeaders(http::RequestHead& head, StreamCtx& ctx) noexcept override;

 private:
  const RateLimitConfig& config_;
  RateLimiter& limiter_;
};

// Holds the config and the limiter that every stream of the route (on every worker) shares.
class RateLimitFilterFactory final : public HttpFilterFactory {
 public:
  explicit RateLimitFilterFactory(RateLimitConfig config)
      : config_(std::move(config)), limiter_(config_.settings), shared_(config_, limiter_) {}
  std::string_view name() const noexcept override { return "rate_limit"; }
  std::unique_ptr<HttpFilter> create() const override;
  // Stateless per stream (the limiter is thread-safe): one filter for every stream.
  HttpFilter* shared() const noexcept override { return &shared_; }
  const RateLimitConfig& config() const noexcept { return config_; }
  RateLimiter& limiter() const noexcept { return limiter_; }

 private:
  RateLimitConfig config_;
  mutable RateLimiter limiter_;  // thread-safe; the factory is shared as const
  mutable RateLimitFilter shared_;
};

}  // namespace remora::filters::ratelimit
