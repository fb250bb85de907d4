#pragma once
// Debouncing of config changes: a burst of changes (an editor writing several files, a rollout
// moving many endpoints) becomes one push. A push fires once the changes have been quiet for
// `quiet_ms`, but never later than `max_delay_ms` after the first change of the burst, so a
// steady stream of changes cannot starve the mesh of updates.
//
// Pure bookkeeping with times passed in (milliseconds on any monotonic clock); the owner arms a
// timer for deadline() and calls fire() when it expires.

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
    }
    last_ms_ = now_ms;
  }

  // When the pending burst should be pushed: min(last change + quiet, first change + max delay).
  // std::nullopt when nothing is pending.
  std::optional<uint64_t> deadline() const noexcept {
    if (!pending_) {
      return std::nullopt;
    }
    uint64_t quiet = last_ms_ + quiet_ms_;
    uint64_t cap = first_ms_ + max_delay_ms_;
    return quiet < cap ? quiet : cap;
  }

  // True when a burst is pending and its deadline has passed at `now_ms`.
  bool due(uint64_t now_ms) const noexcept {
    auto d = deadline();
    return d && now_ms >= *d;
  }

  // The burst was pushed: nothing is pending any more. Returns how long the burst waited
  // (first change -> now), for the push latency metric.
  uint64_t fire(uint64_t now_ms) noexcept {
    pending_ = false;
    return now_ms >= first_ms_ ? now_ms - first_ms_ : 0;
  }

  bool pending() const noexcept { return pending_; }
  uint64_t quietMs() const noexcept { return quiet_ms_; }
  uint64_t maxDelayMs() const noexcept { return max_delay_ms_; }

 private:
  uint64_t quiet_ms_;
  uint64_t max_delay_ms_;
  bool pending_ = false;
  uint64_t first_ms_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace remora::control
