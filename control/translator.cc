#include "control/translator.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/endpoint_translation.h"
#include "control/policy_translation.h"
#include "control/route_translation.h"
#include "xds/bootstrap_loader.h"
#include "xds/source_map.h"

namespace remora::control {

namespace cfg = remora::config::v1;

// One Service port's virtual host before the caller's namespace is known.
struct MeshConfig::VirtualHostSource {
  std::string ns;       // the Service's namespace
  std::string service;  // the Service's name
  uint32_t port = 0;
  bool first = false;             // the Service's first port with a cluster
  std::string cluster_ip_domain;  // "<clusterIP>:<port>", or empty
  std::vector<cfg::Route> routes;
};

namespace {

using ServiceKey =
    std::pair<std::string, std::string>;  // namespace, name: sorted by namespace, then name

std::string keyString(const ServiceKey& k) {
  return k.first + "/" + k.second;
}

bool isTcp(const mesh::ServicePort& p) {
  return p.protocol().empty() || p.protocol() == "TCP";
}

// Everything the translator knows about one Service.
struct ServiceInfo {
  const Manifest<mesh::Service>* manifest = nullptr;
  std::vector<int> cluster_ports;  // indexes into spec.ports of the ports with a cluster
  const Manifest<mesh::TrafficPolicy>* policy = nullptr;
  std::vector<std::string> routes;  // "namespace/name" of the attached HTTPRoutes
  std::map<int, std::vector<cfg::Route>> port_routes;  // port index -> attached routes
  std::map<int, std::set<std::string>> endpoints;      // port index -> "IP:PORT"
  std::set<std::string> registered_sidecars;           // "IP:PORT" registered with `sidecar` set

  const mesh::ServiceSpec& spec() const { return manifest->object.spec(); }
  bool externalName() const { return spec().type() == "ExternalName"; }
  const mesh::ServicePort& port(int i) const { return spec().ports(i); }
  std::string cluster(int i) const {
    return clusterName(manifest->object.metadata().name(), manifest->object.metadata().namespace_(),
                       static_cast<uint32_t>(port(i).port()));
  }
  // Why port `port_index` has no cluster, or "" when it has one.
  std::string noClusterReason(int i) const {
    if (externalName()) {
      return "Service " + keyString(key()) +
             " is of type ExternalName: it has no endpoints the sidecar could send to";
    }
    if (!isTcp(port(i))) {
      return "port " + std::to_string(port(i).port()) + " of Service " + keyString(key()) + " is " +
             port(i).protocol() + ": the sidecar proxies TCP ports only";
    }
    return "";
  }
  ServiceKey key() const {
    return {manifest->object.metadata().namespace_(), manifest->object.metadata().name()};
  }
};

// Why a sidecar would refuse `route` (xds::checkPushedResource of a route configuration
// holding only it), or "".
std::string sidecarRefuses(const cfg::Route& route) {
  cfg::RouteConfiguration rc;
  rc.set_name("check");
  cfg::VirtualHost* vh = rc.add_virtual_hosts();
  vh->set_name("check");
  vh->add_domains("*");
  *vh->add_routes() = route;
  common::Status s = xds::checkPushedResource(rc);
  return s.isOk() ? "" : "a sidecar would refuse it: " + s.message();
}

template <typename Resource>
std::string sidecarRefuses(const Resource& resource) {
  common::Status s = xds::checkPushedResource(resource);
  return s.isOk() ? "" : "a sidecar would refuse it: " + s.message();
}

class Translation {
 public:
  explicit Translation(const MeshManifests& m) : manifests_(m) {}

  std::map<ServiceKey, ServiceInfo> services;
  std::vector<std::string> errors;

  void indexServices() {
    for (const Manifest<mesh::Service>& s : manifests_.services) {
      ServiceInfo info;
      info.manifest = &s;
      if (!info.externalName()) {
        for (int i = 0; i < s.object.spec().ports_size(); ++i) {
          if (isTcp(s.object.spec().ports(i))) {
            info.cluster_ports.push_back(i);
          }
        }
      }
      services.emplace(info.key(), std::move(info));  // duplicates were removed by the loader
    }
  }

  ServiceInfo* find(const std::string& ns, const std::string& name) {
    auto it = services.find({ns, name});
    return it == services.end() ? nullptr : &it->second;
  }

