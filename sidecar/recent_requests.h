#pragma once
// RecentRequests: the last N finished requests of one worker, with their decision trails, for
// GET /requests. The worker records (one uncontended lock, entries reused so their strings keep
// their capacity); the admin thread snapshots all workers' rings and merges them by time.

#include <mutex>
#include <string>
#include <vector>

#include "filters/api/stream_info.h"

namespace remora::sidecar {

class RecentRequests {
 public:
  explicit RecentRequests(size_t capacity) : ring_(capacity) {}

  void record(const filters::StreamInfo& info);
  // Copies of the held entries, oldest first.
  std::vector<filters::StreamInfo> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<filters::StreamInfo> ring_;
  size_t next_ = 0;
  size_t size_ = 0;
};

// Renders merged entries (newest first, at most `limit`) as the JSON of GET /requests.
std::string renderRecentRequestsJson(std::vector<filters::StreamInfo> entries, size_t limit);

}  // namespace remora::sidecar
