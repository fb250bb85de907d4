#pragma once
// Mesh mode: the config a sidecar runs is its base bootstrap (from flags and/or the --config
// file: node, admin, concurrency, the listeners bound at start, static_resources with the
// sidecar's own cluster xds::kLocalAppCluster) merged with the resources the control plane
// pushed over xDS. This file holds the pushed resource set, reads xDS responses into it, and
// merges it with the base. The xDS client (sidecar/xds_client.h) keeps the set; the Server builds
// snapshots from the merge. No I/O.
//
// Merge rules (docs/control-plane.md "Sidecar in mesh mode"):
//  - xDS clusters are added after the static ones; a STATIC one takes its endpoints from the
//    ClusterLoadAssignment of the same name when there is one (else it keeps what it lists,
//    usually nothing: requests to it get 503 no-healthy-upstream until endpoints arrive).
//  - xDS route configurations are added after the static ones.
//  - A pushed Listener sets every field of the base listener of the same name except its
//    address; listeners keep their order and positions.
//  - Errors (the whole update is rejected): an xDS cluster named kLocalAppCluster or like a
//    static cluster, a route configuration named like a static one, a listener the base does not
//    have, or one whose non-empty address differs from the base listener's.

#include <google/protobuf/any.pb.h>
#include <google/protobuf/repeated_ptr_field.h>

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "remora/xds/v1/discovery.pb.h"

namespace remora::sidecar {

// The resources last accepted from the control plane, by name (std::map: merges are
// deterministic, so /config_dump is too).
struct DynamicResources {
  std::map<std::string, config::v1::Cluster> clusters;                 // by name
  std::map<std::string, config::v1::ClusterLoadAssignment> endpoints;  // by cluster_name
  std::map<std::string, config::v1::RouteConfiguration> routes;        // by name
  std::map<std::string, config::v1::Listener> listeners;               // by name
};

// Replaces every resource of `type_url` (one of xds/resource_types.h) in `out` with
// `resources`, the set of a DiscoveryResponse (state of the world). Fails with kInvalidArgument,
// leaving `out` in an unspecified state (work on a copy), when a resource is not of `type_url`,
// does not parse, has no name or shares its name with another; or when `type_url` is unknown.
common::Status replaceResources(
    std::string_view type_url,
    const google::protobuf::RepeatedPtrField<google::protobuf::Any>& resources,
    DynamicResources& out);

// Applies an endpoints delta to `out`: each resource adds or replaces the assignment of its
// name (Resource.name and ClusterLoadAssignment.cluster_name must agree when both are set; the
// other is taken from the one set), each removed name is dropped (unknown names are ignored).
// Fails as above, also when the delta is not of the endpoints type or names a resource in both
// lists.
common::Status applyEndpointDelta(const remora::xds::v1::DeltaDiscoveryResponse& delta,
                                  DynamicResources& out);

// The merged bootstrap (rules above). Errors are kInvalidArgument, "listener 'X': ...",
// "cluster 'X': ...", "route configuration 'X': ...".
common::Result<config::v1::Bootstrap> mergeMeshBootstrap(const config::v1::Bootstrap& base,
                                                         const DynamicResources& dynamic);

// validateBootstrap for a merged bootstrap (mesh mode: references are not resolved there; the
// snapshot answers 503 for missing clusters instead). Problems are named by resource rather
// than by position: "cluster 'X': endpoints[0].address: invalid address ...", one per line.
common::Status validateMeshBootstrap(const config::v1::Bootstrap& merged);

}  // namespace remora::sidecar
