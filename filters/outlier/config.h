#pragma once
// Where a cluster's OutlierDetection policy becomes an OutlierConfig (the only file of this
// module that sees protobuf types).

#include "filters/outlier/outlier_detector.h"
#include "remora/config/v1/cluster.pb.h"

namespace remora::filters::outlier {

// Unset fields take the defaults documented in cluster.proto (5, 5, 10s, 30s, 300s, 10%). As
// elsewhere in the config, a zero duration means "unset"; an explicit 0 threshold turns that
// check off.
OutlierConfig outlierConfigFromProto(const config::v1::OutlierDetection& proto);

}  // namespace remora::filters::outlier