  void attachPolicies() {
    for (const Manifest<mesh::TrafficPolicy>& p : manifests_.policies) {
      std::vector<std::string> problems = policyProblems(p);
      const mesh::TrafficPolicySpec& spec = p.object.spec();
      std::vector<ServiceInfo*> targets;
      for (int i = 0; i < spec.target_refs_size(); ++i) {
        ServiceInfo* svc = find(p.object.metadata().namespace_(), spec.target_refs(i).name());
        if (svc == nullptr || svc->policy != nullptr) {
          continue;  // a Service with errors of its own; a second policy was reported already
        }
        const std::string path = xds::indexPath("spec.targetRefs", i);
        if (svc->cluster_ports.empty() && hasClientSideSettings(spec)) {
          problems.push_back(
              p.error(path, "Service " + keyString(svc->key()) +
                                " has no cluster for the client-side settings (" +
                                (svc->externalName() ? "ExternalName" : "no TCP port") + ")"));
        } else if (svc->externalName() && spec.has_rate_limit()) {
          problems.push_back(p.error(path, "Service " + keyString(svc->key()) +
                                               " is of type ExternalName: it has no sidecars to "
                                               "apply rateLimit"));
        }
        targets.push_back(svc);
      }
      if (!problems.empty()) {
        errors.insert(errors.end(), problems.begin(), problems.end());
        continue;
      }
      for (ServiceInfo* svc : targets) {
        svc->policy = &p;
      }
    }
  }

  void collectEndpoints(const std::vector<RegisteredEndpoint>& registered) {
    std::map<ServiceKey, std::vector<const mesh::EndpointSlice*>> slices;
    for (const Manifest<mesh::EndpointSlice>& s : manifests_.endpoint_slices) {
      const auto& labels = s.object.metadata().labels();
      auto it = labels.find("kubernetes.io/service-name");
      if (it != labels.end()) {
        slices[{s.object.metadata().namespace_(), it->second}].push_back(&s.object);
      }
    }
    std::map<ServiceKey, const mesh::Endpoints*> legacy;
    for (const Manifest<mesh::Endpoints>& e : manifests_.endpoints) {
      legacy.emplace(ServiceKey{e.object.metadata().namespace_(), e.object.metadata().name()},
                     &e.object);
    }
    for (auto& [key, svc] : services) {
      const int count = svc.spec().ports_size();
      for (int i : svc.cluster_ports) {
        std::set<std::string>& out = svc.endpoints[i];
        for (const mesh::EndpointSlice* slice : slices[key]) {
          addSliceEndpoints(*slice, svc.port(i), count, &out);
        }
        if (auto it = legacy.find(key); it != legacy.end()) {
          addLegacyEndpoints(*it->second, svc.port(i), count, &out);
        }
      }
    }
    for (const RegisteredEndpoint& r : registered) {
      const std::string what = "registered endpoint " + endpointAddress(r.address, r.port) +
                               " of " + r.ns + "/" + r.service + ": ";
      ServiceInfo* svc = find(r.ns, r.service);
      if (svc == nullptr) {
        errors.push_back(what + "no such Service");
        continue;
      }
      if (svc->cluster_ports.empty()) {
        errors.push_back(what + "the Service has no cluster (ExternalName or no TCP port)");
        continue;
      }
      if (r.sidecar) {
        svc->registered_sidecars.insert(endpointAddress(r.address, r.port));
      }
      bool added = false;
      for (int i : svc->cluster_ports) {
        if (numericTargetPort(svc->port(i)) == r.port) {
          svc->endpoints[i].insert(endpointAddress(r.address, r.port));
          added = true;
        }
      }
      if (!added) {
        svc->endpoints[svc->cluster_ports.front()].insert(endpointAddress(r.address, r.port));
      }
    }
  }

