#pragma once
// The parsed manifests of the mesh: every valid object of each kind, with where it came from.

#include <cstddef>
#include <string>
#include <vector>

#include "remora/mesh/v1/http_route.pb.h"
#include "remora/mesh/v1/service.pb.h"
#include "remora/mesh/v1/traffic_policy.pb.h"
#include "xds/source_map.h"

namespace remora::control {

namespace mesh = remora::mesh::v1;

// One object and its origin. `map` holds the position of every field that was written, keyed
// by lowerCamelCase paths relative to the object ("spec.rules[0].backendRefs[1].weight"), so
// that later stages (the translator) can still report "FILE:LINE:COL: PATH: problem".
template <typename T>
struct Manifest {
  T object;
  std::string file;    // as found under the loaded directory, e.g. "k8s/examples/shop/x.yaml"
  xds::SourcePos pos;  // the object's first line (its document, or its item of a List)
  xds::SourceMap map;

  // "FILE:LINE:COL: PATH: problem" at the position of `path` (or its closest written ancestor).
  std::string error(std::string_view path, std::string_view problem) const {
    return xds::formatConfigError(file, map.find(path), path, problem);
  }
  // "FILE:LINE", for messages that point at another object.
  std::string where() const { return file + ":" + std::to_string(pos.line); }
};

// Everything a manifest directory holds. Objects are in file order (files sorted by path,
// documents in order). An object with any error is not here; metadata.namespace is always set
// ("default" when the file left it out).
struct MeshManifests {
  std::vector<Manifest<mesh::Service>> services;
  std::vector<Manifest<mesh::EndpointSlice>> endpoint_slices;
  std::vector<Manifest<mesh::Endpoints>> endpoints;  // legacy v1 Endpoints
  std::vector<Manifest<mesh::HTTPRoute>> routes;
  std::vector<Manifest<mesh::TrafficPolicy>> policies;
  size_t files = 0;  // manifest files read, with or without objects or errors

  size_t objectCount() const noexcept {
    return services.size() + endpoint_slices.size() + endpoints.size() + routes.size() +
           policies.size();
  }
};

}  // namespace remora::control
