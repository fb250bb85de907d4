// remoractl as users run it: `check` on good and bad manifest directories; `status` and `stat`
// against a fake control plane API served by the test; `proxy-config` against a real sidecar;
// usage errors and the command still to come. Exit codes: 0 good, 1 problems found or cannot
// connect, 2 usage / missing input.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "support/canned_server.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

#ifndef REMORA_REMORACTL_BIN
#error "REMORA_REMORACTL_BIN must name the remoractl binary"
#endif

class RemoractlTest : public ::testing::Test {
 protected:
  // Runs remoractl with `args`; its output files go to a scratch directory of their own.
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), REMORA_REMORACTL_BIN);
    return runToExit(out_dir_, "remoractl" + std::to_string(++runs_), args);
  }

  TempDir out_dir_;
  int runs_ = 0;
};

TEST_F(RemoractlTest, CheckAcceptsTheExampleShop) {
  RunResult r = run({"check", std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ok: 17 objects in 4 files (services 5, endpoint slices 9, routes 1, "
            "policies 2)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(RemoractlTest, CheckPrintsEveryProblemWithItsFileAndLineAndExits1) {
  TempDir manifests;
  manifests.write("a-service.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop, uid: ignored}
spec:
  ports: [{name: http, port: 8080, nodePort: 30000}]
status: {}
)");
  manifests.write("b-policy.yaml", R"(# a route and a policy
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: catalog}]
  rules:
  - backendRefs: [{name: catalog, port: 8080, weight: -1}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: catalog, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog}]
  loadBalancer: {type: FASTEST}
  circuitBreaker: {}
)");
  manifests.write("c-deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n");
  RunResult r = run({"check", manifests.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  const std::string d = manifests.path() + "/";
  EXPECT_EQ(splitLines(r.err),
            (std::vector<std::string>{
                d + "b-policy.yaml:8:55: spec.rules[0].backendRefs[0].weight: weight -1 is out "
                    "of range (0..1000000)",
                d + "b-policy.yaml:15:24: spec.loadBalancer.type: unknown load balancer type "
                    "\"FASTEST\" (valid: ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, RANDOM, "
                    "LEAST_REQUEST, RING_HASH, MAGLEV, PEAK_EWMA)",
                d + "b-policy.yaml:16:3: spec.circuitBreaker: unknown field (TrafficPolicySpec "
                    "has: targetRefs, loadBalancer, connectionPool, outlierDetection, "
                    "healthCheck, retry, timeout, rateLimit, faultInjection, fallback)",
                d + "c-deploy.yaml:2:7: kind: unknown kind \"Deployment\" (apiVersion apps/v1); "
                    "remora reads v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, "
                    "gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 "
                    "TrafficPolicy, v1 List",
            }));
}

TEST_F(RemoractlTest, CheckTakesASingleFileToo) {
  TempDir manifests;
  const std::string file = manifests.write(
      "svc.yaml",
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1}]}\n");
  RunResult r = run({"check", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ok: 1 objects in 1 files (services 1, endpoint slices 0, routes 0, "
            "policies 0)\n");
}

TEST_F(RemoractlTest, CheckOnAMissingDirectoryExits2WithOneLine) {
  RunResult r = run({"check", "/nonexistent/manifests"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "remoractl: check: /nonexistent/manifests: no such file or directory\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(RemoractlTest, BadUsageExits2WithOneLine) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "remoractl: no command given (see remoractl --help)\n"},
      {{"frobnicate"}, "remoractl: unknown command 'frobnicate' (see remoractl --help)\n"},
      {{"--frob", "check", "."}, "remoractl: unknown flag --frob (see remoractl --help)\n"},
      {{"check"},
       "remoractl: check needs a directory: remoractl check DIR (see remoractl "
       "--help)\n"},
      {{"check", "a", "b"},
       "remoractl: check takes one directory, got 2 arguments (see "
       "remoractl --help)\n"},
      {{"check", "--strict", "."},
       "remoractl: check: unknown flag --strict (see remoractl "
       "--help)\n"},
      {{"--log-level", "loud", "check", "."},
       "remoractl: --log-level wants "
       "trace|debug|info|warn|error, got 'loud' (see "
       "remoractl --help)\n"},
      {{"--log-level"}, "remoractl: --log-level needs a value (see remoractl --help)\n"},
      {{"status", "extra"},
       "remoractl: status takes no arguments, got 'extra' (see remoractl --help)\n"},
      {{"status", "--control"},
       "remoractl: status: --control needs a value (see remoractl --help)\n"},
      {{"status", "--control", "localhost:15014"},
       "remoractl: status: --control wants IP:PORT, got 'localhost:15014' (see remoractl "
       "--help)\n"},
      {{"status", "--watch"}, "remoractl: status: unknown flag --watch (see remoractl --help)\n"},
      {{"stat", "--window", "soon"},
       "remoractl: stat: --window wants a duration from 1ms to 1h such as 2s or 500ms, got "
       "'soon' (see remoractl --help)\n"},
      {{"stat", "--window=0s"},
       "remoractl: stat: --window wants a duration from 1ms to 1h such as 2s or 500ms, got "
       "'0s' (see remoractl --help)\n"},
      {{"proxy-config"},
       "remoractl: proxy-config needs the sidecar's admin address: remoractl proxy-config "
       "ADMIN_ADDR [clusters|listeners|routes|config] (see remoractl --help)\n"},
      {{"proxy-config", "admin:15000"},
       "remoractl: proxy-config: ADMIN_ADDR wants IP:PORT, got 'admin:15000' (see remoractl "
       "--help)\n"},
      {{"proxy-config", "127.0.0.1:15000", "secrets"},
       "remoractl: proxy-config: unknown section 'secrets' "
       "(clusters|listeners|routes|config) (see remoractl --help)\n"},
      {{"proxy-config", "127.0.0.1:15000", "routes", "more"},
       "remoractl: proxy-config takes ADMIN_ADDR and one section, got 3 arguments (see "
       "remoractl --help)\n"},
  };
  for (const auto& [args, message] : cases) {
    RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_EQ(r.err, message) << ::testing::PrintToString(args);
  }
}

TEST_F(RemoractlTest, HelpListsEveryCommand) {
  RunResult r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word :
       {"check DIR", "status [--control ADDR]",
        "proxy-config ADMIN_ADDR [clusters|listeners|routes|config]",
        "stat [--control ADDR] [--window DURATION]", "REMORA_CONTROL", "127.0.0.1:15014",
        "inject [-f FILE|-]", "--log-level", "--version", "Exit codes"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
  RunResult v = run({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("remoractl ", 0), 0u) << v.out;
}

TEST_F(RemoractlTest, DebugLogLevelLogsToStderrAndLeavesTheSummaryAlone) {
  RunResult r =
      run({"--log-level=debug", "check", std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[debug] checking manifests under"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("ok: 17 objects", 0), 0u) << r.out;
}

// --- status and stat against a fake control plane API -----------------------------------------

constexpr const char* kProxiesJson = R"({"proxies": [
  {"node_id": "cart-1", "service": "cart", "namespace": "shop", "peer": "127.0.0.1:40001",
   "admin": "127.0.0.1:15000", "connected_since": "2026-11-22T21:37:00Z",
   "connected_seconds": 7384, "status": "NACKED",
   "types": {
     "clusters": {"sent": "3f2a9c01deadbeef", "acked": "3f2a9c01deadbeef", "status": "SYNCED"},
     "endpoints": {"sent": "77aa00bb11", "acked": "77aa00bb11", "status": "SYNCED"},
     "routes": {"sent": "e5e5e5e5e5e5", "acked": "d4d4d4d4d4d4", "status": "NACKED",
                "error": "route 'canary': unknown cluster 'catalog-v3'"},
     "listeners": {"sent": "abc123456789", "acked": "abc123456789", "status": "SYNCED"}}},
  {"node_id": "frontend-1", "service": "frontend", "namespace": "shop",
   "admin": "127.0.0.1:15001", "connected_seconds": 42, "status": "SYNCED",
   "types": {
     "clusters": {"sent": "3f2a9c01deadbeef", "acked": "3f2a9c01deadbeef", "status": "SYNCED"},
     "endpoints": {"sent": "77aa00bb11", "acked": "77aa00bb11", "status": "SYNCED"},
     "routes": {"sent": "0123456789ab", "acked": "0123456789ab", "status": "SYNCED"},
     "listeners": {"sent": "abc123456789", "acked": "abc123456789", "status": "SYNCED"}}}]})";

constexpr const char* kStatusTable =
    "NAME         SERVICE         CLUSTERS          ENDPOINTS         ROUTES            "
    "LISTENERS         ADMIN             AGE\n"
    "cart-1       cart.shop       SYNCED 3f2a9c01   SYNCED 77aa00bb   NACKED d4d4d4d4   "
    "SYNCED abc12345   127.0.0.1:15000   2h\n"
    "frontend-1   frontend.shop   SYNCED 3f2a9c01   SYNCED 77aa00bb   SYNCED 01234567   "
    "SYNCED abc12345   127.0.0.1:15001   42s\n"
    "\n"
    "cart-1 routes: route 'canary': unknown cluster 'catalog-v3'\n";

class RemoractlControlTest : public RemoractlTest {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
  void SetUp() override { ASSERT_TRUE(control_.start()); }
  CannedServer control_;
};

TEST_F(RemoractlControlTest, StatusPrintsTheProxyTableAndEveryNack) {
  control_.serve("/v1/proxies", {{200, kProxiesJson}});
  RunResult r = run({"status", "--control", control_.address()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kStatusTable);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(control_.hits("/v1/proxies"), 1u);
}

TEST_F(RemoractlControlTest, StatusFindsTheControlPlaneThroughTheEnvironment) {
  control_.serve("/v1/proxies", {{200, R"({"proxies": []})"}});
  ::setenv("REMORA_CONTROL", ("http://" + control_.address()).c_str(), 1);
  RunResult r = run({"status"});
  ::unsetenv("REMORA_CONTROL");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no proxies connected\n");
}

TEST_F(RemoractlControlTest, StatusReportsABadAnswerInOneLineAndExits1) {
  control_.serve("/v1/proxies", {{503, "{\"error\": \"not ready\"}\nmore"}});
  RunResult r = run({"status", "--control=" + control_.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "remoractl: status: the control plane answered GET /v1/proxies with HTTP 503: "
            "{\"error\": \"not ready\"}\n");

  control_.serve("/v1/proxies", {{200, "<html>dashboard</html>"}});
  RunResult garbage = run({"status", "--control", control_.address()});
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_EQ(garbage.err.rfind("remoractl: status: bad JSON from GET /v1/proxies: ", 0), 0u)
      << garbage.err;
  EXPECT_EQ(splitLines(garbage.err).size(), 1u) << garbage.err;
}

TEST_F(RemoractlControlTest, StatAndStatusExit1WhenTheControlPlaneIsNotThere) {
  const std::string nobody = "127.0.0.1:" + std::to_string(pickFreePort());
  for (const std::string command : {"status", "stat"}) {
    std::vector<std::string> args = {command, "--control", nobody};
    if (command == "stat") {
      args.insert(args.end(), {"--window", "10ms"});
    }
    RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_EQ(r.out, "") << command;
    EXPECT_EQ(r.err, std::string("remoractl: ") + command +
                         ": cannot reach the control plane: connect " + nobody +
                         ": Connection refused\n");
  }
}

// Two samples 2 s apart by their timestamps (the CLI waits only --window, the rates use the
// samples' own clock): catalog grew by 100 requests, 5 of them errors; cart is idle; banner is new.
constexpr const char* kStatsBefore = R"({"proxies_scraped": 2, "proxies_failed": 0,
  "latency_bounds_ms": [1, 5, 10, 50, 100], "collected_unix_ms": 1700000001000,
  "services": [
    {"namespace": "shop", "service": "catalog", "requests": 1000, "errors": 10,
     "latency_buckets": [500, 400, 100, 0, 0, 0]},
    {"namespace": "shop", "service": "cart", "requests": 7, "errors": 0,
     "latency_buckets": [7, 0, 0, 0, 0, 0]}]})";
constexpr const char* kStatsAfter = R"({"proxies_scraped": 2, "proxies_failed": 1,
  "latency_bounds_ms": [1, 5, 10, 50, 100], "collected_unix_ms": 1700000003000,
  "services": [
    {"namespace": "shop", "service": "catalog", "requests": 1100, "errors": 15,
     "latency_buckets": [500, 450, 140, 10, 0, 0]},
    {"namespace": "shop", "service": "cart", "requests": 7, "errors": 0,
     "latency_buckets": [7, 0, 0, 0, 0, 0]},
    {"namespace": "ads", "service": "banner", "requests": 4, "errors": 4,
     "latency_buckets": [0, 0, 0, 0, 0, 4]}]})";

TEST_F(RemoractlControlTest, StatPrintsRatesSuccessAndLatencyOverTheWindow) {
  control_.serve("/v1/stats", {{200, kStatsBefore}, {200, kStatsAfter}});
  RunResult r = run({"stat", "--control", control_.address(), "--window", "50ms"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "SERVICE         RPS   SUCCESS     P50      P99   REQUESTS\n"
            "banner.ads      2.0      0.0%   100ms    100ms          4\n"
            "cart.shop       0.0         -       -        -          0\n"
            "catalog.shop   50.0     95.0%   5.0ms   46.0ms        100\n"
            "\n"
            "window 2.0s, 2 proxies scraped, 1 failed\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(control_.hits("/v1/stats"), 2u);
}

TEST_F(RemoractlControlTest, StatWaitsTheWindowBetweenTheTwoSamples) {
  // Samples without timestamps: the rate is over the requested window.
  control_.serve("/v1/stats", {{200, R"({"latency_bounds_ms": [10], "services": [
                     {"namespace": "a", "service": "s", "requests": 0, "latency_buckets": [0, 0]}]})"},
                               {200, R"({"latency_bounds_ms": [10], "services": [
                     {"namespace": "a", "service": "s", "requests": 6, "latency_buckets": [6, 0]}]})"}});
  const auto start = std::chrono::steady_clock::now();
  RunResult r = run({"stat", "--control", control_.address(), "--window", "300ms"});
  EXPECT_GE(msSince(start), 300);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "SERVICE    RPS   SUCCESS     P50     P99   REQUESTS\n"
            "s.a       20.0    100.0%   5.0ms   9.9ms          6\n"
            "\n"
            "window 300ms, 0 proxies scraped\n");
}

TEST_F(RemoractlControlTest, StatCountsGrpcCallsByGrpcStatusNotByHttpStatus) {
  // inventory is gRPC: 60 calls in the window, every one answered with HTTP 200 (errors stays
  // 0), 10 of them failed: 4 UNAVAILABLE, 3 NOT_FOUND, 2 DEADLINE_EXCEEDED, 1 UNAUTHENTICATED.
  control_.serve(
      "/v1/stats",
      {{200, R"({"latency_bounds_ms": [1, 5, 10, 50, 100], "collected_unix_ms": 1700000001000,
  "services": [
    {"namespace": "shop", "service": "catalog", "requests": 1000, "errors": 10,
     "latency_buckets": [500, 400, 100, 0, 0, 0]},
    {"namespace": "shop", "service": "inventory", "requests": 100, "errors": 0,
     "latency_buckets": [100, 0, 0, 0, 0, 0], "grpc_statuses": {"0": "90", "14": "10"}}]})"},
       {200, R"({"latency_bounds_ms": [1, 5, 10, 50, 100], "collected_unix_ms": 1700000003000,
  "proxies_scraped": 3, "services": [
    {"namespace": "shop", "service": "catalog", "requests": 1100, "errors": 15,
     "latency_buckets": [500, 450, 140, 10, 0, 0]},
    {"namespace": "shop", "service": "inventory", "requests": 160, "errors": 0,
     "latency_buckets": [100, 60, 0, 0, 0, 0],
     "grpc_statuses": {"0": "140", "14": "14", "5": "3", "4": "2", "16": "1"}}]})"}});
  RunResult r = run({"stat", "--control", control_.address(), "--window", "10ms"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "SERVICE           RPS   SUCCESS     P50      P99   REQUESTS   GRPC ERRORS\n"
            "catalog.shop     50.0     95.0%   5.0ms   46.0ms        100   -\n"
            "inventory.shop   30.0     83.3%   3.0ms    5.0ms         60   14 UNAVAILABLE: 4, "
            "5 NOT_FOUND: 3, 4 DEADLINE_EXCEEDED: 2, +1 more\n"
            "\n"
            "window 2.0s, 3 proxies scraped\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(RemoractlControlTest, StatWithoutTrafficSaysSo) {
  control_.serve("/v1/stats", {{200, R"({"proxies_scraped": 3, "services": []})"}});
  RunResult r = run({"stat", "--control", control_.address(), "--window", "10ms"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no services with traffic\n\nwindow 10ms, 3 proxies scraped\n");
}

// --- proxy-config against a real sidecar ------------------------------------------------------

class RemoractlProxyConfigTest : public RemoractlTest {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "e1");
    ASSERT_FALSE(echo_.address.empty());
    sidecar_ = Sidecar::quick(dir_, {echo_.address});
    ASSERT_FALSE(sidecar_.admin.empty());
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(RemoractlProxyConfigTest, ClustersShowTheUpstreamAndItsEndpoint) {
  common::HttpClient client(sidecar_.main());
  for (int i = 0; i < 3; ++i) {
    auto answer = client.get("/hello");
    ASSERT_TRUE(answer.isOk()) << answer.status().message();
    ASSERT_EQ(answer.value().status, 200);
  }
  RunResult r = run({"proxy-config", sidecar_.admin});  // clusters is the default
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = splitLines(r.out);
  ASSERT_GE(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0],
            "CLUSTER              TYPE           LB            ENDPOINTS   ACTIVE   "
            "REQUESTS   SUCCESS");
  EXPECT_EQ(lines[1],
            "upstream             STATIC         ROUND_ROBIN   1/1              0   "
            "       3    100.0%")
      << r.out;
  const size_t blank = r.out.find("\n\nENDPOINT ");
  ASSERT_NE(blank, std::string::npos) << r.out;
  // The endpoint row: address, cluster, weight 1, healthy, 0 active, 3 requests, 100%, a latency.
  const std::regex endpoint_row("\n" + echo_.address +
                                R"( +upstream +1 +healthy +0 +3 +100\.0% +[0-9.]+ms\n)");
  EXPECT_TRUE(std::regex_search(r.out, endpoint_row)) << r.out;
  EXPECT_EQ(r.err, "");

  RunResult explicit_section = run({"proxy-config", sidecar_.admin, "clusters"});
  EXPECT_EQ(explicit_section.exit_code, 0);
  EXPECT_EQ(splitLines(explicit_section.out)[0], lines[0]);
}

TEST_F(RemoractlProxyConfigTest, ListenersRoutesAndTheWholeConfig) {
  RunResult listeners = run({"proxy-config", sidecar_.admin, "listeners"});
  EXPECT_EQ(listeners.exit_code, 0) << listeners.err;
  const std::string address = sidecar_.main();  // "127.0.0.1:PORT", wider than "ADDRESS"
  EXPECT_EQ(listeners.out, "NAME   ADDRESS" + std::string(address.size() - 7, ' ') +
                               "   DIRECTION   PROTOCOL   ROUTE CONFIG   CONNECTIONS\n"
                               "main   " +
                               address + "   INBOUND     HTTP       quick                    0\n");

  RunResult routes = run({"proxy-config", sidecar_.admin, "routes"});
  EXPECT_EQ(routes.exit_code, 0) << routes.err;
  EXPECT_EQ(routes.out,
            "ROUTE CONFIG   VIRTUAL HOST   DOMAINS   MATCH   CLUSTERS\n"
            "quick          any            *         /*      upstream\n");

  RunResult config = run({"proxy-config", sidecar_.admin, "config"});
  EXPECT_EQ(config.exit_code, 0) << config.err;
  EXPECT_EQ(config.out.rfind("{\n  \"version_info\": \"", 0), 0u) << config.out;
  EXPECT_NE(config.out.find("\n          \"name\": \"upstream\",\n"), std::string::npos)
      << config.out;
  EXPECT_NE(config.out.find("\"address\": \"" + echo_.address + "\""), std::string::npos);
  EXPECT_EQ(config.out.back(), '\n');
  EXPECT_EQ(config.out.substr(config.out.size() - 2), "}\n");
}

TEST_F(RemoractlProxyConfigTest, AnAdminAddressNobodyListensOnExits1WithOneLine) {
  const std::string nobody = "127.0.0.1:" + std::to_string(pickFreePort());
  RunResult r = run({"proxy-config", nobody, "listeners"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "remoractl: proxy-config: cannot reach the sidecar admin API: connect " +
                       nobody + ": Connection refused\n");
}

}  // namespace
}  // namespace remora::test
