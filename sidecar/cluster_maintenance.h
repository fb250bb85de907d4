#pragma once
// ClusterMaintenance: the main thread's recurring work on clusters. Active health checks (one
// HealthChecker for every cluster that configures them) and outlier-detection sweeps (return
// ejected endpoints when their time is up, forgive ejections over time, keep the
// remora_outlier_ejections_active gauge equal to the number ejected: workers add one when they
// eject, the sweep sets the main thread's shard so that the sum is right).
//
// apply() is called with every new snapshot; it keeps the state of endpoints the snapshot keeps.

#include <functional>
#include <memory>
#include <vector>

#include "common/stats.h"
#include "common/timer.h"
#include "filters/health_check/health_checker.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class ClusterMaintenance {
 public:
  // `shard`: the main thread's shard of `stats`.
  ClusterMaintenance(uv_loop_t* loop, const common::StatsStore& stats, common::StatsShard& shard);
  ~ClusterMaintenance();

  void apply(std::shared_ptr<const Snapshot> snapshot);
  // True once every health-checked endpoint had its first check (at once without checks).
  bool initialHealthChecksDone() const noexcept;
  // Called once when initialHealthChecksDone() becomes true after an apply().
  void onInitialHealthChecksDone(std::function<void()> cb);

 private:
  void sweep();
  void scheduleSweep();

  uv_loop_t* loop_;
  const common::StatsStore& stats_;
  common::StatsShard& shard_;
  std::shared_ptr<const Snapshot> snapshot_;
  filters::health_check::HealthChecker checker_;
  common::Timer sweep_timer_;
};

}  // namespace remora::sidecar
