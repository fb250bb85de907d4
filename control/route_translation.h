#pragma once
// HTTPRoute -> config::v1 Routes: one Route per match of each rule, as docs/manifests.md
// ("gateway.networking.k8s.io/v1 HTTPRoute") says. Which Services and ports a route attaches to
// is the translator's business; this file turns the rules of one route into the Routes of one
// virtual host. Pure functions; the route has passed validation (http_route_validation.h).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "control/manifest_set.h"
#include "remora/config/v1/route.pb.h"

namespace remora::control {

// The outbound cluster of a Service port: "<service>.<namespace>:<port>".
std::string clusterName(std::string_view service, std::string_view ns, uint32_t port);

// The virtual host the routes go to: the parent Service port.
struct RouteParent {
  std::string cluster;  // the parent Service port's own cluster (rules without backendRefs)
  // The TrafficPolicy of the parent Service, or nullptr: its faults go on every route, and its
  // retry is the base a rule's retry / timeouts.backendRequest is merged into.
  const mesh::TrafficPolicySpec* policy = nullptr;
};

// Why a backendRef's Service port (namespace, name, port) cannot take HTTP, or "" when it can or
// when the Service is missing (a Service that failed its own checks: its errors say why).
using BackendCheck =
    std::function<std::string(const std::string& ns, const std::string& name, uint32_t port)>;

// What in `route`'s rules the translator cannot honour, one "FILE:LINE:COL: PATH: problem" line
// each: a backendRef without a cluster (ExternalName Service, UDP / SCTP port), weights adding
// up to more than the sidecar takes, retry.attempts above kMaxRetries, URLRewrite
// ReplaceFullPath (the sidecar's prefix_rewrite needs a prefix match), header values with line
// breaks, a host set both by URLRewrite.hostname and a RequestHeaderModifier. parentRefs are the
// translator's to check.
std::vector<std::string> routeProblems(const Manifest<mesh::HTTPRoute>& route,
                                       const BackendCheck& backend_check);

// The Routes of every rule of `route` for a virtual host of `parent`, in rule order, one per
// match (a rule without matches: one, PathPrefix "/"). Names: "<ns>/<route>/<rule>/<match>"
// where <rule> is the rule's name, or its index when it has none, and <match> the match's
// index. spec.hostnames become a "host" header regex on every route. Call only for a route
// without routeProblems.
std::vector<config::v1::Route> translateRules(const Manifest<mesh::HTTPRoute>& route,
                                              const RouteParent& parent);

// The route of a Service port no HTTPRoute attaches to: "<cluster>/default", prefix "/" to the
// port's own cluster, with the policy's faults.
config::v1::Route defaultRoute(const RouteParent& parent);

// The route RetryPolicy of a rule that sets retry and/or timeouts.backendRequest: the policy's
// retry (none: empty) with the rule's values on top. codes replace the status conditions:
// retriable_status_codes = codes and retry_on = the policy's connection conditions (reset,
// connect-failure) + retriable-status-codes; attempts -> num_retries (unset: the policy's, else
// 1 when the rule has a retry block); backoff -> backoff.base_interval (a policy max_interval
// below it is dropped, so the sidecar's default of 10 x base applies); backendRequest ->
// per_try_timeout.
config::v1::RetryPolicy mergeRetry(const mesh::HTTPRouteRule& rule,
                                   const mesh::TrafficPolicySpec* policy);

// The ECMAScript regex a Host header value must match for `hostnames` (Gateway API rules:
// "*.example.com" matches any name ending in ".example.com"), case-insensitive, any ":port".
std::string hostnamesRegex(const google::protobuf::RepeatedPtrField<std::string>& hostnames);

}  // namespace remora::control
