#include "control/config_cache.h"

#include <algorithm>

#include "xds/framing.h"
#include "xds/resource_types.h"

namespace remora::control {

std::string_view typeShortName(size_t index) noexcept {
  return index < kTypeCount ? xds::typeShortName(xds::kPushOrder[index]) : "unknown";
}

size_t typeIndex(std::string_view type_url) noexcept {
  for (size_t i = 0; i < xds::kPushOrder.size(); ++i) {
    if (xds::kPushOrder[i] == type_url) {
      return i;
    }
  }
  return kTypeCount;
}

namespace {
template <typename Msg, typename NameOf>
ResourceSetPtr setOf(std::string_view type_url, const std::vector<Msg>& messages, NameOf name_of) {
  std::vector<ResourcePtr> resources;
  resources.reserve(messages.size());
  for (const Msg& m : messages) {
    resources.push_back(VersionedResource::make(name_of(m), m));
  }
  // The translator sorts by name already; sorting here keeps the contract local.
  std::sort(resources.begin(), resources.end(),
            [](const ResourcePtr& a, const ResourcePtr& b) { return a->name < b->name; });
  return std::make_shared<const ResourceSet>(type_url, std::move(resources));
}
// A problem line when `set` cannot be sent in one frame, else "".
std::string oversized(const ResourceSet& set, std::string_view what) {
  constexpr size_t kFrameOverhead = 64 * 1024;  // version, type, nonce, per-resource tags
  if (set.bytes() + kFrameOverhead < xds::kDefaultMaxFrameBytes ||
      !responseFrame(set, "0000000000000000").empty()) {
    return "";
  }
  return std::string(what) + ": " + std::to_string(set.resources().size()) + " resources, " +
         std::to_string(set.bytes()) + " bytes: over the xDS frame limit of " +
         std::to_string(xds::kDefaultMaxFrameBytes) +
         " bytes, not sent (proxies keep the previous version)";
}
}  // namespace

void ConfigCache::update(std::shared_ptr<const MeshConfig> config) {
  config_ = std::move(config);
  clusters_ = setOf(xds::kClusterType, config_->clusters(),
                    [](const config::v1::Cluster& c) { return c.name(); });
  endpoints_ = setOf(xds::kEndpointType, config_->endpoints(),
                     [](const config::v1::ClusterLoadAssignment& c) { return c.cluster_name(); });
  listeners_ = setOf(xds::kListenerType, config_->listeners(),
                     [](const config::v1::Listener& l) { return l.name(); });
  outbound_by_ns_.clear();
  routes_by_service_.clear();
  problems_.clear();
  for (const auto& [set, what] :
       {std::pair{clusters_.get(), "clusters"}, std::pair{endpoints_.get(), "endpoints"},
        std::pair{listeners_.get(), "listeners"}}) {
    if (std::string p = oversized(*set, what); !p.empty()) {
      problems_.insert(std::move(p));
    }
  }
  version_ = hex64(fnv1a64(listeners_->version(),
                           fnv1a64(endpoints_->version(), fnv1a64(clusters_->version()))));
}

ProxyResources ConfigCache::resourcesFor(const std::string& ns, const std::string& service) {
  ProxyResources out;
  out[kClustersIndex] = clusters_;
  out[kEndpointsIndex] = endpoints_;
  out[kListenersIndex] = listeners_;
  const std::string key = ns + "/" + service;
  ResourceSetPtr& routes = routes_by_service_[key];
  if (!routes) {
    ResourcePtr& outbound = outbound_by_ns_[ns];
    if (!outbound) {
      outbound = VersionedResource::make("outbound", config_->outboundRoutes(ns));
    }
    // Sorted by name: "inbound" < "outbound".
    routes = std::make_shared<const ResourceSet>(
        xds::kRouteType,
        std::vector<ResourcePtr>{
            VersionedResource::make("inbound", config_->inboundRoutes(ns, service)), outbound});
    if (std::string p = oversized(*routes, "routes of proxies of " + key); !p.empty()) {
      problems_.insert(std::move(p));
    }
  }
  out[kRoutesIndex] = routes;
  return out;
}

std::vector<std::string> ConfigCache::problems() const {
  return {problems_.begin(), problems_.end()};
}
}  // namespace remora::control
