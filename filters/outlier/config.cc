#include "filters/outlier/config.h"

namespace remora::filters::outlier {

namespace {

uint64_t msOr(const google::protobuf::Duration& d, uint64_t fallback) {
  uint64_t ms = static_cast<uint64_t>(d.seconds()) * 1000 + static_cast<uint64_t>(d.nanos()) / 1000000;
  return ms == 0 ? fallback : ms;
}

}  // namespace

OutlierConfig outlierConfigFromProto(const config::v1::OutlierDetection& proto) {
  OutlierConfig c;
  if (proto.has_consecutive_5xx()) {
    c.consecutive_5xx = proto.consecutive_5xx();
  }
  if (proto.has_consecutive_gateway_failure()) {
    c.consecutive_gateway_failure = proto.consecutive_gateway_failure();
  }
  c.interval_ms = msOr(proto.interval(), c.interval_ms);
  c.base_ejection_ms = msOr(proto.base_ejection_time(), c.base_ejection_ms);
  c.max_ejection_ms = msOr(proto.max_ejection_time(), c.max_ejection_ms);
  if (proto.has_max_ejection_percent()) {
    c.max_ejection_percent = proto.max_ejection_percent();
  }
  return c;
}

}  // namespace remora::filters::outlier
