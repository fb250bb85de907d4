#include "sidecar/cluster_maintenance.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace remora::sidecar {

namespace {
// Sweeps run when an ejection ends or an ejection count decays, and at least this often while
// a cluster detects outliers, so that the ejections gauge never lags behind for long.
constexpr uint64_t kMaxSweepMs = 1000;
}  // namespace

ClusterMaintenance::ClusterMaintenance(uv_loop_t* loop, const common::StatsStore& stats,
                                       common::StatsShard& shard)
    : loop_(loop),
      stats_(stats),
      shard_(shard),
      checker_(loop, shard, uv_hrtime()),
      sweep_timer_(loop, [this] { sweep(); }) {}

ClusterMaintenance::~ClusterMaintenance() = default;

void ClusterMaintenance::apply(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  std::vector<filters::health_check::HealthCheckTarget> targets;
  for (const ClusterConfig& c : snapshot_->clusters) {
    if (!c.health_check) {
      continue;
    }
    for (const EndpointConfig& e : c.endpoints) {
      filters::health_check::HealthCheckTarget t;
      t.cluster = c.name;
      t.address_text = e.address_text;
      t.address = e.address;
      t.config = c.health_check;
      t.host = e.host;
      t.health = std::shared_ptr<filters::ClusterHealth>(c.runtime, &c.runtime->health);
      t.failures = c.stats.health_check_failures;
      targets.push_back(std::move(t));
    }
  }
  checker_.update(std::move(targets));
  sweep();
}

bool ClusterMaintenance::initialHealthChecksDone() const noexcept {
  return checker_.initialRoundDone();
}

void ClusterMaintenance::onInitialHealthChecksDone(std::function<void()> cb) {
  checker_.setInitialRoundCallback(std::move(cb));
}

void ClusterMaintenance::sweep() {
  if (!snapshot_) {
    return;
  }
  uint64_t now = uv_hrtime();
  uint64_t next_ns = 0;
  bool any = false;
  for (const ClusterConfig& c : snapshot_->clusters) {
    if (!c.runtime) {
      continue;
    }
    if (c.outlier_enabled) {
      any = true;
      std::vector<filters::HostState*> hosts;
      for (const EndpointConfig& e : c.endpoints) {
        hosts.push_back(e.host.get());
      }
      uint32_t back = filters::outlier::sweep(c.outlier, hosts, c.runtime->health, now);
      if (back > 0) {
        spdlog::info("outlier detection: cluster {}: {} endpoint(s) back from ejection", c.name,
                     back);
      }
      uint64_t n = filters::outlier::nextSweepNs(c.outlier, hosts);
      if (n != 0 && (next_ns == 0 || n < next_ns)) {
        next_ns = n;
      }
    }
    int64_t ejected = c.runtime->health.ejected.load(std::memory_order_relaxed);
    int64_t shown = stats_.value(c.stats.outlier_ejections_active);
    if (ejected != shown) {
      shard_.add(c.stats.outlier_ejections_active, ejected - shown);
    }
  }
  if (!any) {
    sweep_timer_.stop();
    return;
  }
  uint64_t wait_ms = kMaxSweepMs;
  if (next_ns != 0) {
    uint64_t until = next_ns > now ? (next_ns - now) / 1'000'000 + 1 : 1;
    wait_ms = std::min(wait_ms, until);
  }
  sweep_timer_.start(wait_ms);
}

}  // namespace remora::sidecar
