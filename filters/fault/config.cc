#include "filters/fault/config.h"

#include <cmath>

#include "filters/fault/fault_filter.h"

namespace remora::filters::fault {

std::shared_ptr<const HttpFilterFactory> makeFaultFactory(const config::v1::FaultInjection& policy,
                                                          const std::string& route_name,
                                                          common::StatsStore& stats) {
  FaultConfig c;
  c.route = route_name;
  c.delay_per_million = static_cast<uint32_t>(std::lround(policy.delay().percent() * 10000));
  const auto& d = policy.delay().fixed_delay();
  c.delay_ms =
      static_cast<uint64_t>(d.seconds()) * 1000 + static_cast<uint64_t>(d.nanos()) / 1000000;
  if (c.delay_ms == 0) {
    c.delay_per_million = 0;
  }
  c.abort_per_million = static_cast<uint32_t>(std::lround(policy.abort().percent() * 10000));
  c.abort_status =
      policy.abort().http_status() ? static_cast<uint16_t>(policy.abort().http_status()) : 503;
  c.header_trigger = policy.header_trigger();
  if (c.delay_per_million == 0 && c.abort_per_million == 0 && !c.header_trigger) {
    return nullptr;
  }
  c.delays =
      stats.counter("remora_fault_injected_total", {{"route", route_name}, {"kind", "delay"}});
  c.aborts =
      stats.counter("remora_fault_injected_total", {{"route", route_name}, {"kind", "abort"}});
  return std::make_shared<FaultFilterFactory>(std::move(c));
}

std::shared_ptr<const HttpFilterFactory> makeRouteFactory(const RouteFilterConfig& rc) {
  if (!rc.route.has_fault()) {
    return nullptr;
  }
  return makeFaultFactory(rc.route.fault(), rc.route_name, rc.stats);
}

}  // namespace remora::filters::fault
