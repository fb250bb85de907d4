#include "control/manifest_references.h"

#include <map>
#include <string>
#include <utility>

#include "control/service_validation.h"

namespace remora::control {
namespace {

using Key = std::pair<std::string, std::string>;  // namespace, name

std::string qualified(const Key& k) {
  return k.first + "/" + k.second;
}

template <typename T>
Key keyOf(const Manifest<T>& m) {
  return {m.object.metadata().namespace_(), m.object.metadata().name()};
}

Key serviceKey(const mesh::Service& s) {
  return {s.metadata().namespace_(), s.metadata().name()};
}

// Keeps the objects for which `ok(object, checker)` returns true, in order.
template <typename T, typename Pred>
void keepIf(std::vector<Manifest<T>>& list, std::vector<ManifestError>* errors, Pred ok) {
  std::vector<Manifest<T>> kept;
  kept.reserve(list.size());
  for (Manifest<T>& m : list) {
    ObjectChecker check(m.file, m.map, errors);
    if (ok(m, check)) {
      kept.push_back(std::move(m));
    }
  }
  list = std::move(kept);
}

template <typename T>
void dropDuplicates(std::vector<Manifest<T>>& list, std::string_view kind,
                    std::vector<ManifestError>* errors) {
  std::map<Key, std::string> seen;  // -> where the first one is
  keepIf(list, errors, [&](const Manifest<T>& m, ObjectChecker& check) {
    auto [first, fresh] = seen.emplace(keyOf(m), m.where());
    if (!fresh) {
      check.error("metadata.name", std::string(kind) + " " + qualified(keyOf(m)) +
                                       " is already defined at " + first->second);
    }
    return fresh;
  });
}

class References {
 public:
  References(MeshManifests& m, const std::set<std::string>& broken,
             std::vector<ManifestError>* errors)
      : m_(m), broken_(broken), errors_(errors) {
    for (const Manifest<mesh::Service>& s : m_.services) {
      services_.emplace(keyOf(s), &s.object);
    }
  }

  void run();

 private:
  // The Service `ns/name`; nullptr, with an error at `path` unless the Service is a broken
  // one, when there is none.
  const mesh::Service* service(const std::string& ns, const std::string& name,
                               const std::string& path, ObjectChecker& check) const {
    auto it = services_.find({ns, name});
    if (it == services_.end()) {
      if (broken_.count(qualified({ns, name})) == 0) {
        check.error(path, "no Service " + qualified({ns, name}));
      }
      return nullptr;
    }
    return it->second;
  }

  // Whether Service `s` (named `name` in messages) has port `port`; an error at `path` if not.
  static bool hasPort(const mesh::Service& s, int32_t port, const std::string& path,
                      ObjectChecker& check) {
    std::string ports;
    for (const mesh::ServicePort& p : s.spec().ports()) {
      if (p.port() == port) {
        return true;
      }
      ports += (ports.empty() ? "" : ", ") + std::to_string(p.port());
    }
    check.error(path, "Service " + qualified(serviceKey(s)) + " has no port " +
                          std::to_string(port) + " (it has: " + (ports.empty() ? "none" : ports) +
                          ")");
    return false;
  }

  bool routeOk(const Manifest<mesh::HTTPRoute>& route, ObjectChecker& check) const;

  MeshManifests& m_;
  const std::set<std::string>& broken_;
  std::vector<ManifestError>* errors_;
  std::map<Key, const mesh::Service*> services_;
};

bool References::routeOk(const Manifest<mesh::HTTPRoute>& r, ObjectChecker& check) const {
  const std::string& own_ns = r.object.metadata().namespace_();
  const size_t before = check.errorCount();
  const mesh::HTTPRouteSpec& spec = r.object.spec();
  for (int i = 0; i < spec.parent_refs_size(); ++i) {
    const mesh::ParentReference& p = spec.parent_refs(i);
    const std::string path = itemPath("spec", "parentRefs", i);
    const mesh::Service* s =
        service(p.namespace_().empty() ? own_ns : p.namespace_(), p.name(), path + ".name", check);
    if (s == nullptr) {
      continue;
    }
    if (p.has_port()) {
      hasPort(*s, p.port(), path + ".port", check);
    }
    if (!p.section_name().empty()) {
      bool found = false;
      for (const mesh::ServicePort& port : s->spec().ports()) {
        found = found || port.name() == p.section_name();
      }
      if (!found) {
        check.error(path + ".sectionName", "Service " + qualified(serviceKey(*s)) +
                                               " has no port named " + quote(p.section_name()));
      }
    }
  }
  for (int i = 0; i < spec.rules_size(); ++i) {
    const mesh::HTTPRouteRule& rule = spec.rules(i);
    for (int k = 0; k < rule.backend_refs_size(); ++k) {
      const mesh::HTTPBackendRef& b = rule.backend_refs(k);
      const std::string path = itemPath(itemPath("spec", "rules", i), "backendRefs", k);
      const mesh::Service* s = service(b.namespace_().empty() ? own_ns : b.namespace_(), b.name(),
                                       path + ".name", check);
      if (s != nullptr) {
        hasPort(*s, b.port(), path + ".port", check);
      }
    }
  }
  return check.errorCount() == before;
}

void References::run() {
  keepIf(m_.endpoint_slices, errors_, [&](const auto& s, ObjectChecker& check) {
    const std::string& name = s.object.metadata().labels().at(std::string(kServiceNameLabel));
    return service(s.object.metadata().namespace_(), name,
                   xds::mapEntryPath("metadata.labels", kServiceNameLabel), check) != nullptr;
  });
  keepIf(m_.endpoints, errors_, [&](const auto& e, ObjectChecker& check) {
    return service(e.object.metadata().namespace_(), e.object.metadata().name(), "metadata.name",
                   check) != nullptr;
  });
  keepIf(m_.routes, errors_,
         [&](const auto& r, ObjectChecker& check) { return routeOk(r, check); });
  std::map<Key, std::string> targeted;  // Service -> the policy that has it
  keepIf(m_.policies, errors_, [&](const auto& p, ObjectChecker& check) {
    const std::string& ns = p.object.metadata().namespace_();
    const size_t before = check.errorCount();
    const auto& refs = p.object.spec().target_refs();
    for (int i = 0; i < refs.size(); ++i) {
      const std::string path = itemPath("spec", "targetRefs", i) + ".name";
      if (service(ns, refs[i].name(), path, check) == nullptr) {
        continue;
      }
      auto first = targeted.find(Key{ns, refs[i].name()});
      if (first != targeted.end()) {
        check.error(path, "Service " + qualified(first->first) + " is already targeted by " +
                              first->second + " (one TrafficPolicy per Service)");
      }
    }
    if (check.errorCount() != before) {
      return false;  // a dropped policy claims no Service
    }
    for (const auto& ref : refs) {
      targeted.emplace(Key{ns, ref.name()},
                       "TrafficPolicy " + qualified(keyOf(p)) + " at " + p.where());
    }
    return true;
  });
}

}  // namespace

void checkReferences(MeshManifests& manifests, const std::set<std::string>& broken_services,
                     std::vector<ManifestError>* errors) {
  dropDuplicates(manifests.services, "Service", errors);
  dropDuplicates(manifests.endpoint_slices, "EndpointSlice", errors);
  dropDuplicates(manifests.endpoints, "Endpoints", errors);
  dropDuplicates(manifests.routes, "HTTPRoute", errors);
  dropDuplicates(manifests.policies, "TrafficPolicy", errors);
  References(manifests, broken_services, errors).run();
}

}  // namespace remora::control
