#pragma once
// Writes whether each HTTPRoute and TrafficPolicy took effect back into its status
// (docs/kubernetes.md "Status"), so that `kubectl get trafficpolicy -o yaml` shows it:
// a condition of type Accepted, True (reason Accepted) or False (reason Invalid, the message
// naming the fields), with the generation it judged; for an HTTPRoute under status.parents[],
// one entry per parentRef, as the Gateway API's mesh convention has it.
//
// Only the leader writes (setLeader); each object is written when its verdict changes, and
// every object once more whenever this replica becomes the leader. The writes (merge patches
// of the status subresource) run on the writer's own thread, latest verdict per object wins.

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "common/stats.h"
#include "control/kube_client.h"
#include "control/kube_source.h"
#include "control/kube_write_queue.h"

namespace remora::control {

class KubeStatusWriter {
 public:
  static constexpr const char* kControllerName = "remora.dev/control-plane";
  // The StatsStore shard the writer thread records in (the loop thread has shard 0).
  static constexpr size_t kStatsShard = 1;

  KubeStatusWriter(KubeConfig config, common::StatsStore& stats);

  void start() { queue_.start(); }
  // Loop thread: the standings of the latest load.
  void update(const std::vector<ObjectStanding>& standings);
  // Loop thread: leadership changed.
  void setLeader(bool leader);

  // Writes done (and failed) so far; for tests and metrics.
  uint64_t written() const noexcept { return written_; }

 private:
  struct Verdict {
    ObjectStanding standing;
    bool accepted = true;
    std::string message;
    std::string transition_time;
  };
  void enqueue(const std::string& key, const Verdict& v);
  static common::Status write(KubeClient& client, const Verdict& v);
  static std::string statusPatch(const Verdict& v);

  common::StatsStore& stats_;
  common::Counter writes_ok_;
  common::Counter writes_failed_;
  std::atomic<uint64_t> written_{0};
  // Loop thread only.
  bool leader_ = false;
  std::map<std::string, Verdict> last_;  // by "KIND NS/NAME": latest verdict
  KubeWriteQueue queue_;                 // last: its thread stops first
};

}  // namespace remora::control
