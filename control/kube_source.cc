#include "control/kube_source.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include "common/time_format.h"
#include "control/kube_status.h"

namespace remora::control {

namespace pb = google::protobuf;

namespace {

// Indexes in the kinds table below.
constexpr size_t kServices = 0;
constexpr size_t kSlices = 1;

std::vector<KubeResource> watchedKinds() {
  return {
      {"Service", "", "services", {"v1"}, "v1"},
      {"EndpointSlice",
       "discovery.k8s.io",
       "endpointslices",
       {"v1", "v1beta1"},
       "discovery.k8s.io/v1"},
      {"HTTPRoute",
       "gateway.networking.k8s.io",
       "httproutes",
       {"v1", "v1beta1"},
       "gateway.networking.k8s.io/v1"},
      {"TrafficPolicy",
       "policy.remora.dev",
       "trafficpolicies",
       {"v1alpha1"},
       "policy.remora.dev/v1alpha1"},
      {"Pod", "", "pods", {"v1"}, "v1"},
  };
}

std::string partName(const std::string& kind, const std::string& key) {
  return kind + " " + key;
}

// "PART:LINE:COL: rest" -> "PART: rest": an object's text is one line of JSON, so a position
// in it says nothing to the user; the field path after it does.
std::string withoutPosition(const std::string& error) {
  size_t space = error.find(' ');  // after the kind
  size_t colon = space == std::string::npos ? std::string::npos : error.find(':', space);
  if (colon == std::string::npos) {
    return error;
  }
  size_t i = colon + 1;
  size_t digits = 0;
  while (i < error.size() &&
         (std::isdigit(static_cast<unsigned char>(error[i])) != 0 || error[i] == ':')) {
    ++i;
    ++digits;
  }
  if (digits == 0 || error[i - 1] != ':') {
    return error;
  }
  return error.substr(0, colon) + error.substr(i - 1);
}

PodIdentity podIdentity(const KubeObject& o) {
  PodIdentity p;
  p.name = jsonString(o.object, "metadata.name");
  p.namespace_ = jsonString(o.object, "metadata.namespace");
  p.service_account = jsonString(o.object, "spec.serviceAccountName");
  p.pod_ip = jsonString(o.object, "status.podIP");
  if (const pb::Value* labels = jsonAt(o.object, "metadata.labels");
      labels != nullptr && labels->has_struct_value()) {
    for (const auto& [k, v] : labels->struct_value().fields()) {
      p.labels[k] = v.string_value();
    }
  }
  p.sidecar = podSidecar(o.object);
  return p;
}

}  // namespace

KubernetesSource::KubernetesSource(common::EventLoop& loop, common::StatsStore& stats,
                                   KubeConfig config, Options options)
    : loop_(loop),
      config_(std::move(config)),
      options_(std::move(options)),
      loader_(options_.limits),
      manifests_(std::make_shared<const MeshManifests>()),
      alive_(std::make_shared<KubernetesSource*>(this)),
      stats_(stats) {
  for (KubeResource& r : watchedKinds()) {
    Kind k;
    common::Labels labels{{"kind", r.kind}};
    k.events = stats_.counter("remora_control_kube_events_total", labels);
    k.relists = stats_.counter("remora_control_kube_relists_total", labels);
    k.failures = stats_.counter("remora_control_kube_watch_failures_total", labels);
    k.manifest = r.kind != "Pod";
    k.resource = std::move(r);
    kinds_.push_back(std::move(k));
  }
}

KubernetesSource::~KubernetesSource() {
  alive_.reset();
  expiry_timer_.reset();
  registrations_.reset();
  election_.reset();  // gives the Lease up while the API is still reachable
  status_.reset();
  for (auto& w : watches_) {
    w->stop();
  }
  if (worker_.joinable()) {
    worker_.join();
  }
}

common::Status KubernetesSource::start(std::function<void()> changed) {
  changed_ = std::move(changed);
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) {
    namespaces.push_back("");
  }
  std::weak_ptr<KubernetesSource*> alive = alive_;
  // Runs `fn(self)` on the loop thread, unless the source is gone by then.
  auto onLoop = [this, alive](std::function<void(KubernetesSource&)> fn) {
    loop_.post([alive, fn = std::move(fn)] {
      if (auto self = alive.lock()) {
        fn(**self);
      }
    });
  };
  for (size_t i = 0; i < kinds_.size(); ++i) {
    for (const std::string& ns : namespaces) {
      KubeWatch::Callbacks cb;
      std::string what = kinds_[i].resource.plural + (ns.empty() ? "" : " in " + ns);
      cb.resolved = [onLoop, i, what](const std::string& version) {
        spdlog::info("kubernetes: watching {} ({})", what, version);
        onLoop([i, version](KubernetesSource& s) { s.kinds_[i].served_version = version; });
      };
      cb.listed = [onLoop, i, ns](std::vector<KubeObject> objects, const std::string& why) {
        auto shared = std::make_shared<std::vector<KubeObject>>(std::move(objects));
        onLoop([i, ns, shared, why](KubernetesSource& s) {
          s.onListed(i, ns, std::move(*shared), why);
        });
      };
      cb.changed = [onLoop, i](KubeObject object, bool deleted) {
        auto shared = std::make_shared<KubeObject>(std::move(object));
        onLoop([i, shared, deleted](KubernetesSource& s) {
          s.onChanged(i, std::move(*shared), deleted);
        });
      };
      cb.failed = [onLoop, i, what](const std::string& problem, uint64_t retry_ms) {
        spdlog::warn("kubernetes: {}: {} (retry in {} ms)", what, problem, retry_ms);
        onLoop([i](KubernetesSource& s) { s.stats_.shard(0).add(s.kinds_[i].failures); });
      };
      KubeWatch::Options wo = options_.watch;
      wo.namespace_ = ns;
      watches_.push_back(
          std::make_unique<KubeWatch>(config_, kinds_[i].resource, std::move(cb), wo));
    }
  }
  for (auto& w : watches_) {
    w->start();
  }
  status_ = std::make_unique<KubeStatusWriter>(config_, stats_);
  status_->start();
  if (options_.lease.identity.empty()) {
    std::random_device rd;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffffu);
    const char* pod = std::getenv("POD_NAME");
    char host[256] = {0};
    if (pod == nullptr) {
      (void)gethostname(host, sizeof host - 1);
    }
    options_.lease.identity = std::string(pod != nullptr ? pod : host) + "_" + suffix;
  }
  election_ = std::make_unique<KubeLeaderElection>(config_, options_.lease, [onLoop](bool leader) {
    onLoop([leader](KubernetesSource& s) {
      s.leader_ = leader;
      s.status_->setLeader(leader);
    });
  });
  election_->start();
  registrations_ = std::make_unique<KubeRegistrations>(config_, stats_);
  registrations_->start();
  // The leader deletes registrations whose TTL passed without a heartbeat.
  expiry_timer_ = std::make_unique<common::Timer>(loop_.uv(), [this] {
    if (!leader_) {
      return;
    }
    std::time_t now = std::time(nullptr);
    for (const auto& [key, o] : kinds_[kSlices].objects) {
      auto stored = KubeRegistrations::registration(o);
      if (stored && stored->expires_at != 0 && stored->expires_at < now) {
        spdlog::info("registry: {} expired (no heartbeat within its TTL)", key);
        registrations_->removeSlice(jsonString(o.object, "metadata.namespace"),
                                    jsonString(o.object, "metadata.name"), sliceApiVersion());
      }
    }
  });
  expiry_timer_->start(1000, 1000);
  return common::Status::ok();
}

