#pragma once
// Where the mesh's manifests come from. The control plane reads MeshManifests from a source and
// never knows how they got there: file mode (FileSource, a watched directory) today, a
// Kubernetes list/watch source next to it later. Endpoints registered through the API come from
// the Registry, not from a ManifestSource.
//
// Threading: a source lives on the control plane's loop thread; every call and callback happens
// there.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/manifest_set.h"
#include "remora/control/v1/api.pb.h"

namespace remora::control {

class ManifestSource {
 public:
  virtual ~ManifestSource() = default;

  // "file:DIR", "kubernetes", ... for /v1/status and logs.
  virtual std::string name() const = 0;

  // Loads the first state and starts watching; `changed` is called (on the loop thread) every
  // time manifests() or errors() changed. An error means the source cannot work at all (e.g. the
  // directory does not exist); problems inside manifests are errors(), not a failed start.
  virtual common::Status start(std::function<void()> changed) = 0;

  // The manifests in force: the valid objects of the latest state, where a part with problems
  // (a file, in file mode) keeps its last version without problems; a part never seen without
  // problems contributes its valid objects.
  virtual const MeshManifests& manifests() const noexcept = 0;

  // manifests() as a shared snapshot, for work done off the loop thread (translation).
  virtual std::shared_ptr<const MeshManifests> snapshot() const = 0;

  // False until the first state was read (loading may take a while and runs off the loop).
  virtual bool loaded() const noexcept = 0;

  // The problems of the latest state seen ("FILE:LINE:COL: PATH: problem"); empty when it was
  // good (and is therefore wholly in force).
  virtual const std::vector<std::string>& errors() const noexcept = 0;

  // RFC 3339 time of the latest change seen ("" before any).
  virtual const std::string& lastChange() const noexcept = 0;

  // Adds what only this kind of source knows to its /v1/status entry (Kubernetes mode:
  // leadership, kinds not listed yet).
  virtual void describe(control::v1::SourceStatus* /*status*/) const {}
  // Adds what this source knows about a connected proxy (Kubernetes mode: its Pod).
  virtual void describeProxy(control::v1::Proxy* /*proxy*/) const {}
};

}  // namespace remora::control
