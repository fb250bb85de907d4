#pragma once
// What a route filter's factory is built from: the route's validated config and where to
// register its metrics. Each route filter exposes one
//   std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig&);
// that returns null when the route asks nothing of it, and filters/registry.cc lists it.

#include <string>

#include "common/stats.h"
#include "remora/config/v1/route.pb.h"

namespace remora::filters {

struct RouteFilterConfig {
  const config::v1::Route& route;  // validated (xds/ and control/ checked it)
  const std::string& route_name;   // the route's name in metrics labels and the decision trail
  common::StatsStore& stats;       // register counters here, once per snapshot
};

}  // namespace remora::filters
