#pragma once
// File mode: the manifests under a directory (docs/control-plane.md "Sources"), watched.
//
// The directory is polled (every `poll_ms`): the list of manifest files with their sizes and
// modification times is compared with the previous one, and any difference reloads the whole
// directory with loadManifests(). Polling rather than inotify because it also sees files in
// subdirectories created later, files on network or bind mounts, and a ConfigMap's symlink
// swap, with the same code, for the cost of one stat() per file per poll.
//
// Loading (reading, parsing, validating) runs on a worker thread, never on the loop thread: the
// result is posted back to the loop (EventLoop::post), so the API and xDS keep answering while a
// large set loads. One load at a time; a change seen during a load starts one more load when it
// ends. Until the first load ends, manifests() is empty and loaded() is false.
//
// The last good state stays in force file by file (LastGoodLoader): a file with problems keeps
// its last version without problems in force while every other file's current version applies,
// so one bad file never holds back changes elsewhere (a new Service added next to a broken file
// still reaches the mesh). The problems are reported through errors() until the files are fixed.

#include <memory>
#include <string>
#include <thread>

#include "common/event_loop.h"
#include "common/timer.h"
#include "control/manifest_loader.h"
#include "control/manifest_source.h"

namespace remora::control {

class FileSource : public ManifestSource {
 public:
  FileSource(common::EventLoop& loop, std::string dir, uint64_t poll_ms = 200,
             ManifestLimits limits = {});
  // Waits for a load in progress (bounded by the limits), drops its result.
  ~FileSource() override;

  std::string name() const override { return "file:" + dir_; }
  common::Status start(std::function<void()> changed) override;
  const MeshManifests& manifests() const noexcept override { return *manifests_; }
  std::shared_ptr<const MeshManifests> snapshot() const override { return manifests_; }
  const std::vector<std::string>& errors() const noexcept override { return errors_; }
  const std::string& lastChange() const noexcept override { return last_change_; }
  bool loaded() const noexcept override { return loads_ > 0; }

  // Polls now (tests; the timer calls it too). Returns true when the files changed (a load
  // starts now, or when the one in progress ends).
  bool poll();
  // Loads completed so far.
  uint64_t loads() const noexcept { return loads_; }

 private:
  void startLoad();
  void finishLoad(common::Result<ManifestLoad> load);
  // "path size mtime_ns\n" per file: changes whenever a file is added, removed or written.
  std::string fingerprint() const;

  common::EventLoop& loop_;
  std::string dir_;
  uint64_t poll_ms_;
  LastGoodLoader loader_;  // used by the worker only (one load at a time, joined in between)
  std::unique_ptr<common::Timer> timer_;
  std::function<void()> changed_;
  std::string fingerprint_;
  std::shared_ptr<const MeshManifests> manifests_;
  std::vector<std::string> errors_;
  std::string last_change_;
  std::thread worker_;
  bool loading_ = false;
  bool load_again_ = false;
  uint64_t loads_ = 0;
  // Posted results check it: a result that arrives after the source is gone is dropped.
  std::shared_ptr<FileSource*> alive_;
};

}  // namespace remora::control
