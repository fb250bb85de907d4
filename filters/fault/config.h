#pragma once
// Where a validated FaultInjection policy becomes a filter factory (the only file of this filter
// that sees protobuf types).

#include <memory>
#include <string>

#include "common/stats.h"
#include "filters/api/http_filter.h"
#include "filters/api/route_filter_config.h"
#include "remora/config/v1/route.pb.h"

namespace remora::filters::fault {

// nullptr when the policy injects nothing (no delay, no abort, no header trigger).
std::shared_ptr<const HttpFilterFactory> makeFaultFactory(const config::v1::FaultInjection& policy,
                                                          const std::string& route_name,
                                                          common::StatsStore& stats);
// The registry's entry point: the route's `fault` policy, when it has one.
std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc);

}  // namespace remora::filters::fault
