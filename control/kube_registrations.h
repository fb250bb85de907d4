#pragma once
// The registration API in Kubernetes mode (docs/kubernetes.md "Registered workloads"): every
// registered workload is stored as an EndpointSlice of its Service, so that every replica sees
// it (through its EndpointSlice watch, like any other endpoint) and a restart loses none.
//
// The slice is named remora-reg-SERVICE-HASH (HASH: of address and port), labelled
// kubernetes.io/service-name=SERVICE and endpointslice.kubernetes.io/managed-by=remora.dev, and
// carries its expiry in the annotation remora.dev/expires-at (RFC 3339) with the TTL in
// remora.dev/ttl-seconds. Register and heartbeat write it (server-side apply: created or
// updated in one call); deregister deletes it; the leader deletes the slices whose expiry has
// passed (expired()). Writes run on this object's thread, latest wish per slice first.

#include <atomic>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "common/stats.h"
#include "control/kube_client.h"
#include "control/kube_watch.h"
#include "control/kube_write_queue.h"
#include "control/translator.h"

namespace remora::control {

class KubeRegistrations {
 public:
  static constexpr const char* kManagedBy = "remora.dev";
  // The StatsStore shard the writer thread records in.
  static constexpr size_t kStatsShard = 2;

  KubeRegistrations(KubeConfig config, common::StatsStore& stats);
  void start() { queue_.start(); }

  // Loop thread. Writes (creates or renews) the slice of `e`, expiring `ttl_seconds` from now;
  // `port_name` is the Service port the workload serves (slices match ports by name);
  // `api_version` the EndpointSlice version the server serves ("discovery.k8s.io/v1").
  void store(const RegisteredEndpoint& e, const std::string& port_name, uint32_t ttl_seconds,
             const std::string& api_version);
  // Loop thread. Deletes the slice of `e` (or the slice `name`).
  void remove(const RegisteredEndpoint& e, const std::string& api_version);
  void removeSlice(const std::string& ns, const std::string& name, const std::string& api_version);

  // The slice name of `e`.
  static std::string sliceName(const RegisteredEndpoint& e);
  // Whether `slice` (a watched EndpointSlice) is a registration; its expiry (Unix seconds) and
  // TTL when it is.
  struct Stored {
    std::time_t expires_at = 0;
    uint32_t ttl_seconds = 0;
  };
  static std::optional<Stored> registration(const KubeObject& slice);

  // Writes done so far (ok and failed).
  uint64_t writes() const noexcept { return writes_; }

 private:
  struct Op {
    std::string api_version;
    std::string ns;
    std::string name;
    std::string body;  // empty: delete
  };
  void enqueue(Op op);
  static common::Status apply(KubeClient& client, const Op& op);

  common::StatsStore& stats_;
  common::Counter ok_;
  common::Counter failed_;
  std::atomic<uint64_t> writes_{0};
  KubeWriteQueue queue_;  // last: its thread stops first
};

}  // namespace remora::control
