#include "control/kube_write_queue.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace remora::control {

KubeWriteQueue::KubeWriteQueue(KubeConfig config, std::string what, std::function<void(bool)> done)
    : client_(std::move(config)), what_(std::move(what)), done_(std::move(done)) {}

KubeWriteQueue::~KubeWriteQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void KubeWriteQueue::start() {
  thread_ = std::thread([this] { run(); });
}

void KubeWriteQueue::put(const std::string& key, Write write) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_[key] = std::move(write);
  }
  cv_.notify_all();
}

void KubeWriteQueue::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.clear();
}

void KubeWriteQueue::run() {
  while (true) {
    std::map<std::string, Write> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) {
        return;
      }
      batch.swap(pending_);
    }
    std::map<std::string, Write> failed;
    for (auto& [key, write] : batch) {
      common::Status s = write(client_);
      if (done_) {
        done_(s.isOk());
      }
      if (!s.isOk()) {
        spdlog::warn("kubernetes: {} {}: {} (retried)", what_, key, s.message());
        failed.emplace(key, std::move(write));
      }
    }
    if (!failed.empty()) {
      std::unique_lock<std::mutex> lock(mutex_);
      for (auto& [key, write] : failed) {
        pending_.emplace(key, std::move(write));  // unless a newer wish came meanwhile
      }
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  }
}

}  // namespace remora::control
