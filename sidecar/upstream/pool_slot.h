#pragma once
// PoolSlot: what one upstream connection counts for while it is open, whatever its protocol:
// its EndpointPool's `open`, the cluster's connection breaker (ClusterRuntime::connections,
// across workers), remora_upstream_cx_total and remora_upstream_cx_active. Taken when the
// connection is made; given back by release() (once; the destructor does it too).

#include <memory>

#include "common/stats.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

struct EndpointPool;

class PoolSlot {
 public:
  PoolSlot(common::StatsShard& shard, const ClusterConfig& cluster, EndpointPool& pool) noexcept;
  ~PoolSlot() { release(); }
  PoolSlot(const PoolSlot&) = delete;
  PoolSlot& operator=(const PoolSlot&) = delete;

  void release() noexcept;
  // The connection could not be made: remora_upstream_cx_connect_fail_total.
  void countConnectFailure() noexcept { shard_.add(connect_fail_); }
  EndpointPool& pool() noexcept { return pool_; }

 private:
  common::StatsShard& shard_;
  common::Gauge active_;
  common::Counter connect_fail_;
  std::shared_ptr<ClusterRuntime> runtime_;
  EndpointPool& pool_;
  bool held_ = true;
};

}  // namespace remora::sidecar
