#include "filters/retry/retry_budget.h"

namespace remora::filters::retry {

namespace {
constexpr uint64_t kNanosPerSecond = 1000000000;

uint32_t windowOf(uint64_t now_ns) noexcept {
  return static_cast<uint32_t>(now_ns / kNanosPerSecond);
}
uint32_t countIn(uint64_t word, uint32_t window) noexcept {
  return static_cast<uint32_t>(word >> 32) == window ? static_cast<uint32_t>(word) : 0;
}
// The window to count in: `window`, unless another thread whose clock read a moment later has
// already opened the next one (then this retry counts there instead of resetting it).
uint32_t effectiveWindow(uint64_t word, uint32_t window) noexcept {
  const uint32_t stored = static_cast<uint32_t>(word >> 32);
  return stored == window + 1 ? stored : window;
}
}  // namespace

bool RetryBudget::tryAcquire(const RetryPolicy& policy, uint64_t now_ns, int64_t active_requests,
                             int64_t active_retries) noexcept {
  if (!policy.budget) {
    return true;
  }
  // With this one, retries in flight <= percent x active / 100.
  const bool under_percent =
      active_requests > 0 &&
      (static_cast<double>(active_retries < 0 ? 0 : active_retries) + 1) * 100.0 <=
          policy.budget_percent * static_cast<double>(active_requests);
  const uint32_t now_window = windowOf(now_ns);
  uint64_t word = window_.load(std::memory_order_relaxed);
  for (;;) {
    const uint32_t window = effectiveWindow(word, now_window);
    const uint32_t count = countIn(word, window);
    if (!under_percent && count >= policy.budget_min_per_second) {
      return false;
    }
    const uint32_t next = count == UINT32_MAX ? count : count + 1;
    const uint64_t updated = (static_cast<uint64_t>(window) << 32) | next;
    if (window_.compare_exchange_weak(word, updated, std::memory_order_relaxed)) {
      return true;
    }
  }
}

uint32_t RetryBudget::allowedInWindow(uint64_t now_ns) const noexcept {
  return countIn(window_.load(std::memory_order_relaxed), windowOf(now_ns));
}

}  // namespace remora::filters::retry
