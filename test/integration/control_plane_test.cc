// The mesh end to end: remora-control on manifests, sidecars in mesh mode, remora-echo backends,
// everything on 127.0.0.1 (issue 4's integration tests).

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "common/http_client.h"
#include "control/cli/api_client.h"
#include "support/grpc_client.h"
#include "support/mesh.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

std::string split(int w1, int w2) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary, "
         "namespace: shop}\nspec:\n  parentRefs: [{group: \"\", kind: Service, name: catalog, port: "
         "8080}]\n  rules:\n  - backendRefs:\n    - {name: catalog-v1, port: 8080, weight: " +
         std::to_string(w1) + "}\n    - {name: catalog-v2, port: 8080, weight: " +
         std::to_string(w2) + "}\n";
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = dir_.path() + "/manifests";
    ASSERT_EQ(std::system(("mkdir -p " + manifests_).c_str()), 0);
  }
  std::string manifest(const std::string& name) const { return manifests_ + "/" + name; }
  // Services catalog, catalog-v1 (endpoint v1) and catalog-v2 (endpoint v2), and an HTTPRoute
  // sending every catalog request to v1 (route.yaml, rewritten by the tests).
  void writeCanary(const Echo& v1, const Echo& v2) const {
    ASSERT_TRUE(writeAtomically(
        manifest("services.yaml"),
        shopService("catalog") + shopService("catalog-v1") + shopService("catalog-v2") +
            shopSlice("v1", "catalog-v1", v1.address) + shopSlice("v2", "catalog-v2", v2.address)));
    ASSERT_TRUE(writeAtomically(manifest("route.yaml"), split(100, 0)));
  }

  TempDir dir_;
  std::string manifests_;
};

TEST_F(ControlPlaneTest, SidecarRoutesByServiceNamesFromTheManifests) {
  Echo echo = Echo::start(dir_, "catalog-1");
  ASSERT_FALSE(echo.address.empty());
  ASSERT_TRUE(
      writeAtomically(manifest("shop.yaml"),
                      shopService("catalog") + shopSlice("catalog-a", "catalog", echo.address)));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);

  common::HttpClient c(sc.listeners.at("outbound"));
  for (const char* host : {"catalog", "catalog:8080", "catalog.shop", "catalog.shop:8080",
                           "catalog.shop.svc", "catalog.shop.svc.cluster.local:8080"}) {
    auto [status, id] = callVia(c, host);
    EXPECT_EQ(status, 200) << host;
    EXPECT_EQ(id, "catalog-1") << host;
  }
  EXPECT_EQ(callVia(c, "orders.shop").first, 404);

  // The control plane shows the proxy in sync on every type, and the service with its endpoint.
  std::string proxies = cp.get("/v1/proxies");
  EXPECT_NE(proxies.find("\"node_id\":\"frontend-1\""), std::string::npos) << proxies;
  EXPECT_NE(proxies.find("\"status\":\"SYNCED\""), std::string::npos) << proxies;
  EXPECT_EQ(proxies.find("STALE"), std::string::npos) << proxies;
  EXPECT_EQ(proxies.find("NACKED"), std::string::npos) << proxies;
  std::string services = cp.get("/v1/services");
  EXPECT_NE(services.find(echo.address), std::string::npos) << services;
  // The sidecar's own view: versions per type, and the connection gauge.
  std::string dump = sc.adminGet("/config_dump");
  EXPECT_NE(dump.find("catalog.shop:8080"), std::string::npos);
  EXPECT_EQ(sc.stat("remora_xds_connected"), 1);
}

