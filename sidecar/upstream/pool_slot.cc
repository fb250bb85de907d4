#include "sidecar/upstream/pool_slot.h"

#include "sidecar/worker.h"

namespace remora::sidecar {

PoolSlot::PoolSlot(common::StatsShard& shard, const ClusterConfig& cluster,
                   EndpointPool& pool) noexcept
    : shard_(shard),
      active_(cluster.stats.cx_active),
      connect_fail_(cluster.stats.cx_connect_fail),
      runtime_(cluster.runtime),
      pool_(pool) {
  pool_.open++;
  if (runtime_) {
    runtime_->connections.fetch_add(1, std::memory_order_relaxed);
  }
  shard_.add(cluster.stats.cx_total);
  shard_.add(active_, 1);
}

void PoolSlot::release() noexcept {
  if (!held_) {
    return;
  }
  held_ = false;
  pool_.open--;
  if (runtime_) {
    runtime_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  shard_.add(active_, -1);
}

}  // namespace remora::sidecar