  void attachRoutes() {
    std::vector<const Manifest<mesh::HTTPRoute>*> routes;
    for (const Manifest<mesh::HTTPRoute>& r : manifests_.routes) {
      routes.push_back(&r);
    }
    std::sort(routes.begin(), routes.end(), [](const auto* a, const auto* b) {
      return std::pair(a->object.metadata().namespace_(), a->object.metadata().name()) <
             std::pair(b->object.metadata().namespace_(), b->object.metadata().name());
    });
    const BackendCheck backend_check = [this](const std::string& ns, const std::string& name,
                                              uint32_t port) -> std::string {
      ServiceInfo* svc = find(ns, name);
      if (svc == nullptr) {
        return "";
      }
      for (int i = 0; i < svc->spec().ports_size(); ++i) {
        if (static_cast<uint32_t>(svc->port(i).port()) == port && isTcp(svc->port(i))) {
          return svc->noClusterReason(i);
        }
      }
      for (int i = 0; i < svc->spec().ports_size(); ++i) {
        if (static_cast<uint32_t>(svc->port(i).port()) == port) {
          return svc->noClusterReason(i);
        }
      }
      return "";  // the loader checks that the port exists
    };
    for (const Manifest<mesh::HTTPRoute>* r : routes) {
      const mesh::HTTPRoute& route = r->object;
      std::vector<std::string> problems = routeProblems(*r, backend_check);
      std::vector<std::pair<ServiceInfo*, int>> parents;  // Service, port index
      for (int i = 0; i < route.spec().parent_refs_size(); ++i) {
        const mesh::ParentReference& p = route.spec().parent_refs(i);
        ServiceInfo* svc =
            find(p.namespace_().empty() ? route.metadata().namespace_() : p.namespace_(), p.name());
        if (svc == nullptr) {
          continue;  // a Service with errors of its own
        }
        for (int k = 0; k < svc->spec().ports_size(); ++k) {
          const mesh::ServicePort& sp = svc->port(k);
          if ((p.has_port() && sp.port() != p.port()) ||
              (!p.section_name().empty() && sp.name() != p.section_name())) {
            continue;
          }
          if (std::string why = svc->noClusterReason(k); !why.empty()) {
            // All ports of a Service: its UDP / SCTP ports just take no routes.
            if (svc->externalName() || p.has_port() || !p.section_name().empty()) {
              problems.push_back(r->error(xds::indexPath("spec.parentRefs", i), why));
              break;
            }
            continue;
          }
          if (std::find(parents.begin(), parents.end(), std::pair(svc, k)) == parents.end()) {
            parents.emplace_back(svc, k);
          }
        }
      }
      if (!problems.empty()) {
        errors.insert(errors.end(), problems.begin(), problems.end());
        continue;
      }
      const std::string name = route.metadata().namespace_() + "/" + route.metadata().name();
      std::vector<std::vector<cfg::Route>> translated;
      for (auto [svc, k] : parents) {
        RouteParent parent{svc->cluster(k), svc->policy ? &svc->policy->object.spec() : nullptr};
        translated.push_back(translateRules(*r, parent));
        for (const cfg::Route& rt : translated.back()) {
          if (std::string why = sidecarRefuses(rt); !why.empty()) {
            problems.push_back(r->error("spec", "route " + rt.name() + ": " + why));
          }
        }
      }
      if (!problems.empty()) {
        errors.push_back(problems.front());  // one per object: the others would repeat it
        continue;
      }
      for (size_t p = 0; p < parents.size(); ++p) {
        auto [svc, k] = parents[p];
        std::vector<cfg::Route>& rules = translated[p];
        auto& out = svc->port_routes[k];
        out.insert(out.end(), std::make_move_iterator(rules.begin()),
                   std::make_move_iterator(rules.end()));
        if (std::find(svc->routes.begin(), svc->routes.end(), name) == svc->routes.end()) {
          svc->routes.push_back(name);
        }
      }
    }
  }

