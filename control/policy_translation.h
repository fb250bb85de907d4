#pragma once
// TrafficPolicy -> config::v1: the client-side settings of a targeted Service's outbound
// clusters, the retry policy and faults of the routes to it, and the rate limit of its inbound
// route. Field by field as docs/manifests.md ("policy.remora.dev/v1alpha1 TrafficPolicy") says.
// Pure functions; the policy has passed validation (traffic_policy_validation.h).

#include <string>
#include <vector>

#include "control/manifest_set.h"
#include "remora/config/v1/cluster.pb.h"
#include "remora/config/v1/route.pb.h"

namespace remora::control {

// The most retries the sidecar accepts in a RetryPolicy (xds/bootstrap_loader.h).
inline constexpr uint32_t kMaxRetries = 10;

// What in `policy` the translator cannot honour, one "FILE:LINE:COL: PATH: problem" line each
// (an empty result means every field maps). Checks only what validation cannot know: limits of
// the sidecar's config model (retry.attempts above kMaxRetries, header values with line breaks).
// Problems that depend on the targeted Services (no cluster to carry the settings) are the
// translator's.
std::vector<std::string> policyProblems(const Manifest<mesh::TrafficPolicy>& policy);

// True when `spec` sets anything the callers' sidecars apply (everything but rateLimit).
bool hasClientSideSettings(const mesh::TrafficPolicySpec& spec);

// Applies the client-side settings of `spec` to `cluster`: loadBalancer -> lb_policy and
// load_balancer, connectionPool -> circuit_breakers, connect_timeout, idle_timeout,
// outlierDetection, healthCheck, retry -> retry_policy, timeout -> request_timeout, fallback.
// Fields the policy leaves unset stay unset (the sidecar's defaults apply).
void applyClusterPolicy(const mesh::TrafficPolicySpec& spec, config::v1::Cluster* cluster);

// The policy's retry as a config RetryPolicy (attempts -> num_retries, perTryTimeout, retryOn,
// retriableStatusCodes, backoff, budget).
config::v1::RetryPolicy retryPolicyOf(const mesh::Retry& retry);

// The policy's rate limit (unit second / minute / hour -> SECOND / MINUTE / HOUR; burst unset
// stays 0, which the sidecar reads as requestsPerUnit).
config::v1::RateLimit rateLimitOf(const mesh::RateLimit& rate_limit);

// The policy's faults, with the defaults written out: percent 100, abort status 503.
config::v1::FaultInjection faultOf(const mesh::FaultInjection& fault);

}  // namespace remora::control
