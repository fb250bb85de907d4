#pragma once
// ControlPlane: the remora-control process. One event loop thread runs the manifest source's
// watch, the registry, pushes, the xDS server and the HTTP API; the heavy work (loading
// manifests, translating, serializing) runs on helper threads whose results are posted back to
// the loop, so the API and xDS keep answering while a large mesh loads.
//
// Flow of a change: a source or the registry reports a change -> the Debouncer waits for a quiet
// period (bounded by a maximum delay) -> rebuild(): a snapshot of the manifests and registered
// endpoints is translated and its shared ResourceSets built on a helper thread (one at a time;
// changes meanwhile rebuild again when it ends) -> install(): the new ConfigCache replaces the
// old one, every proxy is pushed what changed for it, and problems are logged once each
// (ProblemLog). Until the first config is installed, proxies wait and /ready answers 503.

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/stats.h"
#include "common/stop_signals.h"
#include "common/timer.h"
#include "control/config_cache.h"
#include "control/debouncer.h"
#include "control/injection.h"
#include "control/kube_source.h"
#include "control/kube_webhook.h"
#include "control/manifest_loader.h"
#include "control/manifest_source.h"
#include "control/problem_log.h"
#include "control/registry.h"
#include "control/webhook_certs.h"
#include "control/webhook_server.h"
#include "control/xds_server.h"