 private:
  const MeshManifests& manifests_;
};

// A Service port whose servers speak HTTP/2 (h2c): appProtocol kubernetes.io/h2c, grpc or
// http2 (as Istio reads them), or else a port name starting with grpc or http2 (Istio's naming
// convention; grpc-web is HTTP/1 there and here).
bool speaksHttp2(const mesh::ServicePort& port) {
  const std::string& app = port.app_protocol();
  if (app == "kubernetes.io/h2c" || app == "grpc" || app == "http2") {
    return true;
  }
  if (!app.empty()) {
    return false;  // an explicit appProtocol wins over the name
  }
  const std::string& name = port.name();
  if (name.rfind("grpc-web", 0) == 0) {
    return false;
  }
  return name.rfind("grpc", 0) == 0 || name.rfind("http2", 0) == 0;
}

// Whether a remora sidecar receives what is sent to `address` ("IP:PORT", "[IP]:PORT").
bool hasSidecar(const std::string& address, const ServiceInfo& svc, const SidecarPods& pods) {
  if (svc.registered_sidecars.count(address) > 0) {
    return true;
  }
  const size_t colon = address.rfind(':');
  if (pods.empty() || colon == std::string::npos) {
    return false;
  }
  std::string ip = address.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[') {
    ip = ip.substr(1, ip.size() - 2);
  }
  auto pod = pods.find(ip);
  return pod != pods.end() &&
         pod->second.captures(static_cast<uint32_t>(std::stoul(address.substr(colon + 1))));
}

// "<clusterIP>:<port>" for a Service with a cluster IP, else "".
std::string clusterIpDomain(const mesh::ServiceSpec& spec, uint32_t port) {
  const std::string& ip = spec.cluster_ip();
  if (ip.empty() || ip == "None") {
    return "";
  }
  return endpointAddress(ip, port);
}

}  // namespace

std::shared_ptr<const MeshConfig> translate(const MeshManifests& manifests,
                                            const std::vector<RegisteredEndpoint>& registered,
                                            const SidecarPods& sidecar_pods) {
  auto config = std::make_shared<MeshConfig>();
  Translation t(manifests);
  t.indexServices();
  t.attachPolicies();
  t.collectEndpoints(registered);
  t.attachRoutes();

  std::vector<std::shared_ptr<MeshConfig::VirtualHostSource>> vhosts;
  for (auto& [key, svc] : t.services) {
    ServiceSummary summary;
    summary.ns = key.first;
    summary.name = key.second;
    std::set<std::string> all_endpoints;
    const mesh::TrafficPolicySpec* policy =
        svc.policy != nullptr ? &svc.policy->object.spec() : nullptr;
    for (int i : svc.cluster_ports) {
      const std::string name = svc.cluster(i);
      const uint32_t port = static_cast<uint32_t>(svc.port(i).port());
      summary.clusters.push_back(name);

      cfg::Cluster cluster;
      cluster.set_name(name);
      if (speaksHttp2(svc.port(i))) {
        cluster.set_protocol(cfg::Cluster::HTTP2);
      }
      if (policy != nullptr) {
        applyClusterPolicy(*policy, &cluster);
      }
      cfg::ClusterLoadAssignment cla;
      cla.set_cluster_name(name);
      for (const std::string& address : svc.endpoints[i]) {
        cfg::Endpoint* e = cla.add_endpoints();
        e->set_address(address);
        if (hasSidecar(address, svc, sidecar_pods)) {
          e->set_has_sidecar(true);
        }
      }
      // Checked one object at a time: a resource the sidecars would refuse is left out with its
      // error instead of making them refuse the whole set (and every later change of its type).
      std::string why = sidecarRefuses(cluster);
      if (why.empty()) {
        why = sidecarRefuses(cla);
      }
      if (!why.empty()) {
        // The policy's settings when it has some on this cluster, else the Service's port.
        t.errors.push_back(
            svc.policy != nullptr
                ? svc.policy->error("spec", "cluster " + name + ": " + why)
                : svc.manifest->error(xds::indexPath("spec.ports", static_cast<size_t>(i)),
                                      "cluster " + name + ": " + why));
        summary.clusters.pop_back();
        continue;
      }
      for (const std::string& address : svc.endpoints[i]) {
        all_endpoints.insert(address);
      }
      config->clusters_.push_back(std::move(cluster));
      config->endpoints_.push_back(std::move(cla));

      auto vh = std::make_shared<MeshConfig::VirtualHostSource>();
      vh->ns = key.first;
      vh->service = key.second;
      vh->port = port;
      vh->first = i == svc.cluster_ports.front();
      vh->cluster_ip_domain = clusterIpDomain(svc.spec(), port);
      if (auto it = svc.port_routes.find(i); it != svc.port_routes.end() && !it->second.empty()) {
        vh->routes = std::move(it->second);
      } else {
        vh->routes.push_back(defaultRoute(RouteParent{name, policy}));
      }
      vhosts.push_back(std::move(vh));
    }
    summary.endpoints.assign(all_endpoints.begin(), all_endpoints.end());
    summary.routes = svc.routes;
    std::sort(summary.routes.begin(), summary.routes.end());
    if (svc.policy != nullptr) {
      summary.policy =
          svc.policy->object.metadata().namespace_() + "/" + svc.policy->object.metadata().name();
      if (policy->has_rate_limit()) {
        config->inbound_rate_limits_[keyString(key)] = rateLimitOf(policy->rate_limit());
      }
    }
    config->services_.push_back(std::move(summary));
  }

  auto by_name = [](const auto& a, const auto& b) { return a.name() < b.name(); };
  std::sort(config->clusters_.begin(), config->clusters_.end(), by_name);
  std::sort(config->endpoints_.begin(), config->endpoints_.end(),
            [](const auto& a, const auto& b) { return a.cluster_name() < b.cluster_name(); });
  std::sort(vhosts.begin(), vhosts.end(), [](const auto& a, const auto& b) {
    return clusterName(a->service, a->ns, a->port) < clusterName(b->service, b->ns, b->port);
  });

  // Cluster IPs are the only domains two Services can share: the first (by cluster name) keeps
  // it. Every other domain holds the Service's own name.
  std::map<std::string, std::string> ip_owners;  // domain -> cluster name
  for (const auto& vh : vhosts) {
    if (vh->cluster_ip_domain.empty()) {
      continue;
    }
    const std::string name = clusterName(vh->service, vh->ns, vh->port);
    auto [first, fresh] = ip_owners.emplace(vh->cluster_ip_domain, name);
    if (!fresh) {
      const ServiceInfo& svc = t.services.at({vh->ns, vh->service});
      t.errors.push_back(svc.manifest->error(
          "spec.clusterIP", "domain " + vh->cluster_ip_domain + " is already taken by " +
                                first->second + ": " + name + " does not get it"));
      vh->cluster_ip_domain.clear();
    }
  }
  config->vhosts_.assign(vhosts.begin(), vhosts.end());
  if (t.errors.size() > MeshConfig::kMaxListedErrors) {
    const size_t more = t.errors.size() - MeshConfig::kMaxListedErrors;
    config->errors_.assign(t.errors.begin(), t.errors.begin() + static_cast<std::ptrdiff_t>(
                                                                    MeshConfig::kMaxListedErrors));
    config->errors_.push_back("... and " + std::to_string(more) +
                              " more translation errors (the first " +
                              std::to_string(MeshConfig::kMaxListedErrors) + " are listed)");
  } else {
    config->errors_ = t.errors;
  }
  config->all_errors_ = std::move(t.errors);
  return config;
}

cfg::RouteConfiguration MeshConfig::outboundRoutes(std::string_view ns) const {
  cfg::RouteConfiguration rc;
  rc.set_name("outbound");
  std::set<std::string> used;  // translate() made them unique; this keeps it so regardless
  for (const auto& source : vhosts_) {
    const VirtualHostSource& s = *source;
    cfg::VirtualHost* vh = rc.add_virtual_hosts();
    vh->set_name(clusterName(s.service, s.ns, s.port));
    const bool local = s.ns == ns;
    std::vector<std::string> names;
    if (local) {
      names.push_back(s.service);
    }
    for (const char* suffix : {"", ".svc", ".svc.cluster.local"}) {
      names.push_back(s.service + "." + s.ns + suffix);
    }
    std::vector<std::string> domains;
    for (const std::string& n : names) {
      domains.push_back(n + ":" + std::to_string(s.port));
    }
    if (s.first) {
      domains.insert(domains.end(), names.begin(), names.end());
    }
    if (!s.cluster_ip_domain.empty()) {
      domains.push_back(s.cluster_ip_domain);
    }
    for (std::string& d : domains) {
      if (used.insert(d).second) {
        vh->add_domains(std::move(d));
      }
    }
    for (const cfg::Route& r : s.routes) {
      *vh->add_routes() = r;
    }
  }
  return rc;
}

cfg::RouteConfiguration MeshConfig::inboundRoutes(std::string_view ns,
                                                  std::string_view service) const {
  cfg::RouteConfiguration rc;
  rc.set_name("inbound");
  cfg::VirtualHost* vh = rc.add_virtual_hosts();
  vh->set_name("inbound");
  vh->add_domains("*");
  cfg::Route* r = vh->add_routes();
  r->set_name("inbound");
  r->mutable_match()->set_prefix("/");
  r->mutable_route()->set_cluster(std::string(kLocalAppCluster));
  auto it = inbound_rate_limits_.find(std::string(ns) + "/" + std::string(service));
  if (it != inbound_rate_limits_.end()) {
    *r->mutable_rate_limit() = it->second;
  }
  return rc;
}

std::vector<cfg::Listener> MeshConfig::listeners() const {
  std::vector<cfg::Listener> out(2);
  out[0].set_name("outbound");
  out[0].set_direction(cfg::Listener::OUTBOUND);
  out[0].set_route_config("outbound");
  out[1].set_name("inbound");
  out[1].set_direction(cfg::Listener::INBOUND);
  out[1].set_route_config("inbound");
  return out;
}

}  // namespace remora::control
