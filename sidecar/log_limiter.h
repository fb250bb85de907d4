#pragma once
// LogLimiter: lets at most `burst` log lines of one kind through per `period_ms`, and counts the
// ones it holds back, so that a flood of hostile or odd peers cannot flood the log. The line
// that is let through after a quiet spell says how many were held back. Not thread-safe: keep
// one per thread (a `thread_local` next to the code that logs: one per worker).

#include <cstdint>
#include <string>

namespace remora::sidecar {

class LogLimiter {
 public:
  constexpr LogLimiter(uint32_t burst, uint64_t period_ms) noexcept
      : burst_(burst), period_ms_(period_ms) {}

  // True when a line may be written at `now_ms` (any monotonic clock in ms); then `suppressed`
  // is set to the number of lines held back since the previous line that was let through.
  bool allow(uint64_t now_ms, uint64_t& suppressed) noexcept {
    if (!started_ || now_ms - window_start_ms_ >= period_ms_) {
      started_ = true;
      window_start_ms_ = now_ms;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++held_back_;
      return false;
    }
    ++used_;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

  // " (N similar lines suppressed)" to append to the line, or "" when none was.
  static std::string note(uint64_t suppressed) {
    return suppressed == 0 ? std::string()
                           : " (" + std::to_string(suppressed) + " similar lines suppressed)";
  }

 private:
  uint32_t burst_;
  uint64_t period_ms_;
  uint64_t window_start_ms_ = 0;
  uint32_t used_ = 0;
  uint64_t held_back_ = 0;
  bool started_ = false;
};

}  // namespace remora::sidecar
