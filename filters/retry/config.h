#pragma once
// Where a validated RetryPolicy message becomes a RetryPolicy (the only file of this library that
// sees protobuf types).

#include "filters/retry/retry_policy.h"
#include "remora/config/v1/cluster.pb.h"

namespace remora::filters::retry {

// From a validated proto, with the defaults of the proto comments: backoff base 25ms (also for
// a zero base), max 10 x base (and never below base), budget percent 20 and min 3 per second
// when the budget message is present, buffer limit 65536. retry_on empty and num_retries > 0:
// gateway-error | connect-failure | reset. Unknown retry_on names and status codes above 65535
// (rejected by validation) are ignored.
RetryPolicy retryPolicyFromProto(const config::v1::RetryPolicy& p);

}  // namespace remora::filters::retry
