#include "filters/ratelimit/token_bucket.h"

namespace remora::filters::ratelimit {

TokenBucket::TokenBucket(uint32_t tokens_per_unit, uint64_t unit_ns, uint32_t capacity) noexcept
    : rate_(tokens_per_unit),
      unit_ns_(unit_ns > 0 ? unit_ns : 1),
      capacity_(capacity),
      tokens_(capacity) {}

void TokenBucket::reset() noexcept {
  tokens_ = capacity_;
  fraction_ = 0;
}

void TokenBucket::refill(uint64_t now_ns) noexcept {
  if (now_ns <= last_ns_) {
    return;
  }
  const uint64_t elapsed = now_ns - last_ns_;
  last_ns_ = now_ns;
  if (tokens_ >= capacity_) {
    fraction_ = 0;  // a full bucket earns nothing
    return;
  }
  // elapsed * rate < 2^96: the sum cannot overflow 128 bits.
  const unsigned __int128 earned = static_cast<unsigned __int128>(elapsed) * rate_ + fraction_;
  const unsigned __int128 whole = earned / unit_ns_;
  const uint64_t room = capacity_ - tokens_;
  if (whole >= room) {
    tokens_ = capacity_;
    fraction_ = 0;
  } else {
    tokens_ += static_cast<uint64_t>(whole);
    fraction_ = static_cast<uint64_t>(earned % unit_ns_);
  }
}

bool TokenBucket::tryTake(uint64_t now_ns) noexcept {
  refill(now_ns);
  if (tokens_ == 0) {
    return false;
  }
  --tokens_;
  return true;
}

uint64_t TokenBucket::nanosUntilToken(uint64_t now_ns) noexcept {
  refill(now_ns);
  if (tokens_ > 0) {
    return 0;
  }
  if (rate_ == 0 || capacity_ == 0) {
    return UINT64_MAX;
  }
  // The first nanosecond count n with fraction + n * rate >= unit_ns.
  const uint64_t missing = unit_ns_ - fraction_;
  return (missing + rate_ - 1) / rate_;
}

uint64_t TokenBucket::tokens(uint64_t now_ns) noexcept {
  refill(now_ns);
  return tokens_;
}

}  // namespace remora::filters::ratelimit
