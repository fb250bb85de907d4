#pragma once
// Semantic checks of the Kubernetes-owned kinds: Service, EndpointSlice, legacy Endpoints. They
// check what the mesh relies on (names, ports, addresses); fields the mesh does not read are
// the API server's business and are not checked.

#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// The label of an EndpointSlice that names its Service.
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

// metadata.name (a DNS-1035 label); per port: port 1..65535, targetPort a port number or an
// IANA service name (at most 15 of a-z, 0-9 and '-', with a letter), protocol TCP|UDP|SCTP,
// name a DNS-1123 label, required and unique when there is more than one port; port numbers
// unique per protocol; type ClusterIP|NodePort|LoadBalancer|ExternalName.
void validateService(const mesh::Service& service, ObjectChecker& check);

// metadata.name; the kubernetes.io/service-name label (a Service name); addressType
// IPv4|IPv6|FQDN; every endpoint has addresses of that type; ports as for a Service (port
// optional), names unique.
void validateEndpointSlice(const mesh::EndpointSlice& slice, ObjectChecker& check);

// metadata.name (the Service's name); every address has an IP literal; every port 1..65535.
void validateEndpoints(const mesh::Endpoints& endpoints, ObjectChecker& check);

}  // namespace remora::control
