#pragma once
// Kubernetes mode (docs/kubernetes.md "Control plane in Kubernetes mode"): the mesh's kinds,
// listed and watched through the API server instead of read from files.
//
// One KubeWatch per kind (and per namespace with --watch-namespaces): v1 Service,
// EndpointSlice (discovery.k8s.io v1, else v1beta1), HTTPRoute (gateway.networking.k8s.io v1,
// else v1beta1), TrafficPolicy (policy.remora.dev v1alpha1) and v1 Pod (not a manifest: the
// identity behind a sidecar's node id "POD.NAMESPACE"). Legacy v1 Endpoints are not watched:
// Kubernetes mirrors every Endpoints object into EndpointSlices already.
//
// Each object becomes one named part ("TrafficPolicy shop/catalog") loaded by the same
// loader and checks as a manifest file, with the last good version of each object kept in
// force (LastGoodLoader), so a bad update never takes a working object away. Loads run off
// the loop thread, one at a time. A list or event that changes nothing the mesh reads (a
// status update, a re-list after 410 Gone returning the same objects) does not load or push.
// loaded() turns true once every kind has been listed. A pod change that changes the set of
// pods with a sidecar (sidecarPods()) calls `changed` without a load: it changes no manifest,
// only the endpoints the translator marks has_sidecar.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/stats.h"
#include "common/timer.h"
#include "control/kube_config.h"
#include "control/kube_leader.h"
#include "control/kube_registrations.h"
#include "control/kube_sidecars.h"
#include "control/kube_watch.h"
#include "control/manifest_loader.h"
#include "control/manifest_source.h"

namespace remora::control {

class KubeStatusWriter;

// The pod behind a sidecar (node id "POD.NAMESPACE").
struct PodIdentity {
  std::string name;
  std::string namespace_;
  std::string service_account;
  std::string pod_ip;
  std::map<std::string, std::string> labels;
  std::optional<PodSidecar> sidecar;  // set when a remora sidecar receives its traffic
};

// One object's standing after the latest load, for status write-back.
struct ObjectStanding {
  std::string kind;     // "TrafficPolicy", "HTTPRoute"
  std::string group;    // API group
  std::string version;  // the served version it was read in
  std::string plural;
  std::string namespace_;
  std::string name;
  int64_t generation = 0;
  google::protobuf::Value parent_refs;  // HTTPRoute: spec.parentRefs (status.parents[] echo them)
  std::vector<std::string> problems;    // empty: accepted
};

class KubernetesSource : public ManifestSource {
 public:
  struct Options {
    std::vector<std::string> namespaces;  // empty: all
    ManifestLimits limits;
    KubeWatch::Options watch;  // its namespace_ is set per watch
    // Leader election (only the leader writes status); lease.identity empty: generated.
    KubeLeaderElection::Options lease;
  };

  KubernetesSource(common::EventLoop& loop, common::StatsStore& stats, KubeConfig config,
                   Options options);
  // Stops every watch and waits for a load in progress.
  ~KubernetesSource() override;

  std::string name() const override { return "kubernetes:" + config_.server; }
  common::Status start(std::function<void()> changed) override;
  const MeshManifests& manifests() const noexcept override { return *manifests_; }
  std::shared_ptr<const MeshManifests> snapshot() const override { return manifests_; }
  const std::vector<std::string>& errors() const noexcept override { return errors_; }
  const std::string& lastChange() const noexcept override { return last_change_; }
  bool loaded() const noexcept override { return loads_ > 0; }
  void describe(control::v1::SourceStatus* status) const override;
  void describeProxy(control::v1::Proxy* proxy) const override;

  // Kinds not listed yet ("HTTPRoute", ...), for /v1/status while not ready.
  std::vector<std::string> waitingFor() const;
  // The pod of a sidecar's node id ("POD.NAMESPACE"); nullptr when unknown.
  const PodIdentity* podForNode(const std::string& node_id) const;
  // The running injected pods by IP (kube_sidecars.h), for translate(). Loop thread; the
  // snapshot itself may be read from any thread.
  std::shared_ptr<const SidecarPods> sidecarPods() const { return sidecar_pods_; }
  // Every HTTPRoute and TrafficPolicy with its problems, as of the latest load.
  const std::vector<ObjectStanding>& standings() const noexcept { return standings_; }
  uint64_t loads() const noexcept { return loads_; }
  // The registration API's store in this mode (kube_registrations.h). Loop thread.
  // Writes the slice of a registered (or renewed) workload.
  void storeRegistration(const RegisteredEndpoint& e, uint32_t ttl_seconds);
  // The TTL of the workload's slice when it exists and has not expired (so that a replica that
  // did not see the registration, or restarted, still takes its heartbeats).
  std::optional<uint32_t> storedRegistration(const RegisteredEndpoint& e) const;
  // Deletes the slice; false when there was none.
  bool removeRegistration(const RegisteredEndpoint& e);

  // Whether this replica holds the Lease (writes status, expires registrations).
  bool leader() const noexcept { return leader_; }
  const std::string& identity() const noexcept { return options_.lease.identity; }

 private:
  struct Kind {
    KubeResource resource;
    bool manifest = true;  // loaded as a manifest (false: Pod)
    std::string served_version;
    std::set<std::string> listed;               // namespaces ("" = all) listed at least once
    std::map<std::string, KubeObject> objects;  // by key
    common::Counter events;                     // remora_control_kube_events_total{kind}
    common::Counter relists;                    // remora_control_kube_relists_total{kind}
    common::Counter failures;                   // remora_control_kube_watch_failures_total{kind}
  };

  void onListed(size_t kind, const std::string& ns, std::vector<KubeObject> objects,
                const std::string& why);
  void onChanged(size_t kind, KubeObject object, bool deleted);
  void somethingChanged();
  // Recomputes sidecar_pods_ from pods_; calls changed_ when it differs (and every kind is
  // listed).
  void podsChanged();
  void startLoad();
  void finishLoad(ManifestLoad load, std::vector<ObjectStanding> standings);
  bool allListed() const;
  std::string sliceApiVersion() const;

  common::EventLoop& loop_;
  KubeConfig config_;
  Options options_;
  std::vector<Kind> kinds_;
  std::vector<std::unique_ptr<KubeWatch>> watches_;
  std::map<std::string, PodIdentity> pods_;  // by node id "name.namespace"
  std::shared_ptr<const SidecarPods> sidecar_pods_ = std::make_shared<const SidecarPods>();
  LastGoodLoader loader_;  // used by the worker only (one load at a time)
  std::function<void()> changed_;
  std::shared_ptr<const MeshManifests> manifests_;
  std::vector<std::string> errors_;
  std::vector<ObjectStanding> standings_;
  std::string last_change_;
  std::thread worker_;
  bool loading_ = false;
  bool load_again_ = false;
  uint64_t loads_ = 0;
  std::shared_ptr<KubernetesSource*> alive_;
  common::StatsStore& stats_;
  bool leader_ = false;
  std::unique_ptr<KubeStatusWriter> status_;
  std::unique_ptr<KubeRegistrations> registrations_;
  std::unique_ptr<common::Timer> expiry_timer_;
  std::unique_ptr<KubeLeaderElection> election_;
};

}  // namespace remora::control
