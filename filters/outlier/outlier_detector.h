#pragma once
// Passive outlier detection: endpoints that fail several tries in a row are ejected (take no
// traffic) for a while, longer each time they are ejected again. Pure functions over the shared
// HostState / ClusterHealth atomics (filters/api/host.h): no I/O, no clock, no allocation; the
// caller passes the time.
//
// Threads: recordOutcome() runs on any worker, concurrently, for any host. sweep(),
// nextReturnNs() and nextSweepNs() run on the main thread only (one caller at a time per
// cluster).
//
// Time is in nanoseconds of one monotonic clock (e.g. uv_hrtime()), the same for every caller.

#include <cstdint>
#include <vector>

#include "filters/api/host.h"

namespace remora::filters::outlier {

struct OutlierConfig {
  uint32_t consecutive_5xx = 5;              // 0: off
  uint32_t consecutive_gateway_failure = 5;  // 0: off
  // A host that is not ejected has its ejection count lowered by one per interval (0: never).
  uint64_t interval_ms = 10000;
  uint64_t base_ejection_ms = 30000;
  uint64_t max_ejection_ms = 300000;
  uint32_t max_ejection_percent = 10;

  bool operator==(const OutlierConfig&) const = default;
};

// What one try to an endpoint came to.
enum class Outcome : uint8_t {
  kSuccess,
  kServerError,   // a 5xx that is not 502/503/504
  kGatewayError,  // 502, 503, 504
  kConnectFailure,
  kReset,
  kTimeout,
};

// < 500 -> kSuccess; 502, 503, 504 -> kGatewayError; any other status >= 500 -> kServerError.
Outcome classifyStatus(uint16_t status) noexcept;

// Worker threads (any, concurrently). Folds one try's outcome into the host's consecutive
// counters and ejects the host when a threshold is reached.
//  - Every non-success counts towards consecutive_5xx. Gateway errors, connect failures, resets
//    and timeouts also count towards consecutive_gateway_failure; a kServerError breaks that
//    run (it resets the gateway counter), a success resets both.
//  - Ejection: kHostEjected set (ClusterHealth kept in step), times_ejected incremented,
//    ejected_until_ns = now + min(max, base x times_ejected), both counters reset.
//  - At most max_ejection_percent of `cluster_size` hosts are ejected at once, but one host may
//    always be ejected. A refused ejection keeps the counters: the next failure tries again.
//  - Outcomes for a host that is already ejected (tries that were in flight) are ignored.
//  - Exactly one of several concurrent callers wins an ejection.
// Returns true when this call ejected the host (count it in remora_outlier_ejections_total).
bool recordOutcome(const OutlierConfig& config, HostState& host, ClusterHealth& health,
                   uint32_t cluster_size, Outcome outcome, uint64_t now_ns) noexcept;

// Main thread. Returns the hosts whose ejection time is up (clears kHostEjected) and, for hosts
// that are not ejected, lowers times_ejected by one per whole interval since the host came back
// or last decayed (a host that stays healthy is forgiven over time). The decay is per interval
// of time, whatever the call pattern: calling sweep more often does not speed it up. The decay
// clock of each host lives in HostState::outlier_decay_ns. Returns how many hosts came back.
uint32_t sweep(const OutlierConfig& config, const std::vector<HostState*>& hosts,
               ClusterHealth& health, uint64_t now_ns) noexcept;

// The earliest ejected_until_ns among ejected hosts, or 0 when none is ejected (lets the caller
// time its next sweep exactly).
uint64_t nextReturnNs(const std::vector<HostState*>& hosts) noexcept;

// When sweep() next has something to do: the earliest of nextReturnNs() and the next decay of a
// host that is not ejected and still has times_ejected > 0. 0 when nothing is pending. A caller
// that arms its sweep timer for this time needs no periodic timer.
uint64_t nextSweepNs(const OutlierConfig& config, const std::vector<HostState*>& hosts) noexcept;

}  // namespace remora::filters::outlier
