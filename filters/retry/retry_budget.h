#pragma once
// The retry budget of one cluster: how many retries may be in flight at once, as a share of the
// cluster's requests in flight, with a floor of a few retries per second so that a cluster with
// little traffic can still retry at all.

#include <atomic>
#include <cstdint>

#include "filters/retry/retry_policy.h"

namespace remora::filters::retry {

// Per cluster, shared by every worker: atomics only, thread-safe and lock-free.
//
// A retry is allowed while retries in flight, this one included, stay within percent x active
// requests / 100 ((active_retries + 1) * 100 <= budget_percent * active_requests: 20% of 10
// active requests allows 2 retries in flight, 20% of 4 none), or while fewer than
// budget_min_per_second retries were allowed in the current one-second window (windows are
// aligned on whole seconds of `now_ns`). Every allowed retry counts in its window, whichever
// rule allowed it. Without a configured budget (policy.budget false) every retry is allowed
// and nothing is recorded.
class RetryBudget {
 public:
  // `now_ns`: a monotonic clock (uv_hrtime). `active_requests`: the cluster's requests in
  // flight; `active_retries`: its retries in flight, not counting this one. Records the retry
  // when it allows it.
  bool tryAcquire(const RetryPolicy& policy, uint64_t now_ns, int64_t active_requests,
                  int64_t active_retries) noexcept;

  // Retries allowed so far in the window of `now_ns` (for /clusters and tests).
  uint32_t allowedInWindow(uint64_t now_ns) const noexcept;

 private:
  // High 32 bits: the window (whole seconds of now_ns, wrapping); low 32 bits: retries allowed
  // in it. One word, so that a new window and its count change together.
  std::atomic<uint64_t> window_{0};
};

}  // namespace remora::filters::retry
