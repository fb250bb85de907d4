#pragma once
// The translator: the mesh model (manifests + registered endpoints) -> the config::v1 resources
// every sidecar runs. Pure functions of their input: no I/O, no clock, deterministic output
// (everything sorted by name), so two control plane replicas with the same input produce the
// same bytes and therefore the same versions.
//
// Naming (see docs/control-plane.md, "Resources"):
//  - one outbound cluster per Service port, named "<service>.<namespace>:<port>" (e.g.
//    "catalog.shop:8080"), with the TrafficPolicy of that Service applied (client side);
//  - one ClusterLoadAssignment per cluster, same name, endpoints from EndpointSlices /
//    Endpoints / registrations (ready endpoints only, sorted by address); an endpoint is marked
//    has_sidecar when a remora sidecar receives what is sent to it (see SidecarPods and
//    RegisteredEndpoint::sidecar), on every cluster (the sidecar reads the mark only on HTTP/1
//    clusters, to send to that endpoint over HTTP/2);
//  - RouteConfiguration "outbound" per caller namespace: one virtual host per Service port,
//    named like its cluster, whose domains are the names Kubernetes DNS would resolve for a
//    caller in that namespace (`catalog`, `catalog.shop`, `catalog.shop.svc`,
//    `catalog.shop.svc.cluster.local`, each with ":<port>", and without a port for the Service's
//    first port; the short name only for callers in the same namespace; "<clusterIP>:<port>"
//    when the Service has a cluster IP), routes from the HTTPRoutes attached to that Service
//    (port) or one default route to its own cluster, with the TrafficPolicy's faults on every
//    route; a route carries a timeout / retry policy only when its HTTPRoute rule sets
//    timeouts / retry (merged over the policy's retry: control/route_translation.h), else the
//    cluster's (the policy's) apply;
//  - RouteConfiguration "inbound" per proxy service: one virtual host "*" with one route "/"
//    to the sidecar-local cluster kLocalAppCluster, carrying the rate limit of the TrafficPolicy
//    attached to the proxy's own Service;
//  - Listeners "outbound" and "inbound" naming those route configurations (no address: the
//    sidecar binds its own).
//
// Resources hold protobuf maps (header mutations, fallback headers): serialize them with
// deterministic serialization (CodedOutputStream::SetSerializationDeterministic) to get the
// same bytes every time.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/manifest_set.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "xds/resource_types.h"

namespace remora::control {

// The cluster every "inbound" route names; the sidecar defines it itself (xds/resource_types.h).
using xds::kLocalAppCluster;

// An endpoint registered through the registration API (file mode), already validated.
struct RegisteredEndpoint {
  std::string ns;       // namespace of the Service ("default" if the caller gave none)
  std::string service;  // Service name; the Service must exist in the manifests to be used
  std::string address;  // IP address
  uint32_t port = 0;    // the port the workload listens on (the Service port's target)
  std::map<std::string, std::string> labels;
  // address:port is a remora sidecar's inbound listener in front of the workload: the
  // endpoint is marked has_sidecar.
  bool sidecar = false;
};

// Which ports of a pod a remora sidecar receives: those its interception captures
// (`remora-sidecar iptables --include-inbound-ports / --exclude-inbound-ports`).
struct SidecarPorts {
  bool all = true;              // every port (include '*'), else only `included`
  std::set<uint32_t> included;  // when !all
  std::set<uint32_t> excluded;  // never captured (wins over the above)

  bool captures(uint32_t port) const {
    return excluded.count(port) == 0 && (all || included.count(port) > 0);
  }
  bool operator==(const SidecarPorts&) const = default;
};

// Kubernetes mode: the running pods with an injected remora sidecar, by pod IP. An endpoint at
// such an IP, on a port the sidecar captures, is marked has_sidecar.
using SidecarPods = std::map<std::string, SidecarPorts>;

// One Service as the control plane sees it, for /v1/services and the dashboard.
struct ServiceSummary {
  std::string ns;
  std::string name;
  std::vector<std::string> clusters;   // its outbound cluster names, one per port
  std::vector<std::string> endpoints;  // "IP:PORT" of every ready endpoint, all ports
  std::vector<std::string> routes;     // "namespace/name" of the HTTPRoutes attached to it
  std::string policy;                  // "namespace/name" of its TrafficPolicy, or empty
};

// The result of translating one mesh model. Immutable once built; share it by shared_ptr.
class MeshConfig {
 public:
  // Every outbound cluster of the mesh, sorted by name (the same for every proxy).
  const std::vector<config::v1::Cluster>& clusters() const noexcept { return clusters_; }
  // One ClusterLoadAssignment per cluster, sorted by cluster name.
  const std::vector<config::v1::ClusterLoadAssignment>& endpoints() const noexcept {
    return endpoints_;
  }
  // RouteConfiguration "outbound" for a proxy in namespace `ns` (any namespace, also one
  // without Services of its own).
  config::v1::RouteConfiguration outboundRoutes(std::string_view ns) const;
  // RouteConfiguration "inbound" for a proxy of Service `service` in `ns` (a Service that does
  // not exist gets the plain route to the local app).
  config::v1::RouteConfiguration inboundRoutes(std::string_view ns, std::string_view service) const;
  // Listeners "outbound" and "inbound", in that order.
  std::vector<config::v1::Listener> listeners() const;
  // Every Service, sorted by namespace then name.
  const std::vector<ServiceSummary>& services() const noexcept { return services_; }
  // What could not be honoured, one line each ("FILE:LINE:COL: PATH: problem" for manifest
  // fields); the offending object is left out, everything else is translated. At most
  // kMaxListedErrors lines, then one "... and N more" line; errorCount() has the real count.
  const std::vector<std::string>& errors() const noexcept { return errors_; }
  size_t errorCount() const noexcept { return all_errors_.size(); }
  // Every error, unbounded (for the ProblemLog, which logs each once).
  const std::vector<std::string>& allErrors() const noexcept { return all_errors_; }
  static constexpr size_t kMaxListedErrors = 1000;

 private:
  friend std::shared_ptr<const MeshConfig> translate(const MeshManifests&,
                                                     const std::vector<RegisteredEndpoint>&,
                                                     const SidecarPods&);
  struct VirtualHostSource;  // per Service port: names and routes before domain expansion
  std::vector<config::v1::Cluster> clusters_;
  std::vector<config::v1::ClusterLoadAssignment> endpoints_;
  std::vector<ServiceSummary> services_;
  std::vector<std::string> errors_;
  std::vector<std::string> all_errors_;
  std::vector<std::shared_ptr<const VirtualHostSource>> vhosts_;
  // "namespace/service" -> the inbound route's rate limit (absent: none).
  std::map<std::string, config::v1::RateLimit> inbound_rate_limits_;
};

// Translates `manifests` plus `registered` endpoints (added to their Service's endpoints),
// marking the endpoints of `sidecar_pods` and the registered endpoints with `sidecar` set.
std::shared_ptr<const MeshConfig> translate(const MeshManifests& manifests,
                                            const std::vector<RegisteredEndpoint>& registered,
                                            const SidecarPods& sidecar_pods = {});

}  // namespace remora::control
