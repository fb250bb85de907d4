#pragma once
// Debouncing of config changes: a burst of changes (an editor writing several files, a rollout
// moving many endpoints) becomes few pushes, while a lone change goes out at once.
//  - Leading edge: a change that comes after at least `quiet_ms` without a push is pushed at
//    once (an endpoint going away should reach the mesh in milliseconds, not after a timer).
//  - Trailing edge: changes that follow a push within `quiet_ms` are collected and pushed once
//    the changes have been quiet for `quiet_ms`, but never later than `max_delay_ms` after the
//    first of them, so a steady stream of changes cannot starve the mesh of updates.
// A burst therefore costs at most two pushes: its first change, and everything after it.
//
// Pure bookkeeping with times passed in (milliseconds on any monotonic clock); the owner arms a
// timer for deadline() and calls fire() when it is due.

#include <cstdint>
#include <optional>

namespace remora::control {

class Debouncer {
 public:
  Debouncer(uint64_t quiet_ms, uint64_t max_delay_ms) noexcept
      : quiet_ms_(quiet_ms), max_delay_ms_(max_delay_ms < quiet_ms ? quiet_ms : max_delay_ms) {}

  // A change happened at `now_ms`.
  void onChange(uint64_t now_ms) noexcept {
    if (!pending_) {
      pending_ = true;
      first_ms_ = now_ms;
      leading_ = !fired_ || now_ms >= last_fire_ms_ + quiet_ms_;
    }
    last_ms_ = now_ms;
  }

  // When the pending changes should be pushed; std::nullopt when nothing is pending.
  std::optional<uint64_t> deadline() const noexcept {
    if (!pending_) {
      return std::nullopt;
    }
    if (leading_) {
      return first_ms_;
    }
    uint64_t quiet = last_ms_ + quiet_ms_;
    uint64_t cap = first_ms_ + max_delay_ms_;
    return quiet < cap ? quiet : cap;
  }

  // True when changes are pending and their deadline has passed at `now_ms`.
  bool due(uint64_t now_ms) const noexcept {
    auto d = deadline();
    return d && now_ms >= *d;
  }

  // The pending changes were pushed at `now_ms`. Returns how long the first of them waited,
  // for the push latency metric.
  uint64_t fire(uint64_t now_ms) noexcept {
    const uint64_t waited = pending_ && now_ms >= first_ms_ ? now_ms - first_ms_ : 0;
    pending_ = false;
    fired_ = true;
    last_fire_ms_ = now_ms;
    return waited;
  }

  bool pending() const noexcept { return pending_; }
  uint64_t quietMs() const noexcept { return quiet_ms_; }
  uint64_t maxDelayMs() const noexcept { return max_delay_ms_; }

 private:
  uint64_t quiet_ms_;
  uint64_t max_delay_ms_;
  bool pending_ = false;
  bool leading_ = false;
  bool fired_ = false;
  uint64_t first_ms_ = 0;
  uint64_t last_ms_ = 0;
  uint64_t last_fire_ms_ = 0;
};

}  // namespace remora::control
