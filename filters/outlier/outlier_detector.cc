#include "filters/outlier/outlier_detector.h"

#include <algorithm>
#include <atomic>

namespace remora::filters::outlier {

namespace {

constexpr uint64_t kNsPerMs = 1000000;
constexpr auto kRelaxed = std::memory_order_relaxed;

// base x times, capped at max (without overflowing).
uint64_t ejectionMs(const OutlierConfig& config, uint32_t times) noexcept {
  if (config.base_ejection_ms != 0 && times > config.max_ejection_ms / config.base_ejection_ms) {
    return config.max_ejection_ms;
  }
  return std::min(config.max_ejection_ms, config.base_ejection_ms * times);
}

// Takes one of the cluster's ejection slots (ClusterHealth::ejected), or returns false when
// max_ejection_percent of the cluster is ejected already. Reserving before the host's flag is
// set keeps concurrent ejections of different hosts from passing the limit together.
bool reserveEjectionSlot(ClusterHealth& health, uint32_t cluster_size,
                         uint32_t max_percent) noexcept {
  uint64_t allowed = std::max<uint64_t>(1, uint64_t{cluster_size} * max_percent / 100);
  uint32_t current = health.ejected.load(kRelaxed);
  while (current < allowed) {
    if (health.ejected.compare_exchange_weak(current, current + 1, kRelaxed)) {
      return true;
    }
  }
  return false;
}

// Sets kHostEjected with the slot already reserved; the rest of HostState::setFlag's
// bookkeeping. Returns false (slot given back) when another caller ejected the host first.
bool claimEjection(HostState& host, ClusterHealth& health) noexcept {
  uint8_t old = host.flags.fetch_or(kHostEjected, std::memory_order_acq_rel);
  if ((old & kHostEjected) != 0) {
    health.ejected.fetch_sub(1, kRelaxed);
    return false;
  }
  if (old == 0) {
    health.unavailable.fetch_add(1, kRelaxed);
  }
  return true;
}

bool ejected(const HostState& host) noexcept {
  return (host.flags.load(std::memory_order_acquire) & kHostEjected) != 0;
}

// Lowers times_ejected by one per whole interval since the host's decay clock.
void decay(HostState& host, uint64_t interval_ns, uint64_t now_ns) noexcept {
  uint32_t times = host.times_ejected.load(kRelaxed);
  if (times == 0 || interval_ns == 0) {
    return;
  }
  uint64_t stamp = host.outlier_decay_ns.load(kRelaxed);
  if (stamp == 0 || stamp > now_ns) {
    host.outlier_decay_ns.store(now_ns, kRelaxed);  // no clock yet: it starts now
    return;
  }
  uint64_t steps = (now_ns - stamp) / interval_ns;
  if (steps == 0) {
    return;
  }
  // A worker may eject the host meanwhile (and bump the count): then leave the count alone.
  while (!host.times_ejected.compare_exchange_weak(
      times, times > steps ? static_cast<uint32_t>(times - steps) : 0, kRelaxed)) {
    if (ejected(host)) {
      return;
    }
  }
  host.outlier_decay_ns.store(stamp + steps * interval_ns, kRelaxed);
}

}  // namespace

Outcome classifyStatus(uint16_t status) noexcept {
  if (status < 500) {
    return Outcome::kSuccess;
  }
  if (status >= 502 && status <= 504) {
    return Outcome::kGatewayError;
  }
  return Outcome::kServerError;
}

bool recordOutcome(const OutlierConfig& config, HostState& host, ClusterHealth& health,
                   uint32_t cluster_size, Outcome outcome, uint64_t now_ns) noexcept {
  if (config.consecutive_5xx == 0 && config.consecutive_gateway_failure == 0) {
    return false;
  }
  if (outcome == Outcome::kSuccess) {
    // Load first: the common case writes nothing (no cache line ping-pong between workers).
    if (host.consecutive_5xx.load(kRelaxed) != 0) {
      host.consecutive_5xx.store(0, kRelaxed);
    }
    if (host.consecutive_gateway.load(kRelaxed) != 0) {
      host.consecutive_gateway.store(0, kRelaxed);
    }
    return false;
  }
  if (host.has(kHostEjected)) {
    return false;  // a try that was in flight when the host was ejected
  }
  uint32_t in_a_row_5xx = host.consecutive_5xx.fetch_add(1, kRelaxed) + 1;
  uint32_t in_a_row_gateway = 0;
  if (outcome == Outcome::kServerError) {
    if (host.consecutive_gateway.load(kRelaxed) != 0) {
      host.consecutive_gateway.store(0, kRelaxed);
    }
  } else {
    in_a_row_gateway = host.consecutive_gateway.fetch_add(1, kRelaxed) + 1;
  }
  bool tripped = (config.consecutive_5xx != 0 && in_a_row_5xx >= config.consecutive_5xx) ||
                 (config.consecutive_gateway_failure != 0 &&
                  in_a_row_gateway >= config.consecutive_gateway_failure);
  if (!tripped || !reserveEjectionSlot(health, cluster_size, config.max_ejection_percent) ||
      !claimEjection(host, health)) {
    return false;
  }
  uint32_t times = host.times_ejected.fetch_add(1, kRelaxed) + 1;
  uint64_t until = now_ns + ejectionMs(config, times) * kNsPerMs;
  // 0 means "being ejected, time not written yet" to sweep(): never store it.
  host.ejected_until_ns.store(std::max<uint64_t>(until, 1), std::memory_order_release);
  host.consecutive_5xx.store(0, kRelaxed);
  host.consecutive_gateway.store(0, kRelaxed);
  return true;
}

uint32_t sweep(const OutlierConfig& config, const std::vector<HostState*>& hosts,
               ClusterHealth& health, uint64_t now_ns) noexcept {
  uint64_t interval_ns = config.interval_ms * kNsPerMs;
  uint32_t returned = 0;
  for (HostState* host : hosts) {
    if (!ejected(*host)) {
      decay(*host, interval_ns, now_ns);
      continue;
    }
    uint64_t until = host->ejected_until_ns.load(std::memory_order_acquire);
    if (until == 0 || until > now_ns) {
      continue;  // still out (0: a worker is ejecting it right now)
    }
    host->ejected_until_ns.store(0, kRelaxed);
    host->outlier_decay_ns.store(now_ns, kRelaxed);
    // The next ejection's claim (acquire) must see ejected_until_ns = 0 before it writes its own.
    std::atomic_thread_fence(std::memory_order_release);
    if (host->clearFlag(kHostEjected, health)) {
      ++returned;
    }
  }
  return returned;
}

uint64_t nextReturnNs(const std::vector<HostState*>& hosts) noexcept {
  uint64_t next = 0;
  for (const HostState* host : hosts) {
    if (!ejected(*host)) {
      continue;
    }
    uint64_t until = host->ejected_until_ns.load(std::memory_order_acquire);
    if (until != 0 && (next == 0 || until < next)) {
      next = until;
    }
  }
  return next;
}

uint64_t nextSweepNs(const OutlierConfig& config, const std::vector<HostState*>& hosts) noexcept {
  uint64_t next = nextReturnNs(hosts);
  uint64_t interval_ns = config.interval_ms * kNsPerMs;
  if (interval_ns == 0) {
    return next;
  }
  for (const HostState* host : hosts) {
    if (ejected(*host) || host->times_ejected.load(kRelaxed) == 0) {
      continue;
    }
    uint64_t due = host->outlier_decay_ns.load(kRelaxed) + interval_ns;
    if (next == 0 || due < next) {
      next = due;
    }
  }
  return next;
}

}  // namespace remora::filters::outlier
