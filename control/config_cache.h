#pragma once
// The translated config, as ResourceSets ready to send, cached so that each distinct set is
// built and serialized once per change however many proxies get it: clusters, endpoints and
// listeners are the same for every proxy; "outbound" routes differ per caller namespace,
// "inbound" routes per proxy Service. A proxy's config is therefore four shared pointers.

#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/resource_set.h"
#include "control/translator.h"

namespace remora::control {

// Index of each type in kPushOrder (xds/resource_types.h): clusters, endpoints, routes,
// listeners.
inline constexpr size_t kTypeCount = 4;
inline constexpr size_t kClustersIndex = 0;
inline constexpr size_t kEndpointsIndex = 1;
inline constexpr size_t kRoutesIndex = 2;
inline constexpr size_t kListenersIndex = 3;

// "clusters", "endpoints", "routes", "listeners" (the keys of /v1/proxies' "types").
std::string_view typeShortName(size_t index) noexcept;
// The index of a type URL in kPushOrder, or kTypeCount when unknown.
size_t typeIndex(std::string_view type_url) noexcept;

using ProxyResources = std::array<ResourceSetPtr, kTypeCount>;

class ConfigCache {
 public:
  // Installs a new translation: builds the shared sets now, the per-namespace and per-Service
  // ones on first use.
  void update(std::shared_ptr<const MeshConfig> config);

  // Null before the first update().
  const std::shared_ptr<const MeshConfig>& config() const noexcept { return config_; }

  // The four sets for a proxy of `service` in namespace `ns`. Requires a config.
  ProxyResources resourcesFor(const std::string& ns, const std::string& service);

  // The sets too large for one xDS frame (xds/framing.h kDefaultMaxFrameBytes), which no proxy
  // can be sent: one line each, for /v1/status, the metrics and the log. Shared sets are checked
  // by update(), per-Service route sets when resourcesFor() first builds them. Sorted.
  std::vector<std::string> problems() const;

  // A hash of the shared sets (clusters + endpoints + listeners versions), for /v1/status.
  const std::string& version() const noexcept { return version_; }

 private:
  std::shared_ptr<const MeshConfig> config_;
  ResourceSetPtr clusters_;
  ResourceSetPtr endpoints_;
  ResourceSetPtr listeners_;
  std::map<std::string, ResourcePtr, std::less<>> outbound_by_ns_;
  std::map<std::string, ResourceSetPtr, std::less<>> routes_by_service_;  // "ns/service"
  std::string version_;
  std::set<std::string> problems_;
};

}  // namespace remora::control
