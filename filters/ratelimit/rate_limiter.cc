#include "filters/ratelimit/rate_limiter.h"

#include <algorithm>

namespace remora::filters::ratelimit {

namespace {
constexpr uint64_t kNanosPerSecond = 1000000000;

uint32_t secondsCeil(uint64_t ns) {
  const uint64_t s = ns / kNanosPerSecond + (ns % kNanosPerSecond != 0 ? 1 : 0);
  return static_cast<uint32_t>(std::clamp<uint64_t>(s, 1, UINT32_MAX));
}
}  // namespace

RateLimiter::RateLimiter(const RateLimitSettings& settings)
    : settings_(settings),
      route_bucket_(settings.requests_per_unit, settings.unit_ns, settings.burst) {
  if (settings_.per_source) {
    index_.reserve(std::min<uint32_t>(std::max<uint32_t>(settings_.max_sources, 1), 1024));
  }
}

RateLimiter::Decision RateLimiter::acquire(std::string_view source, uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  TokenBucket& bucket = settings_.per_source ? bucketFor(source) : route_bucket_;
  if (bucket.tryTake(now_ns)) {
    return {};
  }
  return {false, secondsCeil(bucket.nanosUntilToken(now_ns))};
}

TokenBucket& RateLimiter::bucketFor(std::string_view source) {
  if (auto it = index_.find(source); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->bucket;
  }
  if (lru_.size() >= std::max<uint32_t>(settings_.max_sources, 1)) {
    // Reuse the least recently seen node for the newcomer.
    auto oldest = std::prev(lru_.end());
    index_.erase(oldest->address);
    oldest->address.assign(source);
    oldest->bucket.reset();
    lru_.splice(lru_.begin(), lru_, oldest);
  } else {
    lru_.push_front(Source{std::string(source), TokenBucket(settings_.requests_per_unit,
                                                            settings_.unit_ns, settings_.burst)});
  }
  index_.emplace(lru_.front().address, lru_.begin());
  return lru_.front().bucket;
}

size_t RateLimiter::trackedSources() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

}  // namespace remora::filters::ratelimit