TEST_F(ControlPlaneTest, ApiDashboardStatsAndRemoractlStatusSeeTheRealMesh) {
  Echo echo = Echo::start(dir_, "catalog-1");
  ASSERT_TRUE(
      writeAtomically(manifest("shop.yaml"),
                      shopService("catalog") + shopSlice("catalog-a", "catalog", echo.address)));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);
  common::HttpClient c(sc.listeners.at("outbound"));
  for (int i = 0; i < 25; ++i) {
    ASSERT_EQ(callVia(c, "catalog.shop:8080").first, 200);
  }

  EXPECT_EQ(cp.get("/healthz"), "ok\n");
  EXPECT_EQ(cp.get("/ready"), "READY\n");
  // The sidecar reported its admin address, and /v1/stats read its counters from there.
  std::string proxies = cp.get("/v1/proxies");
  EXPECT_NE(proxies.find("\"admin\":\"" + sc.admin + "\""), std::string::npos) << proxies;
  std::string stats = cp.get("/v1/stats");
  EXPECT_NE(stats.find("\"proxies_scraped\":1"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\"service\":\"catalog\",\"requests\":\"25\""), std::string::npos)
      << stats;
  std::string metrics = cp.get("/metrics");
  EXPECT_NE(metrics.find("remora_control_proxies_connected 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("remora_control_services 1\n"), std::string::npos) << metrics;
  // The dashboard is one page that polls the API.
  std::string page = cp.get("/");
  EXPECT_NE(page.find("<title>remora mesh</title>"), std::string::npos);
  EXPECT_NE(page.find("/v1/stats"), std::string::npos);

  // remoractl status against the real control plane: the proxy, in sync on every type.
  RunResult r = runToExit(dir_, "remoractl-status",
                          {REMORA_REMORACTL_BIN, "status", "--control", cp.http});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = splitLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind("NAME", 0), 0u) << r.out;
  EXPECT_EQ(lines[1].rfind("frontend-1", 0), 0u) << r.out;
  size_t synced = 0;
  for (size_t p = lines[1].find("SYNCED"); p != std::string::npos; p = lines[1].find("SYNCED", p + 1)) {
    ++synced;
  }
  EXPECT_EQ(synced, 4u) << r.out;
}

// gRPC through a mesh sidecar: a Service port with appProtocol grpc is an HTTP/2 cluster whose
// calls the sidecar counts by grpc-status, and /v1/stats sums them per Service. The failed calls
// came in HTTP 200s, so only grpc_statuses sees them.
TEST_F(ControlPlaneTest, GrpcCallsReachV1StatsByGrpcStatus) {
  if (std::string why = grpcClientMissing(dir_); !why.empty()) {
    GTEST_SKIP() << why;
  }
  Echo echo = Echo::start(dir_, "inventory-1", {"--grpc"});
  ASSERT_FALSE(echo.address.empty());
  auto grpcPort = [](std::string doc) {
    const std::string http = "{name: http,";
    return doc.replace(doc.find(http), http.size(), "{name: grpc, appProtocol: grpc,");
  };
  ASSERT_TRUE(writeAtomically(manifest("shop.yaml"),
                              grpcPort(shopService("inventory")) +
                                  grpcPort(shopSlice("inventory-a", "inventory", echo.address))));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);

  // "unary" ends its call with OK; "error" ends its three with NOT_FOUND (5),
  // FAILED_PRECONDITION (9) and ABORTED (10).
  for (const char* scenario : {"unary", "error"}) {
    RunResult r = runGrpcScenario(dir_, sc.listeners.at("outbound"), scenario,
                                  {"--authority", "inventory.shop:8080"});
    ASSERT_EQ(r.exit_code, 0) << scenario << ": " << r.out << r.err;
  }

  auto stats = control::cli::parseStats(cp.get("/v1/stats"));
  ASSERT_TRUE(stats.isOk()) << stats.status().message();
  const control::v1::ServiceStats* inventory = nullptr;
  for (const auto& s : stats.value().services()) {
    if (s.service() == "inventory") {
      inventory = &s;
    }
  }
  ASSERT_NE(inventory, nullptr);
  EXPECT_EQ(inventory->errors(), 0u);  // no 5xx
  const std::map<uint32_t, uint64_t> statuses(inventory->grpc_statuses().begin(),
                                              inventory->grpc_statuses().end());
  const std::map<uint32_t, uint64_t> expected = {{0, 1}, {5, 1}, {9, 1}, {10, 1}};
  EXPECT_EQ(statuses, expected);
}

