#pragma once
// Leader election among control plane replicas with a coordination.k8s.io/v1 Lease
// (docs/kubernetes.md "Replicas and leader election"), the way client-go's leaderelection
// does it: the leader renews the Lease every `renew_ms`; another replica takes it over only
// after seeing it unchanged (same holder, same renewTime) for a whole lease duration by its
// own clock, so clock skew between nodes does not matter. Writes use the Lease's
// resourceVersion: two replicas that try at once cannot both win.
//
// Only the leader writes to the API (status, expiring registrations); every replica serves
// xDS. Runs on its own thread; `changed` is called there on every change of leadership.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "control/kube_client.h"

namespace remora::control {

class KubeLeaderElection {
 public:
  struct Options {
    std::string namespace_ = "remora-system";
    std::string name = "remora-control";
    std::string identity;  // this replica (pod name + random suffix)
    uint64_t lease_ms = 15000;
    uint64_t renew_ms = 5000;
  };

  KubeLeaderElection(KubeConfig config, Options options, std::function<void(bool leader)> changed);
  // Stops; a leader gives the Lease up (renewTime in the past, so another replica takes over
  // at once rather than after a lease duration).
  ~KubeLeaderElection();

  void start();
  bool leader() const noexcept { return leader_; }
  const Options& options() const noexcept { return options_; }

 private:
  void run();
  // One round: read the Lease, then create, renew or take it over when due. Returns whether
  // this replica holds it afterwards.
  bool tryAcquireOrRenew();
  void release();
  void setLeader(bool leader);

  KubeClient client_;
  Options options_;
  std::function<void(bool)> changed_;
  std::atomic<bool> leader_{false};
  // What was last seen of another holder, and when it last changed (our clock).
  std::string seen_holder_;
  std::string seen_renew_;
  uint64_t seen_at_ms_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
};

// "2026-12-07T01:33:07.123456Z": the MicroTime of Kubernetes objects, now.
std::string kubeMicroTimeNow();

}  // namespace remora::control
