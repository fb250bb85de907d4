#pragma once
// The local rate limiter of one route, shared by every worker: one token bucket for the route,
// or one per client address in a bounded table.

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "filters/ratelimit/token_bucket.h"

namespace remora::filters::ratelimit {

inline constexpr uint32_t kDefaultMaxSources = 10000;

struct RateLimitSettings {
  uint32_t requests_per_unit = 0;  // > 0
  uint64_t unit_ns = 1000000000;   // > 0
  uint32_t burst = 0;              // bucket size
  bool per_source = false;
  uint32_t max_sources = kDefaultMaxSources;  // per_source: table size (0 taken as 1)
};

// Thread-safe: one mutex around the buckets (held for a table lookup and a few integer
// operations). Per source, the table keeps the max_sources addresses seen most recently; the
// least recently seen is evicted to make room, in O(1), and an evicted address that comes back
// starts with a full bucket.
class RateLimiter {
 public:
  explicit RateLimiter(const RateLimitSettings& settings);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    bool allowed = true;
    uint32_t retry_after_s = 0;  // when not allowed: seconds until a token (ceil, at least 1)
  };
  // Takes a token for one request at `now_ns` (a monotonic clock shared by the workers, e.g.
  // uv_hrtime). `source` (the client address) is only looked at when per_source.
  Decision acquire(std::string_view source, uint64_t now_ns);

  const RateLimitSettings& settings() const noexcept { return settings_; }
  // Addresses in the table (0 unless per_source).
  size_t trackedSources() const;

 private:
  struct Source {
    std::string address;
    TokenBucket bucket;
  };
  // The source's bucket, moved to the front of the table; a new one (full) when absent.
  TokenBucket& bucketFor(std::string_view source);

  const RateLimitSettings settings_;
  mutable std::mutex mu_;
  TokenBucket route_bucket_;  // when not per_source
  // Most recently seen first. The index's keys view the list nodes' addresses (nodes never move).
  std::list<Source> lru_;
  std::unordered_map<std::string_view, std::list<Source>::iterator> index_;
};

}  // namespace remora::filters::ratelimit
