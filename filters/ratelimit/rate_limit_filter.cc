#include "filters/ratelimit/rate_limit_filter.h"

namespace remora::filters::ratelimit {

std::unique_ptr<HttpFilter> RateLimitFilterFactory::create() const {
  return std::make_unique<RateLimitFilter>(config_, limiter_);
}

FilterStatus RateLimitFilter::onRequestHeaders(http::RequestHead&, StreamCtx& ctx) noexcept {
  const std::string_view source =
      config_.settings.per_source ? ctx.downstreamHost() : std::string_view();
  const RateLimiter::Decision d = limiter_.acquire(source, config_.clock());
  if (d.allowed) {
    return FilterStatus::kContinue;
  }
  ctx.stats().add(config_.limited);
  ctx.info().note(config_.note);
  const std::string retry_after = std::to_string(d.retry_after_s);
  LocalReply reply;
  reply.reason = Reason::kRateLimited;
  reply.status = 429;
  reply.detail = "the route's request rate limit was exceeded";
  reply.headers.emplace_back("retry-after", retry_after);
  ctx.sendLocalReply(reply);
  return FilterStatus::kStop;
}

}  // namespace remora::filters::ratelimit
