#pragma once
// ClusterRuntime: the run-time state of one cluster that outlives config snapshots (kept by
// cluster name): the shared state of each endpoint (health, ejections, active requests, latency;
// kept by address), the health counts, the circuit breaker counters and the retry budget.
// Shared by every worker and the main thread; after construction only atomics change.
//
// ClusterRuntimes hands them out while a snapshot is built (main thread only).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "filters/api/host.h"
#include "filters/retry/retry_budget.h"

namespace remora::sidecar {

struct ClusterRuntime {
  filters::ClusterHealth health;
  // Circuit breaker counters, across workers.
  std::atomic<int64_t> active_requests{0};
  std::atomic<int64_t> pending_requests{0};  // waiting for a new connection to be established
  std::atomic<int64_t> active_retries{0};
  std::atomic<int64_t> connections{0};
  filters::retry::RetryBudget retry_budget;

  // Main thread only (snapshot build): endpoint state by "IP:PORT".
  std::unordered_map<std::string, std::shared_ptr<filters::HostState>> hosts;
};

class ClusterRuntimes {
 public:
  // The runtime of cluster `name` with exactly these endpoint addresses: state of addresses it
  // had before is kept; addresses it no longer has lose their health flags (so the counts stay
  // right) and are forgotten. `fresh_flags` are set on new endpoints (e.g. "failed health
  // check" until their first check passes); `clear_flags` are cleared on the kept ones (e.g.
  // health checks were turned off). Returns the host state per address, in order.
  std::shared_ptr<ClusterRuntime> update(const std::string& name,
                                         const std::vector<std::string>& addresses,
                                         uint8_t fresh_flags, uint8_t clear_flags,
                                         std::vector<std::shared_ptr<filters::HostState>>& out);

 private:
  std::unordered_map<std::string, std::shared_ptr<ClusterRuntime>> clusters_;
};

}  // namespace remora::sidecar