TEST_F(ControlPlaneTest, RouteChangeUnderLoadFailsNoRequest) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  writeCanary(v1, v2);
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);
  const std::string out = sc.listeners.at("outbound");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<int> from_v2_after{0};
  std::atomic<bool> changed{false};
  auto load = [&] {
    common::HttpClient c(out);
    for (int i = 0; i < 3000 && !stop.load(); ++i) {
      auto [status, id] = callVia(c, "catalog.shop:8080");
      (status == 200 ? ok : failed)++;
      if (changed.load() && id == "v2") from_v2_after++;
    }
  };
  std::thread a(load), b(load);
  std::this_thread::sleep_for(150ms);
  ASSERT_TRUE(writeAtomically(manifest("route.yaml"), split(0, 100)));
  changed = true;
  // The new route reaches the sidecar within a second; keep the load going past that.
  EXPECT_TRUE(eventually([&] { return from_v2_after.load() > 50; }, 5s));
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  // After the change every request goes to v2.
  common::HttpClient c(out);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(callVia(c, "catalog.shop:8080").second, "v2");
  }
}

TEST_F(ControlPlaneTest, BadManifestIsReportedAndTheLastGoodConfigStays) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  writeCanary(v1, v2);
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty());
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty());
  std::string version_before = jsonStrings(cp.get("/v1/status"))["config_version"];

  // Weight 0/100 plus a field the schema does not have: the whole state is refused.
  ASSERT_TRUE(
      writeAtomically(manifest("route.yaml"), split(0, 100) + "    sessionPersistence: {}\n"));
  std::string status;
  ASSERT_TRUE(eventually(
      [&] {
        status = cp.get("/v1/status");
        return status.find("route.yaml:") != std::string::npos;
      },
      5s))
      << status;
  EXPECT_NE(status.find("sessionPersistence"), std::string::npos) << status;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(jsonStrings(cp.get("/v1/status"))["config_version"], version_before);
  common::HttpClient c(sc.listeners.at("outbound"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(callVia(c, "catalog.shop:8080").second, "v1");  // the old route still serves
  }
  // Fixed: applied.
  ASSERT_TRUE(writeAtomically(manifest("route.yaml"), split(0, 100)));
  EXPECT_TRUE(eventually([&] { return callVia(c, "catalog.shop:8080").second == "v2"; }, 5s));
  EXPECT_EQ(cp.get("/v1/status").find("route.yaml:"), std::string::npos);
}

