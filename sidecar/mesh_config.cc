#include "sidecar/mesh_config.h"

#include <set>

#include "common/socket_address.h"
#include "xds/bootstrap_loader.h"
#include "xds/resource_types.h"
#include "xds/source_map.h"

namespace remora::sidecar {

namespace cfg = remora::config::v1;
using common::Result;
using common::Status;

namespace {

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Why the bytes of a `kind` resource do not parse, naming the resource and the field when they
// can be read: "cannot parse cluster 'a.b:80': fallback.body is not valid UTF-8".
std::string unparsable(const google::protobuf::Descriptor* type, std::string_view bytes,
                       std::string_view kind) {
  std::string out = "cannot parse as " + std::string(kind);
  if (std::string name = xds::resourceNameInWire(type, bytes); !name.empty()) {
    out = "cannot parse " + std::string(kind) + " " + quoted(name);
  }
  if (std::string field = xds::invalidUtf8FieldInWire(type, bytes); !field.empty()) {
    out += ": " + field + " is not valid UTF-8";
  }
  return out;
}

// Unpacks every resource into `out` (cleared first), keyed by `name_of`.
template <typename M, typename NameOf>
Status unpackAll(std::string_view type_url,
                 const google::protobuf::RepeatedPtrField<google::protobuf::Any>& resources,
                 std::string_view kind, NameOf name_of, std::map<std::string, M>& out) {
  out.clear();
  for (int i = 0; i < resources.size(); ++i) {
    const google::protobuf::Any& any = resources.Get(i);
    std::string at = "resource " + std::to_string(i);
    if (any.type_url() != type_url) {
      return Status::invalid(at + " is a " + any.type_url() + ", not a " + std::string(type_url));
    }
    M m;
    if (!any.UnpackTo(&m)) {
      return Status::invalid(at + ": " + unparsable(M::descriptor(), any.value(), kind));
    }
    std::string name = name_of(m);
    if (name.empty()) {
      return Status::invalid(at + ": " + std::string(kind) + " without a name");
    }
    if (!out.emplace(name, std::move(m)).second) {
      return Status::invalid(at + ": duplicate " + std::string(kind) + " " + quoted(name));
    }
  }
  return Status::ok();
}

// "static_resources.clusters[3].endpoints" -> "cluster 'name': endpoints" style, for one line of
// validateBootstrap's output ("xds: PATH: problem").
std::string nameByResource(const cfg::Bootstrap& b, std::string line) {
  constexpr std::string_view kSource = "xds: ";
  if (line.rfind(kSource, 0) == 0) {
    line.erase(0, kSource.size());
  }
  struct Prefix {
    std::string_view path;
    std::string_view kind;
  };
  const Prefix prefixes[] = {{"static_resources.clusters[", "cluster"},
                             {"static_resources.routes[", "route configuration"},
                             {"listeners[", "listener"}};
  for (const Prefix& p : prefixes) {
    if (line.rfind(p.path, 0) != 0) {
      continue;
    }
    size_t close = line.find(']', p.path.size());
    if (close == std::string::npos) {
      break;
    }
    int index = std::atoi(line.substr(p.path.size(), close - p.path.size()).c_str());
    std::string name;
    if (p.kind == "cluster" && index < b.static_resources().clusters_size()) {
      name = b.static_resources().clusters(index).name();
    } else if (p.kind == "route configuration" && index < b.static_resources().routes_size()) {
      name = b.static_resources().routes(index).name();
    } else if (p.kind == "listener" && index < b.listeners_size()) {
      name = b.listeners(index).name();
    } else {
      break;
    }
    std::string rest = line.substr(close + 1);
    if (!rest.empty() && rest[0] == '.') {
      rest = ": " + rest.substr(1);
    }
    return std::string(p.kind) + " " + quoted(name) + rest;
  }
  return line;
}

}  // namespace

Status replaceResources(std::string_view type_url,
                        const google::protobuf::RepeatedPtrField<google::protobuf::Any>& resources,
                        DynamicResources& out) {
  if (type_url == xds::kClusterType) {
    return unpackAll(
        type_url, resources, "cluster", [](const cfg::Cluster& c) { return c.name(); },
        out.clusters);
  }
  if (type_url == xds::kEndpointType) {
    return unpackAll(
        type_url, resources, "cluster load assignment",
        [](const cfg::ClusterLoadAssignment& a) { return a.cluster_name(); }, out.endpoints);
  }
  if (type_url == xds::kRouteType) {
    return unpackAll(
        type_url, resources, "route configuration",
        [](const cfg::RouteConfiguration& r) { return r.name(); }, out.routes);
  }
  if (type_url == xds::kListenerType) {
    return unpackAll(
        type_url, resources, "listener", [](const cfg::Listener& l) { return l.name(); },
        out.listeners);
  }
  return Status::invalid("unknown resource type " + std::string(type_url));
}

Status applyEndpointDelta(const remora::xds::v1::DeltaDiscoveryResponse& delta,
                          DynamicResources& out) {
  if (delta.type_url() != xds::kEndpointType) {
    return Status::invalid("deltas are only for endpoints, not " + delta.type_url());
  }
  std::set<std::string> removed(delta.removed_resources().begin(), delta.removed_resources().end());
  for (int i = 0; i < delta.resources_size(); ++i) {
    const remora::xds::v1::Resource& r = delta.resources(i);
    std::string at = "resource " + std::to_string(i);
    if (r.resource().type_url() != xds::kEndpointType) {
      return Status::invalid(at + " is a " + r.resource().type_url() + ", not a " +
                             std::string(xds::kEndpointType));
    }
    cfg::ClusterLoadAssignment a;
    if (!r.resource().UnpackTo(&a)) {
      return Status::invalid(at + ": " +
                             unparsable(cfg::ClusterLoadAssignment::descriptor(),
                                        r.resource().value(), "cluster load assignment"));
    }
    if (a.cluster_name().empty()) {
      a.set_cluster_name(r.name());
    }
    if (a.cluster_name().empty()) {
      return Status::invalid(at + ": cluster load assignment without a name");
    }
    if (!r.name().empty() && r.name() != a.cluster_name()) {
      return Status::invalid(at + ": named " + quoted(r.name()) + " but assigns cluster " +
                             quoted(a.cluster_name()));
    }
    if (removed.count(a.cluster_name()) > 0) {
      return Status::invalid(at + ": " + quoted(a.cluster_name()) + " is both updated and removed");
    }
    out.endpoints[a.cluster_name()] = std::move(a);
  }
  for (const std::string& name : removed) {
    out.endpoints.erase(name);
  }
  return Status::ok();
}

Result<cfg::Bootstrap> mergeMeshBootstrap(const cfg::Bootstrap& base,
                                          const DynamicResources& dynamic) {
  cfg::Bootstrap out = base;
  cfg::StaticResources* res = out.mutable_static_resources();

  std::set<std::string> static_clusters;
  for (const cfg::Cluster& c : base.static_resources().clusters()) {
    static_clusters.insert(c.name());
  }
  for (const auto& [name, cluster] : dynamic.clusters) {
    if (name == xds::kLocalAppCluster) {
      return Status::invalid("cluster " + quoted(name) +
                             ": the name is reserved for the sidecar's own app cluster");
    }
    if (static_clusters.count(name) > 0) {
      return Status::invalid("cluster " + quoted(name) +
                             ": already defined in the sidecar's static_resources");
    }
    cfg::Cluster* c = res->add_clusters();
    *c = cluster;
    auto cla = dynamic.endpoints.find(name);
    if (cla != dynamic.endpoints.end() && c->type() == cfg::Cluster::STATIC) {
      *c->mutable_endpoints() = cla->second.endpoints();
    }
  }

  std::set<std::string> static_routes;
  for (const cfg::RouteConfiguration& r : base.static_resources().routes()) {
    static_routes.insert(r.name());
  }
  for (const auto& [name, routes] : dynamic.routes) {
    if (static_routes.count(name) > 0) {
      return Status::invalid("route configuration " + quoted(name) +
                             ": already defined in the sidecar's static_resources");
    }
    *res->add_routes() = routes;
  }

  for (const auto& [name, pushed] : dynamic.listeners) {
    cfg::Listener* bound = nullptr;
    std::string names;
    for (cfg::Listener& l : *out.mutable_listeners()) {
      names += (names.empty() ? "" : ", ") + l.name();
      if (l.name() == name) {
        bound = &l;
      }
    }
    if (bound == nullptr) {
      return Status::invalid("listener " + quoted(name) + ": not bound by this sidecar (it has " +
                             names + "; a new listener needs a restart)");
    }
    std::string address = bound->address();
    if (!pushed.address().empty()) {
      auto want = common::parseSocketAddress(pushed.address());
      auto have = common::parseSocketAddress(address);
      if (!want.isOk()) {
        return Status::invalid("listener " + quoted(name) + ": " + want.status().message());
      }
      if (!have.isOk() || want.value().toString() != have.value().toString()) {
        return Status::invalid("listener " + quoted(name) + ": address " + pushed.address() +
                               " differs from the bound " + address +
                               " (a new address needs a restart)");
      }
    }
    *bound = pushed;
    bound->set_address(address);
  }
  return out;
}

Status validateMeshBootstrap(const cfg::Bootstrap& merged) {
  Status s = xds::validateBootstrap(merged, "xds", xds::SourceMap());
  if (s.isOk()) {
    return s;
  }
  std::string out;
  const std::string& m = s.message();
  size_t start = 0;
  while (start <= m.size()) {
    size_t nl = m.find('\n', start);
    std::string line = m.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!out.empty()) {
      out += '\n';
    }
    out += nameByResource(merged, std::move(line));
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return Status::invalid(std::move(out));
}

}  // namespace remora::sidecar
