#include "control/file_source.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <ctime>

#include "common/time_format.h"
#include "control/manifest_files.h"
#include "control/manifest_loader.h"

namespace remora::control {

FileSource::FileSource(uv_loop_t* loop, std::string dir, uint64_t poll_ms)
    : loop_(loop), dir_(std::move(dir)), poll_ms_(poll_ms ? poll_ms : 200) {}

FileSource::~FileSource() = default;

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
  reload();
  timer_ = std::make_unique<common::Timer>(loop_, [this] { poll(); });
  timer_->start(poll_ms_, poll_ms_);
  return common::Status::ok();
}

bool FileSource::poll() {
  std::string fp = fingerprint();
  if (fp == fingerprint_) {
    return false;
  }
  fingerprint_ = std::move(fp);
  if (!reload()) {
    return false;
  }
  if (changed_) {
    changed_();
  }
  return true;
}

bool FileSource::reload() {
  auto load = loadManifests(dir_);
  last_change_ = common::nowRfc3339Utc();
  if (!load.isOk()) {
    // The directory itself went away: keep what is in force, report it.
    errors_ = {load.status().message()};
    spdlog::error("manifests: {}", load.status().message());
    return true;
  }
  ManifestLoad& l = load.value();
  errors_ = std::move(l.errors);
  if (errors_.empty()) {
    manifests_ = std::move(l.manifests);
    have_good_ = true;
    spdlog::info("manifests: {} objects in {} files from {}", manifests_.objectCount(),
                 manifests_.files, dir_);
  } else {
    for (const std::string& e : errors_) {
      spdlog::error("manifest error: {}", e);
    }
    if (!have_good_) {
      manifests_ = std::move(l.manifests);
      spdlog::warn("manifests: {} problem(s); serving the {} valid objects until they are fixed",
                   errors_.size(), manifests_.objectCount());
    } else {
      spdlog::warn("manifests: {} problem(s); the last good state stays in force",
                   errors_.size());
    }
  }
  return true;
}

}  // namespace remora::control
