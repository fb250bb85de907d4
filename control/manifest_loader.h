#pragma once
// Manifest files -> MeshManifests: split multi-document YAML, dispatch on apiVersion + kind,
// parse with line numbers, validate each object, then check references across objects.

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "control/manifest_set.h"
#include "control/object_checker.h"

namespace remora::control {

// What loading a set of manifests produced.
struct ManifestLoad {
  MeshManifests manifests;          // every object without problems
  std::vector<std::string> errors;  // every problem, one line each, sorted by file, line, column
  bool ok() const noexcept { return errors.empty(); }
};

// Collects manifests file by file; finish() returns them. Kinds read (anything else is an
// error at its `kind`): v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints,
// gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 TrafficPolicy, and a
// v1 List of these (`items`). Service, EndpointSlice and Endpoints accept and ignore unknown
// keys anywhere (Kubernetes writes many the mesh does not read); HTTPRoute and TrafficPolicy
// accept unknown keys only under metadata and status: anywhere else they are errors. Errors are
// "FILE:LINE:COL: PATH: problem" with lowerCamelCase paths and the file's real lines. An object
// with a parse error is not validated further; an object with any error is left out of the
// result, and never hides the problems of other objects.
class ManifestLoader {
 public:
  // Adds every object of `text`, the content of one file (any number of YAML documents split
  // by "---"; blank documents are skipped); `file` names it in errors and in Manifest::file.
  // A YAML syntax error loses the whole file (one error at the place it was found).
  void addText(std::string_view text, const std::string& file);

  // Reads the file at `path` and adds it; a file that cannot be read is one error.
  void addFile(const std::string& path);

  // Runs checkReferences (manifest_references.h) over everything added, sorts the errors and
  // returns the lot. The loader is empty afterwards and may be used again.
  ManifestLoad finish();

 private:
  MeshManifests manifests_;
  std::vector<ManifestError> errors_;
  std::set<std::string> broken_services_;  // "namespace/name" of Services with errors
};

// Loads every manifest file of `path` (listManifestFiles: a directory, recursively, or one
// file) with a ManifestLoader. Fails (kNotFound / kInvalidArgument, "PATH: ...") only when
// `path` itself cannot be listed; problems inside the files are in ManifestLoad::errors.
common::Result<ManifestLoad> loadManifests(const std::string& path);

}  // namespace remora::control
