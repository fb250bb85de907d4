#pragma once
// HostState: the run-time state of one endpoint of one cluster, shared by every worker and by the
// main thread (health checks, outlier sweeps). Everything here is an atomic used with relaxed
// ordering: each value is a statistic or a flag that is fine to see a moment late. The state
// outlives config snapshots: the sidecar keeps one per (cluster name, endpoint address), so an
// update that keeps an endpoint keeps its health, ejections and latency.
//
// ClusterHealth counts the cluster's endpoints that take no traffic, so that the panic threshold
// and "no healthy endpoint left" are O(1) per request.

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace remora::filters {

// Why an endpoint takes no traffic (bits of HostState::unavailable).
enum HostFlag : uint8_t {
  kHostFailedHealthCheck = 1,  // active health check
  kHostEjected = 2,            // outlier detection
};

struct ClusterHealth {
  std::atomic<uint32_t> unavailable{0};  // endpoints with any HostFlag set
  std::atomic<uint32_t> ejected{0};      // endpoints with kHostEjected set
};

struct HostState {
  std::atomic<uint8_t> flags{0};
  // Requests in flight to this endpoint, from every worker.
  std::atomic<int32_t> active_requests{0};
  // Tries answered (or failed) by this endpoint, and how many of those were errors (5xx or a
  // proxy-detected failure), from every worker, for /clusters. Kept here rather than as metric
  // series: a mesh sidecar knows every endpoint of the mesh, and three series per endpoint
  // would be most of its memory (Envoy keeps per-host counters out of its stats too).
  std::atomic<uint64_t> rq_total{0};
  std::atomic<uint64_t> rq_error{0};

  // Outlier detection.
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<uint32_t> consecutive_gateway{0};
  std::atomic<uint32_t> times_ejected{0};       // the ejection-time multiplier
  std::atomic<uint64_t> ejected_until_ns{0};    // meaningful while kHostEjected is set
  // When times_ejected last decayed (or the host came back); written by the outlier sweep only.
  std::atomic<uint64_t> outlier_decay_ns{0};

  // Latency EWMA (PEAK_EWMA and /clusters): the value in microseconds as double bits, and when
  // it was last updated. 0 bits: no observation yet (a neutral start).
  std::atomic<uint64_t> ewma_us_bits{0};
  std::atomic<uint64_t> ewma_stamp_ns{0};

  bool available() const noexcept { return flags.load(std::memory_order_relaxed) == 0; }
  bool has(HostFlag f) const noexcept { return (flags.load(std::memory_order_relaxed) & f) != 0; }

  // Sets / clears one reason; keeps `health.unavailable` (and `health.ejected`) in step.
  // Returns true when the flag changed.
  bool setFlag(HostFlag f, ClusterHealth& health) noexcept {
    uint8_t old = flags.fetch_or(f, std::memory_order_relaxed);
    if ((old & f) != 0) {
      return false;
    }
    if (old == 0) {
      health.unavailable.fetch_add(1, std::memory_order_relaxed);
    }
    if (f == kHostEjected) {
      health.ejected.fetch_add(1, std::memory_order_relaxed);
    }
    return true;
  }
  bool clearFlag(HostFlag f, ClusterHealth& health) noexcept {
    uint8_t old = flags.fetch_and(static_cast<uint8_t>(~f), std::memory_order_relaxed);
    if ((old & f) == 0) {
      return false;
    }
    if (old == f) {
      health.unavailable.fetch_sub(1, std::memory_order_relaxed);
    }
    if (f == kHostEjected) {
      health.ejected.fetch_sub(1, std::memory_order_relaxed);
    }
    return true;
  }

  // The latency EWMA as last updated (not decayed by the time since: readers that need that,
  // like PEAK_EWMA, apply it themselves); 0 when nothing was observed yet.
  double ewmaMicros() const noexcept {
    uint64_t bits = ewma_us_bits.load(std::memory_order_relaxed);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  // Folds one latency observation into the EWMA (time constant `decay_ns`). Peak-sensitive like
  // Finagle's and Linkerd's: a sample above the average replaces it at once.
  void observeLatency(double micros, uint64_t now_ns, uint64_t decay_ns) noexcept {
    double prev = ewmaMicros();
    uint64_t stamp = ewma_stamp_ns.load(std::memory_order_relaxed);
    double next;
    if (prev <= 0 || micros > prev) {
      next = micros;
    } else {
      double dt = now_ns > stamp ? static_cast<double>(now_ns - stamp) : 0.0;
      double w = std::exp(-dt / static_cast<double>(decay_ns == 0 ? 1 : decay_ns));
      next = prev * w + micros * (1.0 - w);
    }
    uint64_t bits;
    std::memcpy(&bits, &next, sizeof bits);
    ewma_us_bits.store(bits, std::memory_order_relaxed);
    ewma_stamp_ns.store(now_ns, std::memory_order_relaxed);
  }
};

}  // namespace remora::filters