std::vector<std::string> KubernetesSource::waitingFor() const {
  std::vector<std::string> out;
  size_t wanted = std::max<size_t>(1, options_.namespaces.size());
  for (const Kind& k : kinds_) {
    if (k.listed.size() < wanted) {
      out.push_back(k.resource.kind);
    }
  }
  return out;
}

std::string KubernetesSource::sliceApiVersion() const {
  const std::string& v = kinds_[kSlices].served_version;
  return "discovery.k8s.io/" + (v.empty() ? std::string("v1") : v);
}

void KubernetesSource::storeRegistration(const RegisteredEndpoint& e, uint32_t ttl_seconds) {
  // The Service port the workload serves: its targetPort, else the first port.
  std::string port_name;
  auto svc = kinds_[kServices].objects.find(e.ns + "/" + e.service);
  if (svc != kinds_[kServices].objects.end()) {
    const pb::Value* ports = jsonAt(svc->second.object, "spec.ports");
    if (ports != nullptr && ports->has_list_value() && ports->list_value().values_size() > 0) {
      port_name = jsonString(ports->list_value().values(0), "name");
      for (const pb::Value& p : ports->list_value().values()) {
        const pb::Value* target = jsonAt(p, "targetPort");
        if (target != nullptr && target->number_value() == e.port) {
          port_name = jsonString(p, "name");
          break;
        }
      }
    }
  }
  registrations_->store(e, port_name, ttl_seconds, sliceApiVersion());
}

