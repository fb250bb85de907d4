#pragma once
// Test support: bootstrap YAML for the common shape of a policy test, one listener "main"
// (outbound, 127.0.0.1:0) whose every request takes one route to one or more clusters.

#include <string>
#include <vector>

namespace remora::test {

// One entry of static_resources.clusters: "  - name: NAME", then `extra` (lines indented by 4
// spaces, each ending in a newline), then the endpoints.
std::string clusterYaml(const std::string& name, const std::vector<std::string>& endpoints,
                        const std::string& extra = "");

// The bootstrap: admin on 127.0.0.1:0, `concurrency` workers, the `clusters` (clusterYaml
// entries) and one catch-all route whose action is `route_action` (flow YAML such as
// "{cluster: app}").
std::string oneRouteConfig(const std::string& clusters, const std::string& route_action,
                           int concurrency = 1);

}  // namespace remora::test
