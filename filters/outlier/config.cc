#include "filters/outlier/config.h"

#include "xds/duration.h"

namespace remora::filters::outlier {

OutlierConfig outlierConfigFromProto(const config::v1::OutlierDetection& proto) {
  OutlierConfig c;
  if (proto.has_consecutive_5xx()) {
    c.consecutive_5xx = proto.consecutive_5xx();
  }
  if (proto.has_consecutive_gateway_failure()) {
    c.consecutive_gateway_failure = proto.consecutive_gateway_failure();
  }
  c.interval_ms = xds::durationMsOr(proto.interval(), c.interval_ms);
  c.base_ejection_ms = xds::durationMsOr(proto.base_ejection_time(), c.base_ejection_ms);
  c.max_ejection_ms = xds::durationMsOr(proto.max_ejection_time(), c.max_ejection_ms);
  if (proto.has_max_ejection_percent()) {
    c.max_ejection_percent = proto.max_ejection_percent();
  }
  return c;
}

}  // namespace remora::filters::outlier
