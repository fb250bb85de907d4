#pragma once
// A token bucket on explicit time: holds at most `capacity` tokens (the burst), refills at
// `tokens_per_unit` tokens per `unit_ns` nanoseconds, starts full. Not thread-safe (the
// limiter locks around it).
//
// Exact integer arithmetic, so nothing drifts however many refills: the fraction of a token
// earned so far is kept in units of 1 / unit_ns token, and elapsed time is turned into those
// units with a 128-bit product.

#include <cstdint>

namespace remora::filters::ratelimit {

class TokenBucket {
 public:
  // `unit_ns` > 0. `tokens_per_unit` 0: the bucket never refills.
  TokenBucket(uint32_t tokens_per_unit, uint64_t unit_ns, uint32_t capacity) noexcept;

  // Takes one token if there is one. `now_ns` is a monotonic clock; a time earlier than one
  // seen before counts as no time passing.
  bool tryTake(uint64_t now_ns) noexcept;
  // Nanoseconds from `now_ns` until a token is there (0: one is there now). UINT64_MAX when
  // no token ever comes (no refill, or capacity 0).
  uint64_t nanosUntilToken(uint64_t now_ns) noexcept;
  // Whole tokens in the bucket at `now_ns`.
  uint64_t tokens(uint64_t now_ns) noexcept;

  // Back to a full bucket (as at construction).
  void reset() noexcept;

 private:
  void refill(uint64_t now_ns) noexcept;

  uint32_t rate_;
  uint64_t unit_ns_;
  uint32_t capacity_;
  uint64_t tokens_;
  uint64_t fraction_ = 0;  // partial token, in 1 / unit_ns_ token: < unit_ns_
  uint64_t last_ns_ = 0;
};

}  // namespace remora::filters::ratelimit
