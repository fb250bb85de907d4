#include "control/file_source.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <ctime>

#include "common/time_format.h"
#include "control/manifest_files.h"

namespace remora::control {

FileSource::FileSource(common::EventLoop& loop, std::string dir, uint64_t poll_ms,
                       ManifestLimits limits)
    : loop_(loop),
      dir_(std::move(dir)),
      poll_ms_(poll_ms ? poll_ms : 200),
      loader_(std::move(limits)),
      manifests_(std::make_shared<const MeshManifests>()),
      alive_(std::make_shared<FileSource*>(this)) {}

FileSource::~FileSource() {
  alive_.reset();
  if (worker_.joinable()) {
    worker_.join();
  }
}

std::string FileSource::fingerprint() const {
  auto files = listManifestFiles(dir_);
  if (!files.isOk()) {
    return "error: " + files.status().message();
  }
  std::string out;
  for (const std::string& f : files.value()) {
    struct stat st {};
    out += f;
    if (::stat(f.c_str(), &st) == 0) {
      out += " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_ino);
    }
    out += "\n";
  }
  return out;
}

common::Status FileSource::start(std::function<void()> changed) {
  auto files = listManifestFiles(dir_);
  if (!files.isOk()) {
    return files.status();
  }
  changed_ = std::move(changed);
  fingerprint_ = fingerprint();
  startLoad();
  timer_ = std::make_unique<common::Timer>(loop_.uv(), [this] { poll(); });
  timer_->start(poll_ms_, poll_ms_);
  return common::Status::ok();
}

bool FileSource::poll() {
  std::string fp = fingerprint();
  if (fp == fingerprint_) {
    return false;
  }
  fingerprint_ = std::move(fp);
  if (loading_) {
    load_again_ = true;
  } else {
    startLoad();
  }
  return true;
}

void FileSource::startLoad() {
  if (worker_.joinable()) {
    worker_.join();  // finished: its result was posted before finishLoad ran
  }
  loading_ = true;
  std::weak_ptr<FileSource*> alive = alive_;
  worker_ = std::thread([this, alive] {
    auto load = std::make_shared<common::Result<ManifestLoad>>(loader_.load(dir_));
    loop_.post([alive, load] {
      if (auto self = alive.lock()) {
        (*self)->finishLoad(std::move(*load));
      }
    });
  });
}

void FileSource::finishLoad(common::Result<ManifestLoad> load) {
  loading_ = false;
  ++loads_;
  last_change_ = common::nowRfc3339Utc();
  if (!load.isOk()) {
    // The directory itself went away: keep what is in force, report it.
    errors_ = {load.status().message()};
    spdlog::error("manifests: {}", load.status().message());
  } else {
    ManifestLoad& l = load.value();
    errors_ = std::move(l.errors);
    manifests_ = std::make_shared<const MeshManifests>(std::move(l.manifests));
    if (errors_.empty()) {
      spdlog::info("manifests: {} objects in {} files from {}", manifests_->objectCount(),
                   manifests_->files, dir_);
    } else {
      // Each problem is logged once by the control plane (ProblemLog), not here.
      spdlog::warn("manifests: {} objects in force; {} problem(s) in {} file(s), which keep "
                   "their last good version",
                   manifests_->objectCount(), errors_.size(), l.files_with_errors.size());
    }
  }
  if (load_again_) {
    load_again_ = false;
    startLoad();
  }
  if (changed_) {
    changed_();
  }
}

}  // namespace remora::control
