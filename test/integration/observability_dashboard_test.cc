// k8s/observability/grafana-dashboard.json names only metrics that exist: every remora_* name in
// its queries must be a series a real sidecar (mesh mode, fed the shop's manifests plus a fault
// policy, so that every per-cluster and per-route family is registered) serves on
// /stats/prometheus, or one the real control plane serves on /metrics.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "common/http_client.h"
#include "support/mesh.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The metric names of a Prometheus text exposition: each sample line's name.
std::set<std::string> seriesNames(const std::string& exposition) {
  std::set<std::string> names;
  for (const std::string& line : splitLines(exposition)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

std::string scrape(const std::string& address, const std::string& path) {
  auto r = common::HttpClient::fetch(address, "GET", path);
  return r.isOk() && r.value().status == 200 ? r.value().body : "";
}

TEST(ObservabilityDashboard, EveryMetricTheDashboardQueriesIsServedBySidecarOrControlPlane) {
  const std::string dashboard =
      readFile(std::string(REMORA_SOURCE_DIR) + "/k8s/observability/grafana-dashboard.json");
  ASSERT_FALSE(dashboard.empty());
  std::set<std::string> queried;
  const std::regex metric("remora_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), metric);
       it != std::sregex_iterator(); ++it) {
    queried.insert(it->str());
  }
  ASSERT_GE(queried.size(), 20u);

  TempDir dir;
  const std::string manifests = dir.path() + "/manifests";
  fs::create_directories(manifests);
  const fs::path shop = fs::path(REMORA_SOURCE_DIR) / "k8s/examples/shop";
  for (const char* file :
       {"services.yaml", "endpoint-slices.yaml", "routes.yaml", "policies.yaml"}) {
    fs::copy_file(shop / file, fs::path(manifests) / file);
  }
  // The shop has no fault policy: one for frontend registers remora_fault_injected_total.
  ASSERT_TRUE(writeAtomically(manifests + "/faults.yaml",
                              "apiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\n"
                              "metadata: {name: frontend, namespace: shop}\n"
                              "spec:\n  targetRefs: [{kind: Service, name: frontend}]\n"
                              "  faultInjection: {abort: {percent: 1, httpStatus: 503}}\n"));
  ControlPlane cp = ControlPlane::start(dir, "control", manifests);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  // orders: its inbound route carries the shop's rate limit; its outbound routes the fault.
  Sidecar sc = meshSidecar(dir, cp.xds, "orders-1", "orders", "shop");
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);

  std::set<std::string> served;
  std::set<std::string> missing;
  const bool all_served = eventually(
      [&] {
        served = seriesNames(scrape(sc.admin, "/stats/prometheus"));
        const std::set<std::string> control = seriesNames(scrape(cp.http, "/metrics"));
        served.insert(control.begin(), control.end());
        missing.clear();
        for (const std::string& name : queried) {
          if (served.count(name) == 0) {
            missing.insert(name);
          }
        }
        return missing.empty();
      },
      5s);
  std::string list;
  for (const std::string& name : missing) {
    list += " " + name;
  }
  EXPECT_TRUE(all_served) << "queried by the dashboard but served by neither:" << list << " ("
                          << served.size() << " series names served)";
  std::printf("dashboard queries %zu metric names, all served (of %zu)\n", queried.size(),
              served.size());
}

}  // namespace
}  // namespace remora::test
