#include "sidecar/recent_requests.h"

#include <algorithm>

#include "common/json_writer.h"

namespace remora::sidecar {

void RecentRequests::record(const filters::StreamInfo& info) {
  if (ring_.empty()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ring_[next_] = info;
  next_ = (next_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
}

std::vector<filters::StreamInfo> RecentRequests::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<filters::StreamInfo> out;
  out.reserve(size_);
  size_t start = (next_ + ring_.size() - size_) % ring_.size();
  for (size_t i = 0; i < size_; ++i) {
    out.push_back(ring_[(start + i) % ring_.size()]);
  }
  return out;
}

std::string renderRecentRequestsJson(std::vector<filters::StreamInfo> entries, size_t limit) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.start_ns > b.start_ns; });
  if (entries.size() > limit) {
    entries.resize(limit);
  }
  common::JsonWriter w;
  w.beginObject();
  w.key("requests");
  w.beginArray();
  for (const filters::StreamInfo& e : entries) {
    w.beginObject();
    w.field("request_id", e.request_id);
    w.field("listener", e.listener);
    w.field("method", e.method);
    w.field("authority", e.authority);
    w.field("path", e.path);
    w.field("route", e.route);
    w.field("cluster", e.cluster);
    w.field("status", static_cast<int64_t>(e.status));
    w.field("reason", filters::reasonName(e.reason));
    w.field("duration_ms", static_cast<double>(e.duration_us) / 1000.0);
    w.field("bytes_received", static_cast<int64_t>(e.bytes_received));
    w.field("bytes_sent", static_cast<int64_t>(e.bytes_sent));
    w.key("attempts");
    w.beginArray();
    for (const filters::Attempt& a : e.attempts) {
      w.beginObject();
      w.field("endpoint", a.endpoint);
      w.field("outcome", a.outcome);
      w.field("reused_connection", a.reused_connection);
      w.endObject();
    }
    w.endArray();
    w.key("trail");
    w.beginArray();
    for (const std::string& t : e.trail) {
      w.value(t);
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return w.take();
}

}  // namespace remora::sidecar
