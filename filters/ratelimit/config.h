#pragma once
// Where a validated RateLimit policy becomes a filter factory (the only file of this filter that
// sees protobuf types).

#include <memory>
#include <string>

#include "common/stats.h"
#include "filters/api/http_filter.h"
#include "filters/api/route_filter_config.h"
#include "remora/config/v1/route.pb.h"

namespace remora::filters::ratelimit {

// nullptr when requests_per_unit is 0 (no limit). burst 0 means requests_per_unit; max_sources
// 0 means 10000. Registers remora_ratelimited_total{route=route_name}. Every call makes a new
// limiter, which starts with full buckets.
std::shared_ptr<const HttpFilterFactory> makeRateLimitFactory(const config::v1::RateLimit& policy,
                                                              const std::string& route_name,
                                                              common::StatsStore& stats);
// The registry's entry point: the route's `rate_limit` policy.
std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc);

}  // namespace remora::filters::ratelimit
