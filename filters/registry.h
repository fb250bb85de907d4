#pragma once
// The route filter registry: every filter a route's chain can hold, in chain order, each with
// the function that builds its factory from the route's config. The sidecar builds each route's
// chain from this table and names no filter itself; adding a filter is one line in
// registry.cc (docs/writing-a-filter.md).

#include <memory>
#include <span>
#include <string_view>

#include "filters/api/http_filter.h"
#include "filters/api/route_filter_config.h"

namespace remora::filters {

struct RouteFilterEntry {
  std::string_view name;  // as in logs and docs; the factory's name()
  // The filter's factory for this route, or null when the route has no such policy.
  std::shared_ptr<const HttpFilterFactory> (*make)(const RouteFilterConfig& config);
};

// The table, in chain order.
std::span<const RouteFilterEntry> routeFilters() noexcept;

// The route's chain: every entry's factory that is not null, in table order.
FilterFactories buildRouteFilters(const RouteFilterConfig& config);

}  // namespace remora::filters