std::optional<uint32_t> KubernetesSource::storedRegistration(const RegisteredEndpoint& e) const {
  auto it = kinds_[kSlices].objects.find(e.ns + "/" + KubeRegistrations::sliceName(e));
  if (it == kinds_[kSlices].objects.end()) {
    return std::nullopt;
  }
  auto stored = KubeRegistrations::registration(it->second);
  if (!stored || (stored->expires_at != 0 && stored->expires_at < std::time(nullptr))) {
    return std::nullopt;
  }
  return stored->ttl_seconds;
}

bool KubernetesSource::removeRegistration(const RegisteredEndpoint& e) {
  bool existed = kinds_[kSlices].objects.count(e.ns + "/" + KubeRegistrations::sliceName(e)) > 0;
  registrations_->remove(e, sliceApiVersion());
  return existed;
}

void KubernetesSource::describe(control::v1::SourceStatus* status) const {
  status->set_leader(leader_);
  status->set_identity(options_.lease.identity);
  for (std::string& kind : waitingFor()) {
    status->add_waiting_for(std::move(kind));
  }
}

void KubernetesSource::describeProxy(control::v1::Proxy* proxy) const {
  const PodIdentity* pod = podForNode(proxy->node_id());
  if (pod == nullptr) {
    return;
  }
  proxy->set_pod(pod->namespace_ + "/" + pod->name);
  proxy->set_service_account(pod->service_account);
  proxy->set_pod_ip(pod->pod_ip);
  proxy->mutable_labels()->clear();
  for (const auto& [k, v] : pod->labels) {
    (*proxy->mutable_labels())[k] = v;
  }
}

bool KubernetesSource::allListed() const {
  return waitingFor().empty();
}

const PodIdentity* KubernetesSource::podForNode(const std::string& node_id) const {
  auto it = pods_.find(node_id);
  return it == pods_.end() ? nullptr : &it->second;
}

