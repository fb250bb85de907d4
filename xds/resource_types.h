#pragma once
// The resource types the control plane pushes over xDS, by type URL, and the order they are
// pushed in. A type URL is exactly what google.protobuf.Any::PackFrom writes for the message, so
// `any.type_url() == kClusterType` holds for a packed config::v1::Cluster.

#include <array>
#include <string_view>

namespace remora::xds {

// config::v1::Cluster: settings of one upstream service (LB, breakers, retries, ...).
inline constexpr std::string_view kClusterType = "type.googleapis.com/remora.config.v1.Cluster";
// config::v1::ClusterLoadAssignment: the endpoints of one cluster. The only type that may also be
// sent as a DeltaDiscoveryResponse (see docs/xds.md).
inline constexpr std::string_view kEndpointType =
    "type.googleapis.com/remora.config.v1.ClusterLoadAssignment";
// config::v1::RouteConfiguration: virtual hosts and routes; routes name clusters.
inline constexpr std::string_view kRouteType =
    "type.googleapis.com/remora.config.v1.RouteConfiguration";
// config::v1::Listener: ports the sidecar listens on; a listener names a route configuration
// and/or a TCP cluster.
inline constexpr std::string_view kListenerType = "type.googleapis.com/remora.config.v1.Listener";

// The order a control plane pushes the types in when several changed: every type comes after
// the types it names, so a sidecar never receives a name before the thing it names (a route's
// cluster, a listener's route configuration). Clusters, endpoints, routes, listeners.
// Removals are the other way round: a resource is only safe to drop once nothing sent names it.
inline constexpr std::array<std::string_view, 4> kPushOrder = {kClusterType, kEndpointType,
                                                               kRouteType, kListenerType};

// The short name of a type for logs, metric labels and /config_dump: "clusters", "endpoints",
// "routes", "listeners"; "unknown" for anything else.
constexpr std::string_view typeShortName(std::string_view type_url) noexcept {
  if (type_url == kClusterType) {
    return "clusters";
  }
  if (type_url == kEndpointType) {
    return "endpoints";
  }
  if (type_url == kRouteType) {
    return "routes";
  }
  if (type_url == kListenerType) {
    return "listeners";
  }
  return "unknown";
}

// The cluster every sidecar defines itself for traffic to its own workload (the inbound
// routes' target): STATIC to `--app` when given, else ORIGINAL_DST (the port the client
// dialled, on 127.0.0.1). A control plane never pushes a cluster of this name; a sidecar
// rejects (NACKs) one that does.
inline constexpr std::string_view kLocalAppCluster = "local-app";

// True when `type_url` is one of the four types above.
constexpr bool isKnownType(std::string_view type_url) noexcept {
  for (std::string_view t : kPushOrder) {
    if (t == type_url) {
      return true;
    }
  }
  return false;
}

}  // namespace remora::xds
