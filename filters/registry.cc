#include "filters/registry.h"

#include "filters/fault/config.h"
#include "filters/header_mutation/config.h"
#include "filters/ratelimit/config.h"

namespace remora::filters {

namespace {

// In chain order: the rate limit first (a limited request costs nothing more), faults (an
// aborted request needs no rewriting), then header mutation and prefix rewrite. A new filter
// goes where its hooks should run relative to these.
constexpr RouteFilterEntry kRouteFilters[] = {
    {"rate_limit", ratelimit::makeRouteFactory},
    {"fault", fault::makeRouteFactory},
    {"header_mutation", header_mutation::makeRouteFactory},
};

}  // namespace

std::span<const RouteFilterEntry> routeFilters() noexcept {
  return kRouteFilters;
}

FilterFactories buildRouteFilters(const RouteFilterConfig& config) {
  FilterFactories chain;
  for (const RouteFilterEntry& entry : kRouteFilters) {
    if (auto factory = entry.make(config)) {
      chain.push_back(std::move(factory));
    }
  }
  return chain;
}

}  // namespace remora::filters