TEST_F(ControlPlaneTest, RefusedResourceIsNackedAndVisibleInProxies) {
  Echo echo = Echo::start(dir_, "catalog-1");
  ASSERT_TRUE(
      writeAtomically(manifest("shop.yaml"),
                      shopService("catalog") + shopSlice("catalog-a", "catalog", echo.address)));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty());
  // A sidecar whose bootstrap already defines a static cluster named like the one the control
  // plane pushes: it cannot hold both, so it refuses the clusters response (NACK) and keeps
  // serving what it has.
  std::string bootstrap = dir_.write(
      "bootstrap.yaml",
      "node: {id: odd-1, service: frontend, namespace: shop}\n"
      "xds: {address: ['" + cp.xds + "']}\n"
      "listeners:\n"
      "- {name: outbound, address: '127.0.0.1:0', direction: OUTBOUND}\n"
      "- {name: inbound, address: '127.0.0.1:0', direction: INBOUND}\n"
      "static_resources:\n"
      "  clusters:\n"
      "  - {name: 'catalog.shop:8080', endpoints: [{address: '" + echo.address + "'}]}\n");
  Process p;
  ASSERT_TRUE(p.start({sidecarBin(), "--config", bootstrap, "--admin", "127.0.0.1:0"},
                      dir_.file("odd.out"), dir_.file("odd.err")));
  std::string proxies;
  ASSERT_TRUE(eventually(
      [&] {
        proxies = cp.get("/v1/proxies");
        return proxies.find("NACKED") != std::string::npos;
      },
      5s))
      << proxies << readFile(dir_.file("odd.err"));
  EXPECT_NE(proxies.find("catalog.shop:8080"), std::string::npos) << proxies;  // the reason
  std::string metrics = cp.get("/metrics");
  EXPECT_NE(metrics.find("remora_control_xds_nacks_total{type=\"clusters\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(ControlPlaneTest, ControlPlaneRestartLosesNoRequest) {
  Echo echo = Echo::start(dir_, "catalog-1");
  ASSERT_TRUE(
      writeAtomically(manifest("shop.yaml"),
                      shopService("catalog") + shopSlice("catalog-a", "catalog", echo.address)));
  const std::string xds = "127.0.0.1:" + std::to_string(pickFreePort());
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_, {"--xds", xds});
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty());

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    common::HttpClient c(sc.listeners.at("outbound"));
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      (callVia(c, "catalog.shop:8080").first == 200 ? ok : failed)++;
    }
  });
  std::this_thread::sleep_for(200ms);
  cp.process.signal(SIGKILL);
  cp.process.wait(2s);
  EXPECT_TRUE(eventually([&] { return sc.stat("remora_xds_connected") == 0; }, 5s));
  std::this_thread::sleep_for(300ms);  // serving on the last config meanwhile
  ControlPlane again = ControlPlane::start(dir_, "control2", manifests_, {"--xds", xds});
  ASSERT_FALSE(again.xds.empty()) << readFile(again.stderr_file);
  EXPECT_TRUE(eventually([&] { return again.get("/v1/proxies").find("frontend-1") != std::string::npos; },
                         10s));
  EXPECT_TRUE(eventually([&] { return sc.stat("remora_xds_connected") == 1; }, 5s));
  std::this_thread::sleep_for(200ms);
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 50);
  EXPECT_GE(sc.stat("remora_xds_reconnects_total"), 1);
}

TEST_F(ControlPlaneTest, RegisteredEndpointExpiresWithoutHeartbeats) {
  Echo echo = Echo::start(dir_, "orders-1");
  ASSERT_TRUE(writeAtomically(manifest("shop.yaml"), shopService("orders", 8080)));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty());
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty());
  common::HttpClient c(sc.listeners.at("outbound"));
  EXPECT_EQ(callVia(c, "orders.shop:8080").first, 503);  // a Service without endpoints

  const uint16_t port = portOf(echo.address);
  const std::string body = "{\"service\":\"orders\",\"namespace\":\"shop\",\"address\":\"127.0.0.1\","
                           "\"port\":" + std::to_string(port) + ",\"ttl_seconds\":1}";
  ASSERT_EQ(cp.post("/v1/registry/register", body), 200);
  EXPECT_TRUE(eventually([&] { return callVia(c, "orders.shop:8080").second == "orders-1"; }, 3s));
  // Heartbeats keep it: 2 s of heartbeats every 300 ms with a 1 s TTL.
  for (int i = 0; i < 7; ++i) {
    std::this_thread::sleep_for(300ms);
    ASSERT_EQ(cp.post("/v1/registry/heartbeat", body), 200);
  }
  EXPECT_EQ(callVia(c, "orders.shop:8080").first, 200);
  // Silence: gone within the TTL plus the expiry check and the push.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return callVia(c, "orders.shop:8080").first == 503; }, 5s));
  EXPECT_GE(msSince(t0), 500);
  EXPECT_EQ(cp.get("/v1/services").find(echo.address), std::string::npos);
  EXPECT_EQ(cp.post("/v1/registry/heartbeat", body), 404);
  EXPECT_EQ(cp.post("/v1/registry/register", "{\"service\":\"Bad Name\"}"), 400);
}

