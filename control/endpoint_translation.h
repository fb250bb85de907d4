#pragma once
// EndpointSlices, legacy Endpoints and registered endpoints -> the "IP:PORT" endpoints of one
// Service port's cluster (docs/control-plane.md, "Resources a sidecar gets"). Pure functions.

#include <set>
#include <string>
#include <string_view>

#include "control/manifest_set.h"

namespace remora::control {

// "IP:PORT", "[IP]:PORT" for an IPv6 address.
std::string endpointAddress(std::string_view ip, uint32_t port);

// Whether endpoint port `ep` (one of `endpoint_ports` of a slice or an Endpoints subset) carries
// Service port `sp` (one of `service_ports` of its Service). Kubernetes names endpoint ports
// after the Service port, so: the same name (a named Service port), both unnamed, or a
// single-port slice for a single-port Service whatever the names. An endpoint port without a
// number never matches.
bool endpointPortMatches(const mesh::ServicePort& sp, int service_ports,
                         const mesh::EndpointPort& ep, int endpoint_ports);

// Adds to `out` the ready endpoints of `slice` for Service port `sp`: endpoints whose
// conditions.ready is unset or true, their first address, at the matching slice port. FQDN
// slices add nothing (the sidecar dials IP addresses).
void addSliceEndpoints(const mesh::EndpointSlice& slice, const mesh::ServicePort& sp,
                       int service_ports, std::set<std::string>* out);

// Adds to `out` the ready addresses (not notReadyAddresses) of every subset of `endpoints` at
// the subset's port matching Service port `sp`.
void addLegacyEndpoints(const mesh::Endpoints& endpoints, const mesh::ServicePort& sp,
                        int service_ports, std::set<std::string>* out);

// The Service port's target port number: targetPort when it is numeric, the port itself when
// targetPort is empty, 0 for a named targetPort.
uint32_t numericTargetPort(const mesh::ServicePort& sp);

}  // namespace remora::control
