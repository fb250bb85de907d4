#include "configs.h"

namespace remora::test {

std::string clusterYaml(const std::string& name, const std::vector<std::string>& endpoints,
                        const std::string& extra) {
  std::string out = "  - name: " + name + "\n" + extra + "    endpoints:\n";
  for (const std::string& e : endpoints) {
    out += "    - {address: " + e + "}\n";
  }
  return out;
}

std::string oneRouteConfig(const std::string& clusters, const std::string& route_action,
                           int concurrency) {
  return "admin: {address: 127.0.0.1:0}\n"
         "concurrency: " +
         std::to_string(concurrency) +
         "\n"
         "listeners:\n"
         "- {name: main, address: 127.0.0.1:0, direction: OUTBOUND, route_config: r}\n"
         "static_resources:\n"
         "  clusters:\n" +
         clusters +
         "  routes:\n"
         "  - name: r\n"
         "    virtual_hosts:\n"
         "    - name: all\n"
         "      domains: ['*']\n"
         "      routes:\n"
         "      - name: all\n"
         "        match: {prefix: /}\n"
         "        route: " +
         route_action + "\n";
}

}  // namespace remora::test
