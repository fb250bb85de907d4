#include "sidecar/cluster_runtime.h"

#include <unordered_set>

namespace remora::sidecar {

std::shared_ptr<ClusterRuntime> ClusterRuntimes::update(
    const std::string& name, const std::vector<std::string>& addresses, uint8_t fresh_flags,
    uint8_t clear_flags,
    std::vector<std::shared_ptr<filters::HostState>>& out) {
  std::shared_ptr<ClusterRuntime>& rt = clusters_[name];
  if (!rt) {
    rt = std::make_shared<ClusterRuntime>();
  }
  std::unordered_set<std::string> wanted(addresses.begin(), addresses.end());
  for (auto it = rt->hosts.begin(); it != rt->hosts.end();) {
    if (wanted.count(it->first) == 0) {
      it->second->clearFlag(filters::kHostFailedHealthCheck, rt->health);
      it->second->clearFlag(filters::kHostEjected, rt->health);
      it = rt->hosts.erase(it);
    } else {
      ++it;
    }
  }
  out.clear();
  for (const std::string& a : addresses) {
    std::shared_ptr<filters::HostState>& h = rt->hosts[a];
    bool fresh = !h;
    if (fresh) {
      h = std::make_shared<filters::HostState>();
    }
    for (filters::HostFlag f : {filters::kHostFailedHealthCheck, filters::kHostEjected}) {
      if (fresh && (fresh_flags & f) != 0) {
        h->setFlag(f, rt->health);
      } else if (!fresh && (clear_flags & f) != 0) {
        h->clearFlag(f, rt->health);
      }
    }
    out.push_back(h);
  }
  return rt;
}

}  // namespace remora::sidecar
