#pragma once
// Manifest files -> MeshManifests: split multi-document YAML, dispatch on apiVersion + kind,
// parse with line numbers, validate each object, then check references across objects.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "control/manifest_set.h"
#include "control/object_checker.h"
#include "xds/yaml_to_proto.h"

namespace remora::control {

// What loading a set of manifests produced.
struct ManifestLoad {
  MeshManifests manifests;          // every object without problems
  std::vector<std::string> errors;  // every problem, one line each, sorted by file, line, column
  std::set<std::string> files_with_errors;  // the files those problems are in
  bool ok() const noexcept { return errors.empty(); }
};

// Bounds on what one manifest file may cost to load. Past them the file is refused (one error
// with its place) before it is parsed or walked, so that no file can stall or exhaust the
// control plane; the other files still load.
struct ManifestLimits {
  uint64_t max_file_bytes = 4 * 1024 * 1024;  // checked before reading (--max-manifest-bytes)
  xds::YamlLimits yaml;                       // alias expansion and depth (xds/yaml_to_proto.h)
  size_t max_errors_per_file = 100;           // the rest are counted in one last line
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
  explicit ManifestLoader(ManifestLimits limits = {}) : limits_(std::move(limits)) {}

  // Adds every object of `text`, the content of one file (any number of YAML documents split
  // by "---"; blank documents are skipped); `file` names it in errors and in Manifest::file.
  // A YAML syntax error loses the whole file (one error at the place it was found), and so does
  // a text over limits().yaml. At most limits().max_errors_per_file errors are kept per file
  // (the first by position), then one "FILE: ... and N more problems" line.
  void addText(std::string_view text, const std::string& file);

  // Reads the file at `path` and adds it; a file that cannot be read, or is larger than
  // limits().max_file_bytes (refused without reading it), is one error. When `text` is not null
  // it receives the content read (left empty when nothing was read).
  void addFile(const std::string& path, std::string* text = nullptr);

  // Runs checkReferences (manifest_references.h) over everything added, sorts the errors and
  // returns the lot. The loader is empty afterwards and may be used again.
  ManifestLoad finish();

 private:
  void addDocuments(std::string_view text, const std::string& file);
  // Keeps the first limits_.max_errors_per_file errors of `file` (those from `first_error` on).
  void capErrors(const std::string& file, size_t first_error);
  std::string tooLarge(const std::string& path, uint64_t size) const;

  ManifestLimits limits_;
  MeshManifests manifests_;
  std::vector<ManifestError> errors_;
  std::set<std::string> broken_services_;  // "namespace/name" of Services with errors
};

// Loads every manifest file of `path` (listManifestFiles: a directory, recursively, or one
// file) with a ManifestLoader. Fails (kNotFound / kInvalidArgument, "PATH: ...") only when
// `path` itself cannot be listed; problems inside the files are in ManifestLoad::errors.
common::Result<ManifestLoad> loadManifests(const std::string& path,
                                           const ManifestLimits& limits = {});

// Loads a manifest directory (or a set of named texts) again and again keeping the last good
// state in force file by file:
// a file with problems (any error in it, its own or a reference from it) contributes its last
// version without problems, when there was one; every other file contributes its current
// version; a file never seen without problems contributes its valid objects. The result's
// `manifests` are that mix; its `errors` and `files_with_errors` those of the current files
// (plus any problem only the mix has, e.g. an old version naming what is gone). Not
// thread-safe; keeps the content of the good files (bounded by the file size limit).
class LastGoodLoader {
 public:
  explicit LastGoodLoader(ManifestLimits limits = {}) : limits_(std::move(limits)) {}

  // Fails only when `path` itself cannot be listed (then nothing changes).
  common::Result<ManifestLoad> load(const std::string& path);

  // The same over named texts instead of files (Kubernetes mode: one part per API object,
  // named "KIND NAMESPACE/NAME"), each loaded with ManifestLoader::addText.
  ManifestLoad loadTexts(std::vector<std::pair<std::string, std::string>> texts);

 private:
  // Substitutes the last good version of every part of `load` with problems, remembers the
  // good ones.
  ManifestLoad keepLastGood(ManifestLoad load,
                            std::vector<std::pair<std::string, std::string>> texts);

  ManifestLimits limits_;
  std::map<std::string, std::string> last_good_;  // path -> last content without problems
};

}  // namespace remora::control
