#pragma once
// Semantic checks of a policy.remora.dev/v1alpha1 TrafficPolicy (docs/manifests.md).

#include <string_view>

#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// Checks, each reported at its field:
//  - metadata.name; at least one targetRef, each kind Service, group "" / core, a Service
//    name, no Service twice;
//  - loadBalancer.type one of ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, RANDOM, LEAST_REQUEST,
//    RING_HASH, MAGLEV, PEAK_EWMA; hashOn only with RING_HASH / MAGLEV and naming a header, a
//    cookie or sourceIP: true; ewmaDecay only with PEAK_EWMA and > 0; panicThresholdPercent
//    0..100;
//  - connectionPool: maxConnections and maxRequests >= 1, timeouts > 0;
//  - outlierDetection: interval and baseEjectionTime > 0, maxEjectionTime >= baseEjectionTime
//    (defaults 30s / 300s), maxEjectionPercent 0..100;
//  - healthCheck: http or tcp; http.path starts with '/'; expectedStatuses 100..599; interval
//    and timeout > 0; thresholds >= 1;
//  - retry: retryOn names 5xx | gateway-error | reset | connect-failure |
//    retriable-status-codes; retriableStatusCodes 100..599 and only with
//    retriable-status-codes in retryOn; perTryTimeout and backoff.baseInterval > 0,
//    backoff.maxInterval >= baseInterval; budget.percent 0..100;
//  - rateLimit: requestsPerUnit >= 1 (required), unit second | minute | hour, burst >= 1;
//  - faultInjection: percentages 0..100, delay.fixedDelay > 0 (required), abort.httpStatus
//    200..599;
//  - fallback: status 200..599, header names valid.
void validateTrafficPolicy(const mesh::TrafficPolicy& policy, ObjectChecker& check);

// Whether `name` is a load balancer type a TrafficPolicy may name.
bool isLoadBalancerType(std::string_view name);

}  // namespace remora::control
