#pragma once
// Server: the remora-sidecar process. The main thread owns the admin API, config and the
// process lifecycle (INITIALIZING -> LIVE -> DRAINING -> exit); N workers own the traffic.
//
// Lifecycle:
//  - run() builds the first snapshot, binds every listener once per worker (SO_REUSEPORT; a
//    port 0 listener gets its port from the first socket and the others share it), starts the
//    workers and the admin servers, writes the ready file, and serves until asked to stop.
//  - SIGTERM / SIGINT / POST /drain: stop accepting, let in-flight requests finish (keep-alive
//    responses get Connection: close) up to the drain timeout, then exit 0. Idle keep-alive
//    connections stay open for the drain grace, so that a request already on the wire is answered
//    (with Connection: close) rather than met by a close; the process exits as soon as nothing is
//    in flight and either no client connection is left or the grace is over.
//  - POST /quitquitquit: exit 0 at once.
//
// Mesh mode (the bootstrap has xds addresses): the first snapshot is the base bootstrap alone
// (listeners bound, no routes from the control plane yet); an XdsClient then feeds the resources
// the control plane pushes, and every accepted update rebuilds the whole snapshot (base + xDS,
// sidecar/mesh_config.h) and installs it like the first one: on every worker (new streams take
// it; in-flight ones finish on theirs) and in ClusterMaintenance. Ready once a response of every
// type was accepted and the first health checks are done.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/stats.h"
#include "common/stop_signals.h"
#include "common/timer.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "sidecar/app_probes.h"
#include "sidecar/cluster_maintenance.h"
#include "sidecar/cluster_runtime.h"
#include "sidecar/snapshot.h"
#include "sidecar/worker.h"
#include "sidecar/xds_client.h"

namespace remora::sidecar {

enum class ServerState : uint8_t { kInitializing, kLive, kDraining };

class Server final : private XdsClient::Delegate {
 public:
  Server(config::v1::Bootstrap bootstrap, std::string ready_file);
  ~Server();

  // Serves until drained or stopped. Returns the process exit code.
  int run();

  // Main thread: start a graceful drain / exit at once.
  void beginDrain();
  void quit();

  // Read by the admin API (main thread).
  ServerState state() const noexcept { return state_; }
  bool ready() const noexcept { return ready_; }
  const std::shared_ptr<const Snapshot>& snapshot() const noexcept { return snapshot_; }
  const common::StatsStore& stats() const noexcept { return *stats_; }
  const config::v1::Bootstrap& bootstrap() const noexcept { return bootstrap_; }
  const std::vector<std::unique_ptr<Worker>>& workers() const noexcept { return workers_; }
  // Bound address of each listener, in snapshot order.
  const std::vector<common::SocketAddress>& listenerAddresses() const noexcept {
    return listener_addresses_;
  }
  uint64_t uptimeSeconds() const noexcept;
  // The app's probes served on the health listener (set before run()).
  void setAppProbes(AppProbes probes) { app_probes_ = std::move(probes); }
  const AppProbes& appProbes() const noexcept { return app_probes_; }
  common::EventLoop& loop() noexcept { return loop_; }
  // Mesh mode: the control plane client; nullptr in static mode.
  const XdsClient* xdsClient() const noexcept { return xds_client_.get(); }

 private:
  // XdsClient::Delegate (mesh mode)
  common::Status applyResources(const DynamicResources& resources) override;
  void onUpdateAccepted() override;
  // Makes `snapshot` the config of new streams everywhere.
  void install(std::shared_ptr<const Snapshot> snapshot);
  // Ready when the config is complete (mesh mode: every xDS type accepted) and the first
  // health checks are done.
  void maybeBecomeReady();

  common::Status bindListeners(std::vector<std::vector<int>>& fds_per_worker);
  common::Status startAdmin();
  // The ports bound so far (listeners, admin servers) and this host's addresses.
  std::shared_ptr<const OwnPorts> collectOwnPorts() const;
  void writeReadyFile();
  // Ready once the first config is applied and its first health checks are done.
  void becomeReady();
  void checkDrained();
  // The process-wide downstream connection limit, from the config or the fd limit.
  void setConnectionBudget(uint64_t fd_limit);
  void shutdown();

  config::v1::Bootstrap bootstrap_;
  std::string ready_file_;
  AppProbes app_probes_;
  common::EventLoop loop_;
  std::unique_ptr<common::StatsStore> stats_;
  PoolIds pool_ids_;
  ClusterRuntimes cluster_runtimes_;
  std::unique_ptr<ClusterMaintenance> maintenance_;
  std::unique_ptr<XdsClient> xds_client_;
  uint32_t concurrency_ = 1;
  std::shared_ptr<const Snapshot> snapshot_;
  ConnectionBudget budget_;
  std::vector<std::unique_ptr<ListenerRuntime>> runtimes_;
  std::vector<common::SocketAddress> listener_addresses_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<common::HttpServer>> admin_servers_;
  common::SocketAddress admin_address_;
  std::unique_ptr<common::Timer> drain_timer_;
  std::unique_ptr<common::Timer> trim_timer_;
  std::unique_ptr<common::StopSignals> signals_;
  ServerState state_ = ServerState::kInitializing;
  bool ready_ = false;
  bool stopping_ = false;
  uint64_t start_ms_ = 0;
  uint64_t drain_deadline_ms_ = 0;
  uint64_t drain_grace_end_ms_ = 0;
};

}  // namespace remora::sidecar
