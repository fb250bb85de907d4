#pragma once
// Checks across objects: names defined once, and every reference naming something that exists.

#include <set>
#include <string>
#include <vector>

#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// Runs on objects that passed their own checks and have metadata.namespace filled in.
// `broken_services` ("namespace/name") are Services that exist but failed their own checks: a
// reference to one of them is neither an error nor checked further (the Service's own errors
// say what is wrong). Reports
// to `errors`, at the referring field, and removes the offending object from `manifests`:
//  - an object whose kind, namespace and name repeat an earlier one (the first stays);
//  - an EndpointSlice whose kubernetes.io/service-name label, or an Endpoints whose name,
//    names no Service of its namespace;
//  - an HTTPRoute whose parentRef or backendRef names no Service (in the ref's namespace,
//    default the route's), or a port / sectionName that Service does not have;
//  - a TrafficPolicy whose targetRef names no Service of its namespace, or a Service that an
//    earlier policy already targets (one policy per Service; the first stays).
// Services themselves are only ever removed as duplicates, so nothing is removed because of
// another removal.
void checkReferences(MeshManifests& manifests, const std::set<std::string>& broken_services,
                     std::vector<ManifestError>* errors);

}  // namespace remora::control
