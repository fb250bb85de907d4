#pragma once
// Semantic checks of a gateway.networking.k8s.io/v1 HTTPRoute attached to Services (the Gateway
// API mesh convention). Whatever passes can be mapped onto the sidecar's route model; whatever
// cannot be mapped is an error here rather than silently dropped (docs/manifests.md).

#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// Checks, each reported at its field:
//  - metadata.name; at least one parentRef, and every parentRef is a Service (kind Service,
//    group "" / core / unset) with a name, an optional port 1..65535 and an optional
//    sectionName (a DNS-1123 label);
//  - hostnames: DNS names, optionally starting with "*.", no IP addresses;
//  - per rule: name a DNS-1123 label; path match types Exact | PathPrefix | RegularExpression
//    (Exact and PathPrefix values start with '/', regular expressions compile); header and
//    query parameter match types Exact | RegularExpression with a valid, non-repeated name;
//    method one of the nine HTTP methods;
//  - filters: type RequestHeaderModifier | ResponseHeaderModifier | URLRewrite (other Gateway
//    API filters are not supported), each at most once per rule, with the config of its own
//    type and no other; header names valid and not repeated within set / add / remove;
//    URLRewrite: hostname a DNS name, path type ReplacePrefixMatch (every match of the rule a
//    PathPrefix) or ReplaceFullPath (every match an Exact path: the sidecar rewrites a matched
//    prefix), the value of that type set and starting with '/';
//  - backendRefs: kind Service (default), group "" / core, a Service name, port 1..65535
//    (required), weight 0..1000000, not all weights 0;
//  - timeouts.backendRequest <= timeouts.request (when request is not 0); retry codes 400..599,
//    attempts >= 0.
void validateHttpRoute(const mesh::HTTPRoute& route, ObjectChecker& check);

// Whether a reference's group names the Kubernetes core API group ("" or "core").
inline bool isCoreGroup(std::string_view group) {
  return group.empty() || group == "core";
}

}  // namespace remora::control
