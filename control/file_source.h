#pragma once
// File mode: the manifests under a directory (SPEC.md "Control plane inputs"), watched.
//
// The directory is polled (every `poll_ms`): the list of manifest files with their sizes and
// modification times is compared with the previous one, and any difference reloads the whole
// directory with loadManifests(). Polling rather than inotify because it also sees files in
// subdirectories created later, files on network or bind mounts, and a ConfigMap's symlink
// swap, with the same code, for the cost of one stat() per file per poll.
//
// A reload with problems does not replace the manifests in force ("the last good state stays"):
// the problems are reported through errors() until the files are fixed.

#include <uv.h>

#include <memory>
#include <string>

#include "common/timer.h"
#include "control/manifest_source.h"

namespace remora::control {

class FileSource : public ManifestSource {
 public:
  FileSource(uv_loop_t* loop, std::string dir, uint64_t poll_ms = 200);
  ~FileSource() override;

  std::string name() const override { return "file:" + dir_; }
  common::Status start(std::function<void()> changed) override;
  const MeshManifests& manifests() const noexcept override { return manifests_; }
  const std::vector<std::string>& errors() const noexcept override { return errors_; }
  const std::string& lastChange() const noexcept override { return last_change_; }

  // Polls now (tests; the timer calls it too). Returns true when a reload happened.
  bool poll();

 private:
  // Reads the directory; true when it was read (even with problems in the files).
  bool reload();
  // "path size mtime_ns\n" per file: changes whenever a file is added, removed or written.
  std::string fingerprint() const;

  uv_loop_t* loop_;
  std::string dir_;
  uint64_t poll_ms_;
  std::unique_ptr<common::Timer> timer_;
  std::function<void()> changed_;
  std::string fingerprint_;
  MeshManifests manifests_;
  std::vector<std::string> errors_;
  std::string last_change_;
  bool have_good_ = false;
};

}  // namespace remora::control
