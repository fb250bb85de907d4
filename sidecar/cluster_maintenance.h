#pragma once
// ClusterMaintenance: the main thread's recurring work on clusters. Active health checks (one
// HealthChecker for every cluster that configures them) and outlier-detection sweeps (return
// ejected endpoints when their time is up, forgive ejections over time, keep the
// remora_outlier_ejections_active gauge equal to the number ejected).
//
// apply() is called with every new snapshot; it keeps the state of endpoints the snapshot keeps.

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/stats.h"
#include "common/timer.h"
#include "filters/health_check/health_checker.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class ClusterMaintenance {
 public:
  // `shard`: the main thread's stats shard.
  ClusterMaintenance(uv_loop_t* loop, common::StatsShard& shard);
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
  common::StatsShard& shard_;
  std::shared_ptr<const Snapshot> snapshot_;
  filters::health_check::HealthChecker checker_;
  common::Timer sweep_timer_;
  std::unordered_map<std::string, int64_t> reported_ejected_;  // by cluster: the gauge's value
};

}  // namespace remora::sidecar
