#include "sidecar/access_log_writer.h"

#include <limits.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace remora::sidecar {

AccessLogWriter::AccessLogWriter(int fd, size_t max_queued_bytes, common::StatsShard& shard,
                                 common::Counter dropped)
    : fd_(fd), max_queued_bytes_(max_queued_bytes), shard_(shard), dropped_(dropped) {
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  if (!thread_.joinable()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

bool AccessLogWriter::take(std::string& lines, bool force) {
  if (lines.empty()) {
    return true;
  }
  bool was_idle = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!force && queued_bytes_ > 0 && queued_bytes_ + lines.size() > max_queued_bytes_) {
      return false;
    }
    queued_bytes_ += lines.size();
    was_idle = queue_.empty();
    queue_.push_back(std::move(lines));
  }
  lines.clear();
  if (was_idle) {
    wake_.notify_one();
  }
  return true;
}

bool AccessLogWriter::stop(std::chrono::milliseconds timeout) {
  if (!thread_.joinable()) {
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  wake_.notify_one();
  if (!done_.wait_for(lock, timeout, [this] { return finished_; })) {
    return false;
  }
  lock.unlock();
  thread_.join();
  return true;
}

void AccessLogWriter::run() {
  std::vector<std::string> batch;
  size_t bytes = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // What was written leaves the count only now: a batch being written still takes memory.
      queued_bytes_ -= std::min(queued_bytes_, bytes);
      wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) {
        finished_ = true;
        done_.notify_all();
        return;
      }
      batch.swap(queue_);
    }
    bytes = 0;
    for (const std::string& b : batch) {
      bytes += b.size();
    }
    writeBatch(batch);
    batch.clear();
  }
}

void AccessLogWriter::writeBatch(const std::vector<std::string>& batch) {
  iov_.clear();
  for (const std::string& b : batch) {
    iov_.push_back(iovec{const_cast<char*>(b.data()), b.size()});
  }
  size_t i = 0;
  while (i < iov_.size()) {
    int count = static_cast<int>(std::min<size_t>(iov_.size() - i, IOV_MAX));
    ssize_t n = ::writev(fd_, &iov_[i], count);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n < 0) {
      dropRest(i, errno);
      return;
    }
    // Skip what was written; a short write resumes inside its buffer.
    auto left = static_cast<size_t>(n);
    while (i < iov_.size() && left >= iov_[i].iov_len) {
      left -= iov_[i].iov_len;
      ++i;
    }
    if (left > 0) {
      iov_[i].iov_base = static_cast<char*>(iov_[i].iov_base) + left;
      iov_[i].iov_len -= left;
    }
  }
}

void AccessLogWriter::dropRest(size_t first, int error) {
  uint64_t lines = 0;
  for (size_t i = first; i < iov_.size(); ++i) {
    const char* p = static_cast<const char*>(iov_[i].iov_base);
    lines += static_cast<uint64_t>(std::count(p, p + iov_[i].iov_len, '\n'));
  }
  shard_.add(dropped_, lines);
  // One error line per kind of error, not one per batch.
  if (error != last_errno_) {
    last_errno_ = error;
    spdlog::error("access log: cannot write to the output ({}): {} line(s) dropped",
                  std::strerror(error), lines);
  }
}

}  // namespace remora::sidecar
