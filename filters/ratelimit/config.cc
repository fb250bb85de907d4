#include "filters/ratelimit/config.h"

#include <utility>

#include "filters/ratelimit/rate_limit_filter.h"

namespace remora::filters::ratelimit {

namespace {
constexpr uint64_t kNanosPerSecond = 1000000000;

std::pair<uint64_t, const char*> unitOf(config::v1::RateLimit::Unit unit) {
  switch (unit) {
    case config::v1::RateLimit::MINUTE:
      return {60 * kNanosPerSecond, "minute"};
    case config::v1::RateLimit::HOUR:
      return {3600 * kNanosPerSecond, "hour"};
    default:
      return {kNanosPerSecond, "second"};
  }
}
}  // namespace

std::shared_ptr<const HttpFilterFactory> makeRateLimitFactory(const config::v1::RateLimit& policy,
                                                              const std::string& route_name,
                                                              common::StatsStore& stats) {
  if (policy.requests_per_unit() == 0) {
    return nullptr;
  }
  RateLimitConfig c;
  c.route = route_name;
  const auto [unit_ns, unit_name] = unitOf(policy.unit());
  c.settings.requests_per_unit = policy.requests_per_unit();
  c.settings.unit_ns = unit_ns;
  c.settings.burst = policy.burst() ? policy.burst() : policy.requests_per_unit();
  c.settings.per_source = policy.per_source();
  c.settings.max_sources = policy.max_sources() ? policy.max_sources() : kDefaultMaxSources;
  c.note = "rate limited (" + std::to_string(c.settings.requests_per_unit) + "/" + unit_name +
           ", burst " + std::to_string(c.settings.burst) + ")";
  c.limited = stats.counter("remora_ratelimited_total", {{"route", route_name}});
  return std::make_shared<RateLimitFilterFactory>(std::move(c));
}

std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc) {
  return makeRateLimitFactory(rc.route.rate_limit(), rc.route_name, rc.stats);
}

}  // namespace remora::filters::ratelimit