void KubernetesSource::onListed(size_t i, const std::string& ns, std::vector<KubeObject> objects,
                                const std::string& why) {
  Kind& k = kinds_[i];
  bool first = k.listed.insert(ns).second;
  if (!first) {
    stats_.shard(0).add(k.relists);
  }
  // The objects of this namespace ("" = all) are replaced by the list.
  std::map<std::string, KubeObject> fresh;
  for (KubeObject& o : objects) {
    std::string key = o.key;
    fresh.emplace(std::move(key), std::move(o));
  }
  bool differs = false;
  for (auto it = k.objects.begin(); it != k.objects.end();) {
    bool in_scope = ns.empty() || it->first.rfind(ns + "/", 0) == 0;
    if (in_scope && fresh.count(it->first) == 0) {
      differs = true;
      it = k.objects.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [key, o] : fresh) {
    auto old = k.objects.find(key);
    if (old == k.objects.end() ||
        !pb::util::MessageDifferencer::Equals(old->second.object, o.object)) {
      differs = true;
    }
    k.objects[key] = std::move(o);
  }
  if (!first) {
    spdlog::info("kubernetes: {} listed again ({}): {}", k.resource.plural, why,
                 differs ? "changes found" : "nothing changed");
  }
  if (!k.manifest) {
    pods_.clear();
    for (const auto& [key, o] : k.objects) {
      PodIdentity p = podIdentity(o);
      pods_[p.name + "." + p.namespace_] = std::move(p);
    }
    podsChanged();
  }
  if (differs || (first && allListed())) {
    somethingChanged();
  }
}

void KubernetesSource::onChanged(size_t i, KubeObject object, bool deleted) {
  Kind& k = kinds_[i];
  stats_.shard(0).add(k.events);
  auto old = k.objects.find(object.key);
  if (deleted) {
    if (old == k.objects.end()) {
      return;
    }
    k.objects.erase(old);
  } else {
    if (old != k.objects.end() &&
        pb::util::MessageDifferencer::Equals(old->second.object, object.object)) {
      old->second.resource_version = object.resource_version;
      old->second.generation = object.generation;
      return;  // nothing the mesh reads changed (e.g. our own status update)
    }
    k.objects[object.key] = object;
  }
  if (!k.manifest) {
    PodIdentity p = podIdentity(object);
    std::string node = p.name + "." + p.namespace_;
    if (deleted) {
      pods_.erase(node);
    } else {
      pods_[node] = std::move(p);
    }
    podsChanged();
    return;
  }
  somethingChanged();
}

void KubernetesSource::podsChanged() {
  std::map<std::string, PodSidecar> with_sidecar;
  for (const auto& [node, p] : pods_) {
    if (p.sidecar) {
      with_sidecar.emplace(node, *p.sidecar);
    }
  }
  SidecarPods next = sidecarsByIp(with_sidecar);
  if (next == *sidecar_pods_) {
    return;
  }
  spdlog::debug("kubernetes: {} pod IP(s) with a sidecar", next.size());
  sidecar_pods_ = std::make_shared<const SidecarPods>(std::move(next));
  if (allListed() && changed_) {
    changed_();  // the control plane debounces and translates again
  }
}

void KubernetesSource::somethingChanged() {
  if (!allListed()) {
    return;  // the first load waits for every kind: a partial mesh would push wrong config
  }
  if (loading_) {
    load_again_ = true;
  } else {
    startLoad();
  }
}

void KubernetesSource::startLoad() {
  if (worker_.joinable()) {
    worker_.join();
  }
  loading_ = true;
  // The texts and standings are built here (loop thread) from the current objects; the
  // worker only loads them.
  std::vector<std::pair<std::string, std::string>> texts;
  std::vector<ObjectStanding> standings;
  for (const Kind& k : kinds_) {
    if (!k.manifest) {
      continue;
    }
    for (const auto& [key, o] : k.objects) {
      texts.emplace_back(partName(k.resource.kind, key), printJsonValue(o.object));
      if (k.resource.kind == "HTTPRoute" || k.resource.kind == "TrafficPolicy") {
        ObjectStanding st;
        st.kind = k.resource.kind;
        st.group = k.resource.group;
        st.version = k.served_version;
        st.plural = k.resource.plural;
        st.namespace_ = jsonString(o.object, "metadata.namespace");
        st.name = jsonString(o.object, "metadata.name");
        st.generation = o.generation;
        if (const pb::Value* refs = jsonAt(o.object, "spec.parentRefs"); refs != nullptr) {
          st.parent_refs = *refs;
        }
        standings.push_back(std::move(st));
      }
    }
  }
  std::weak_ptr<KubernetesSource*> alive = alive_;
  worker_ = std::thread(
      [this, alive, texts = std::move(texts), standings = std::move(standings)]() mutable {
        auto load = std::make_shared<ManifestLoad>(loader_.loadTexts(std::move(texts)));
        auto st = std::make_shared<std::vector<ObjectStanding>>(std::move(standings));
        loop_.post([alive, load, st] {
          if (auto self = alive.lock()) {
            (*self)->finishLoad(std::move(*load), std::move(*st));
          }
        });
      });
}

void KubernetesSource::finishLoad(ManifestLoad load, std::vector<ObjectStanding> standings) {
  loading_ = false;
  ++loads_;
  last_change_ = common::nowRfc3339Utc();
  errors_.clear();
  std::map<std::string, std::vector<std::string>> by_part;
  for (const std::string& e : load.errors) {
    std::string line = withoutPosition(e);
    for (const std::string& part : load.files_with_errors) {
      if (line.rfind(part + ":", 0) == 0) {
        by_part[part].push_back(line.substr(part.size() + 2));
        break;
      }
    }
    errors_.push_back(std::move(line));
  }
  for (ObjectStanding& st : standings) {
    auto it = by_part.find(partName(st.kind, st.namespace_ + "/" + st.name));
    if (it != by_part.end()) {
      st.problems = it->second;
    }
  }
  standings_ = std::move(standings);
  if (status_) {
    status_->update(standings_);
  }
  manifests_ = std::make_shared<const MeshManifests>(std::move(load.manifests));
  spdlog::info("kubernetes: {} objects in force, {} problem(s)", manifests_->objectCount(),
               errors_.size());
  if (load_again_) {
    load_again_ = false;
    startLoad();
  }
  if (changed_) {
    changed_();
  }
}

}  // namespace remora::control