TEST_F(ControlPlaneTest, EndpointRegisteredAsASidecarGetsHttp1RequestsOverHttp2) {
  // orders-app speaks HTTP/1 behind its own sidecar, registered at that sidecar's inbound
  // listener with "sidecar": true; the caller's sidecar must reach it over HTTP/2.
  Echo echo = Echo::start(dir_, "orders-app");
  ASSERT_TRUE(writeAtomically(manifest("shop.yaml"), shopService("orders", 8080)));
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar far = meshSidecar(dir_, cp.xds, "orders-1", "orders", "shop", {"--app", echo.address});
  ASSERT_FALSE(far.admin.empty()) << readFile(far.stderr_file);
  Sidecar near = meshSidecar(dir_, cp.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(near.admin.empty()) << readFile(near.stderr_file);

  const std::string body =
      "{\"service\":\"orders\",\"namespace\":\"shop\","
      "\"address\":\"127.0.0.1\",\"port\":" +
      std::to_string(portOf(far.listeners.at("inbound"))) + ",\"sidecar\":true}";
  ASSERT_EQ(cp.post("/v1/registry/register", body), 200);
  common::HttpClient c(near.listeners.at("outbound"));
  ASSERT_TRUE(
      eventually([&] { return callVia(c, "orders.shop:8080").second == "orders-app"; }, 3s));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(callVia(c, "orders.shop:8080", "/n" + std::to_string(i)).first, 200);
  }
  const std::string dump = near.adminGet("/config_dump");
  EXPECT_NE(dump.find("\"has_sidecar\":true"), std::string::npos) << dump;
  // Every request reached the far sidecar's inbound listener as HTTP/2 (the h2c preface),
  // none as an HTTP/1 request line.
  auto detected = [&](const std::string& protocol, const std::string& reason) {
    return far.stat("remora_protocol_detect_total{listener=\"inbound\",protocol=\"" + protocol +
                    "\",reason=\"" + reason + "\"}");
  };
  EXPECT_GE(detected("http2", "http2-preface"), 1);
  EXPECT_EQ(detected("http", "request-line"), 0);
}

TEST_F(ControlPlaneTest, SidecarMovesToTheSecondReplicaWhenTheFirstDies) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  writeCanary(v1, v2);
  ControlPlane a = ControlPlane::start(dir_, "control-a", manifests_);
  ControlPlane b = ControlPlane::start(dir_, "control-b", manifests_);
  ASSERT_FALSE(a.xds.empty());
  ASSERT_FALSE(b.xds.empty());
  // Same input, same versions on both replicas.
  EXPECT_EQ(jsonStrings(a.get("/v1/status"))["config_version"],
            jsonStrings(b.get("/v1/status"))["config_version"]);
  Sidecar sc = meshSidecar(dir_, a.xds + "," + b.xds, "frontend-1", "frontend", "shop");
  ASSERT_FALSE(sc.admin.empty());
  EXPECT_TRUE(eventually([&] { return a.get("/v1/proxies").find("frontend-1") != std::string::npos; }, 3s));
  EXPECT_EQ(b.get("/v1/proxies").find("frontend-1"), std::string::npos);

  a.process.signal(SIGKILL);
  a.process.wait(2s);
  EXPECT_TRUE(eventually([&] { return b.get("/v1/proxies").find("frontend-1") != std::string::npos; }, 10s));
  // Changes now arrive through the second replica.
  ASSERT_TRUE(writeAtomically(manifest("route.yaml"), split(0, 100)));
  common::HttpClient c(sc.listeners.at("outbound"));
  EXPECT_TRUE(eventually([&] { return callVia(c, "catalog.shop:8080").second == "v2"; }, 5s));
}

}  // namespace
}  // namespace remora::test