namespace remora::control {

struct ControlPlaneOptions {
  std::string manifests_dir;                  // file mode
  bool kubernetes = false;                    // Kubernetes mode (--kubernetes)
  std::string kubeconfig;                     // --kubeconfig; empty: in-cluster config
  std::string kube_context;                   // --kube-context; empty: the current context
  std::vector<std::string> watch_namespaces;  // --watch-namespaces; empty: all
  std::string lease_namespace;  // --lease-namespace; empty: the config's, else remora-system
  uint64_t lease_ms = 15000;    // --lease-duration (renewed every third of it)
  // Kubernetes mode: the Secret (in the lease namespace) that shares the generated webhook
  // certificate between replicas (--webhook-secret).
  std::string webhook_secret = "remora-webhook-tls";
  InjectionOptions injection;  // --inject-image, --inject-control-plane, --native-sidecar
  std::string xds_address = "0.0.0.0:15010";
  std::string http_address = "0.0.0.0:15014";
  std::string ready_file;
  uint64_t debounce_ms = 100;                // quiet period
  uint64_t debounce_max_ms = 1000;           // a burst never waits longer than this
  uint64_t poll_ms = 200;                    // manifest directory poll interval
  ManifestLimits manifest_limits;            // per-file size, YAML expansion, errors per file
  uint64_t problem_log_interval_ms = 10000;  // ProblemLog: one budget / summary per interval
  WebhookOptions webhook;                    // --webhook*: the admission webhook (off by default)
  XdsServer::Options xds;
  bool registry_allow_loopback = false;  // --registry-allow-loopback
  std::string api_token;                 // from --api-token-file; empty: none
};

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneOptions options);
  ~ControlPlane();

  // Serves until SIGTERM / SIGINT. Returns the exit code (2: bad manifests dir or webhook
  // certificate, 1: cannot bind).
  int run();

  // The admission webhook's review handler (--webhook): the seam for the AdmissionReview
  // function (see WebhookHandler; syncWebhookHandler wraps a pure one). Call before run() or on
  // the loop thread. Until one is set (and after setting nullptr) the default handler
  // admitUnchanged answers: every pod is admitted unchanged.
  void setWebhookHandler(WebhookHandler handler);
  // The webhook's certificate, generated or loaded at the start of run() before any source
  // starts (empty before, and without --webhook). Its ca_bundle_pem is what the
  // MutatingWebhookConfiguration named by options().webhook.config_name must carry.
  const WebhookCertificate& webhookCertificate() const noexcept { return webhook_cert_; }

  // Read by the API handlers (loop thread).
  const ControlPlaneOptions& options() const noexcept { return options_; }
  common::EventLoop& loop() noexcept { return loop_; }
  common::StatsStore& stats() noexcept { return stats_; }
  const ManifestSource* source() const noexcept { return source_.get(); }
  // Kubernetes mode's source (registrations go to EndpointSlices); nullptr in file mode.
  KubernetesSource* kubernetes() noexcept { return kubernetes_; }
  Registry& registry() noexcept { return registry_; }
  const ConfigCache& cache() const noexcept { return cache_; }
  const XdsServer& xds() const noexcept { return *xds_; }
  // The API's bound address (valid once serving).
  const common::SocketAddress& apiAddress() const noexcept { return http_->boundAddress(); }
  // Responders of /v1/stats requests waiting for the collection in progress (one at a time).
  std::vector<common::Responder>& statsWaiters() noexcept { return stats_waiters_; }
  bool ready() const noexcept { return ready_; }
  const std::string& lastPushTime() const noexcept { return last_push_time_; }
  double lastPushDurationMs() const noexcept { return last_push_duration_ms_; }
  uint64_t pushes() const noexcept { return pushes_; }
  const std::string& registryLastChange() const noexcept { return registry_last_change_; }
  // Resource sets that could not be sent (ConfigCache::problems), as of the last push.
  const std::vector<std::string>& pushProblems() const noexcept { return push_problems_; }

  // A source or the registry changed: schedule a (debounced) rebuild.
  void changed();
  // The registry changed through the API: remember when (for /v1/status), then changed().
  void registryChanged();
  // Runs `work` on a helper thread and `done` back on the loop thread (for blocking work such
  // as collecting proxy metrics); threads are joined at shutdown.
  void offload(std::function<void()> work, std::function<void()> done);

 private:
  void rebuild();
  // Loop thread: installs a translation built by rebuild()'s helper and pushes it.
  void install(std::shared_ptr<ConfigCache> next, uint64_t waited_ms, uint64_t start_us,
               uint64_t translated_us);
  void armDebounce();
  void armExpiry();
  void writeReadyFile();
  // Generates or loads the webhook certificate and writes --webhook-ca-out. Returns an exit
  // code: 0, or 2 on a bad certificate or an unwritable file.
  int prepareWebhook(const KubeConfig* kube);
  // The injection review as the webhook's handler, run on helper threads (namespace labels
  // come from the API server in Kubernetes mode).
  WebhookHandler injectionHandler(const KubeConfig* kube);
  // Where the Lease and the webhook Secret live (Kubernetes mode).
  std::string leaseNamespace() const;
  void shutdown();

  ControlPlaneOptions options_;
  common::EventLoop loop_;
  // Shard 0: the loop thread; 1: the Kubernetes status writer's thread; 2: the Kubernetes
  // registration writer's thread.
  common::StatsStore stats_{3};
  // Kubernetes mode: its config (none in file mode); resolved at the start of run().
  std::optional<KubeConfig> kube_config_;
  std::unique_ptr<CaBundlePatcher> ca_patcher_;  // keeps the webhook's caBundle in place
  std::unique_ptr<ManifestSource> source_;
  KubernetesSource* kubernetes_ = nullptr;  // source_, in Kubernetes mode
  Registry registry_;
  ConfigCache cache_;
  std::unique_ptr<XdsServer> xds_;
  std::unique_ptr<common::HttpServer> http_;
  std::unique_ptr<WebhookServer> webhook_;
  WebhookHandler webhook_handler_;  // null: the default (admitUnchanged)
  WebhookCertificate webhook_cert_;
  Debouncer debouncer_;
  std::unique_ptr<common::Timer> debounce_timer_;
  std::unique_ptr<common::Timer> expiry_timer_;
  std::unique_ptr<common::StopSignals> signals_;
  std::list<std::thread> helpers_;
  std::vector<common::Responder> stats_waiters_;
  bool ready_ = false;
  bool serving_ = false;      // listening: the ready file is written with the first config
  bool translating_ = false;  // a rebuild is on a helper thread
  std::vector<std::string> push_problems_;
  std::unique_ptr<ProblemLog> problem_log_;
  uint64_t pushes_ = 0;
  std::string last_push_time_;
  double last_push_duration_ms_ = 0;
  std::string registry_last_change_;

  common::Counter pushes_total_;
  common::Histogram push_latency_;
  common::Gauge config_errors_;
  common::Gauge services_;
  common::Gauge registered_;
  common::Gauge unsent_sets_;
};

}  // namespace remora::control
