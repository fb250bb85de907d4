// Resilience policies through a real sidecar in front of several remora-echo instances:
// retries, circuit breakers, outlier detection, active health checks, the fallback response
// and weighted splits. Each test is one behaviour, with its own config.

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "common/http_client.h"
#include "support/configs.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// One route on listener "main" to cluster "app" with these endpoints and `cluster_extra` (YAML
// lines indented by 4).
std::string singleClusterConfig(const std::vector<std::string>& endpoints,
                                const std::string& cluster_extra) {
  return oneRouteConfig(clusterYaml("app", endpoints, cluster_extra), "{cluster: app}");
}

std::string echoIdOf(const HttpClient::Response& r) { return std::string(r.header("x-echo-id")); }

// Sends `n` GETs on one keep-alive connection; counts answers by status.
std::map<int, int> sendMany(const std::string& address, int n, const std::string& path = "/",
                            const HttpClient::Headers& headers = {},
                            std::map<std::string, int>* by_echo = nullptr) {
  std::map<int, int> statuses;
  HttpClient c(address);
  for (int i = 0; i < n; ++i) {
    auto r = c.get(path, headers);
    if (!r.isOk()) {
      statuses[-1]++;
      c.close();
      continue;
    }
    statuses[r.value().status]++;
    if (by_echo != nullptr) {
      (*by_echo)[echoIdOf(r.value())]++;
    }
  }
  return statuses;
}

bool postConfig(const std::string& echo_address, const std::string& query) {
  HttpClient c(echo_address);
  auto r = c.post("/_echo/config?" + query, "");
  return r.isOk() && r.value().status == 200;
}

class ResilienceTest : public ::testing::Test {
 protected:
  Echo startEcho(const std::string& id, const std::vector<std::string>& extra = {}) {
    Echo e = Echo::start(dir_, id, extra);
    EXPECT_FALSE(e.address.empty());
    return e;
  }
  void startSidecar(const std::string& yaml) {
    sidecar_ = Sidecar::config(dir_, yaml, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  long long clusterStat(const std::string& name) const {
    return sidecar_.stat(name + "{cluster=\"app\"}");
  }

  TempDir dir_;
  Sidecar sidecar_;
};

TEST_F(ResilienceTest, RetriesHideAFlakyEndpointFromTheClient) {
  Echo good = startEcho("good");
  Echo flaky = startEcho("flaky", {"--fail-rate", "0.5", "--fail-status", "503", "--seed", "7"});
  startSidecar(singleClusterConfig({good.address, flaky.address}, R"(    retry_policy:
      num_retries: 2
      retry_on: [retriable-status-codes]
      retriable_status_codes: [503]
      backoff: {base_interval: 1ms, max_interval: 5ms}
)"));
  std::map<std::string, int> by_echo;
  auto statuses = sendMany(sidecar_.main(), 100, "/", {}, &by_echo);
  EXPECT_EQ(statuses[200], 100) << "every failure must be hidden by a retry on the other endpoint";
  EXPECT_GT(by_echo["flaky"], 0);
  EXPECT_EQ(by_echo["good"] + by_echo["flaky"], 100);
  // Every failed try on the flaky endpoint was retried once, on the good one.
  long long retries = clusterStat("remora_upstream_rq_retry_total");
  EXPECT_GT(retries, 0);
  EXPECT_EQ(retries, sidecar_.endpointStat("app", flaky.address, "errors_total"));
  EXPECT_EQ(clusterStat("remora_upstream_rq_retry_success_total"), retries);
  // (The worker records a request just after its last byte went out: wait for it.)
  EXPECT_TRUE(eventually(
      [&] {
        return sidecar_.adminGet("/requests").find("retry 1 after status 503") != std::string::npos;
      },
      2s, 20ms))
      << sidecar_.adminGet("/requests");
}

TEST_F(ResilienceTest, EveryTryCarriesItsAttemptNumber) {
  Echo bad = startEcho("bad", {"--status", "503"});
  startSidecar(singleClusterConfig({bad.address}, R"(    retry_policy:
      num_retries: 2
      retry_on: [5xx]
      backoff: {base_interval: 1ms}
)"));
  HttpClient c(sidecar_.main());
  auto r = c.get("/", {{"x-remora-attempt", "99"}});
  ASSERT_TRUE(r.isOk());
  // All three tries failed: the client gets the last answer, from the third try.
  EXPECT_EQ(r.value().status, 503);
  EXPECT_NE(r.value().body.find("\"x-remora-attempt\":\"3\""), std::string::npos)
      << r.value().body;
  EXPECT_EQ(clusterStat("remora_upstream_rq_retry_total"), 2);
  EXPECT_EQ(clusterStat("remora_upstream_rq_retry_success_total"), 0);
}

TEST_F(ResilienceTest, ConnectFailuresAreRetriedOnAnotherEndpoint) {
  Echo good = startEcho("good");
  std::string dead = "127.0.0.1:" + std::to_string(pickFreePort());
  startSidecar(singleClusterConfig({dead, good.address}, R"(    retry_policy:
      num_retries: 1
      retry_on: [connect-failure]
      backoff: {base_interval: 1ms}
)"));
  auto statuses = sendMany(sidecar_.main(), 40);
  EXPECT_EQ(statuses[200], 40);
  EXPECT_GE(clusterStat("remora_upstream_cx_connect_fail_total"), 10);
}

TEST_F(ResilienceTest, ABodyOverTheRetryBufferIsNotRetried) {
  Echo bad = startEcho("bad", {"--status", "503"});
  startSidecar(singleClusterConfig({bad.address}, R"(    retry_policy:
      num_retries: 2
      retry_on: [5xx]
      buffer_limit_bytes: 1024
      backoff: {base_interval: 1ms}
)"));
  HttpClient c(sidecar_.main());
  auto small = c.post("/echo-body", std::string(512, 'a'));
  ASSERT_TRUE(small.isOk());
  EXPECT_EQ(clusterStat("remora_upstream_rq_retry_total"), 2);
  auto big = c.post("/echo-body", std::string(4096, 'b'));
  ASSERT_TRUE(big.isOk());
  EXPECT_EQ(big.value().status, 503);
  EXPECT_EQ(clusterStat("remora_upstream_rq_retry_total"), 2) << "the big body was retried";
}

TEST_F(ResilienceTest, PerTryTimeoutMovesOnToAFasterEndpoint) {
  Echo slow = startEcho("slow", {"--latency-ms", "2000"});
  Echo fast = startEcho("fast");
  startSidecar(singleClusterConfig({slow.address, fast.address}, R"(    retry_policy:
      num_retries: 1
      retry_on: [gateway-error]
      per_try_timeout: 100ms
      backoff: {base_interval: 1ms}
)"));
  std::map<std::string, int> by_echo;
  auto start = std::chrono::steady_clock::now();
  auto statuses = sendMany(sidecar_.main(), 6, "/", {}, &by_echo);
  EXPECT_EQ(statuses[200], 6);
  EXPECT_EQ(by_echo["fast"], 6);
  EXPECT_LT(msSince(start), 1500) << "a slow try must be cut at its per-try timeout";
}

TEST_F(ResilienceTest, RouteIdleTimeoutEndsAStreamThatStalls) {
  Echo app = startEcho("app");
  startSidecar(oneRouteConfig(clusterYaml("app", {app.address}),
                              "{cluster: app, timeout: 10s, idle_timeout: 200ms}"));
  HttpClient c(sidecar_.main());
  auto start = std::chrono::steady_clock::now();
  auto stalled = c.get("/", {{"x-echo-delay-ms", "3000"}});
  ASSERT_TRUE(stalled.isOk());
  EXPECT_EQ(stalled.value().status, 504);
  EXPECT_EQ(stalled.value().header("x-remora-reason"), "upstream-timeout");
  EXPECT_LT(msSince(start), 2000) << "the idle timeout, not the 10 s request timeout, must end it";
  EXPECT_EQ(clusterStat("remora_upstream_rq_timeout_total"), 1);
  // A response that keeps moving is not cut.
  HttpClient c2(sidecar_.main());
  auto quick = c2.get("/", {{"x-echo-delay-ms", "50"}});
  ASSERT_TRUE(quick.isOk());
  EXPECT_EQ(quick.value().status, 200);
}

TEST_F(ResilienceTest, CircuitBreakerShedsRequestsBeyondMaxRequests) {
  Echo app = startEcho("app");
  startSidecar(singleClusterConfig({app.address}, R"(    circuit_breakers: {max_requests: 2}
)"));
  // Five requests at once, each held 400 ms by the echo: two pass, three are shed at once.
  std::vector<HttpClient> clients;
  for (int i = 0; i < 5; ++i) {
    clients.emplace_back(sidecar_.main());
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(clients[i].send("GET", "/", {{"x-echo-delay-ms", "400"}}).isOk());
    std::this_thread::sleep_for(20ms);  // in order, so the first two hold the slots
  }
  int ok = 0;
  int overflow = 0;
  for (auto& c : clients) {
    auto r = c.readResponse();
    ASSERT_TRUE(r.isOk());
    if (r.value().status == 200) {
      ok++;
    } else if (r.value().status == 503 && r.value().header("x-remora-reason") == "overflow") {
      overflow++;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(overflow, 3);
  EXPECT_EQ(clusterStat("remora_upstream_rq_overflow_total"), 3);
  // Once they are done, requests pass again.
  EXPECT_EQ(sendMany(sidecar_.main(), 3)[200], 3);
}

TEST_F(ResilienceTest, OutlierDetectionEjectsAFailingEndpointAndLetsItBack) {
  Echo a = startEcho("a");
  Echo b = startEcho("b");
  Echo bad = startEcho("bad", {"--status", "500"});
  startSidecar(singleClusterConfig({a.address, b.address, bad.address}, R"(    outlier_detection:
      consecutive_5xx: 3
      base_ejection_time: 1s
      max_ejection_percent: 50
)"));
  // Round robin: the bad endpoint gets every third request; its third 500 ejects it.
  std::map<std::string, int> by_echo;
  auto first = sendMany(sidecar_.main(), 9, "/", {}, &by_echo);
  EXPECT_EQ(first[500], 3);
  EXPECT_EQ(clusterStat("remora_outlier_ejections_total"), 1);
  EXPECT_EQ(clusterStat("remora_outlier_ejections_active"), 1);
  std::string clusters = sidecar_.adminGet("/clusters");
  EXPECT_NE(clusters.find("\"health\":\"ejected\""), std::string::npos) << clusters;
  by_echo.clear();
  auto during = sendMany(sidecar_.main(), 30, "/", {}, &by_echo);
  EXPECT_EQ(during[200], 30);
  EXPECT_EQ(by_echo.count("bad"), 0u);

  // It recovers; after its ejection time it takes traffic again.
  ASSERT_TRUE(postConfig(bad.address, "status=200"));
  ASSERT_TRUE(eventually(
      [&] { return sidecar_.adminGet("/clusters").find("\"ejected\"") == std::string::npos; },
      5s, 50ms))
      << sidecar_.adminGet("/clusters");
  EXPECT_EQ(clusterStat("remora_outlier_ejections_active"), 0);
  by_echo.clear();
  auto after = sendMany(sidecar_.main(), 30, "/", {}, &by_echo);
  EXPECT_EQ(after[200], 30);
  EXPECT_EQ(by_echo["bad"], 10);
}

TEST_F(ResilienceTest, HealthChecksKeepADeadEndpointFromEverySingleClient) {
  Echo a = startEcho("a");
  Echo b = startEcho("b");
  std::string dead = "127.0.0.1:" + std::to_string(pickFreePort());
  // One healthy endpoint of three is above this panic threshold: health keeps counting.
  startSidecar(singleClusterConfig({a.address, dead, b.address}, R"(    load_balancer: {panic_threshold_percent: 30}
    health_check:
      http: {path: /healthz}
      interval: 200ms
      timeout: 500ms
      unhealthy_threshold: 2
      healthy_threshold: 1
)"));
  // Ready only after the first checks: the dead endpoint is known before the first request.
  auto statuses = sendMany(sidecar_.main(), 60);
  EXPECT_EQ(statuses[200], 60);
  EXPECT_EQ(clusterStat("remora_upstream_cx_connect_fail_total"), 0);
  EXPECT_GE(clusterStat("remora_health_check_failure_total"), 1);
  std::string clusters = sidecar_.adminGet("/clusters");
  EXPECT_NE(clusters.find("\"health\":\"unhealthy\""), std::string::npos) << clusters;

  // An endpoint whose health check starts failing is taken out too.
  ASSERT_TRUE(postConfig(b.address, "status=503"));
  ASSERT_TRUE(eventually(
      [&] {
        std::string c = sidecar_.adminGet("/clusters");
        size_t at = c.find(b.address);
        return at != std::string::npos && c.find("\"unhealthy\"", at) < c.find('}', at);
      },
      5s, 50ms))
      << sidecar_.adminGet("/clusters");
  std::map<std::string, int> by_echo;
  auto later = sendMany(sidecar_.main(), 20, "/", {}, &by_echo);
  EXPECT_EQ(later[200], 20);
  EXPECT_EQ(by_echo["a"], 20);
}

TEST_F(ResilienceTest, FallbackAnswersWhenNoHealthyEndpointIsLeft) {
  std::string dead = "127.0.0.1:" + std::to_string(pickFreePort());
  startSidecar(singleClusterConfig({dead}, R"(    health_check:
      tcp: {}
      interval: 200ms
      timeout: 200ms
    fallback:
      status: 200
      body: '{"items":[],"degraded":true}'
      headers: {content-type: application/json}
)"));
  HttpClient c(sidecar_.main());
  auto r = c.get("/items");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "{\"items\":[],\"degraded\":true}");
  EXPECT_EQ(r.value().header("content-type"), "application/json");
  EXPECT_EQ(r.value().header("x-remora-reason"), "no-healthy-upstream");
  EXPECT_EQ(clusterStat("remora_upstream_rq_fallback_total"), 1);
}

TEST_F(ResilienceTest, WithoutFallbackPanicRoutingStillTriesTheEndpoints) {
  Echo app = startEcho("app", {"--status", "503"});  // fails its health checks, yet answers
  startSidecar(singleClusterConfig({app.address}, R"(    health_check:
      http: {path: /healthz}
      interval: 200ms
      timeout: 200ms
)"));
  HttpClient c(sidecar_.main());
  auto r = c.get("/");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().header("x-echo-id"), "app");
  EXPECT_TRUE(eventually(
      [&] {
        return sidecar_.adminGet("/requests").find("panic: 0/1 endpoints healthy") !=
               std::string::npos;
      },
      2s, 20ms))
      << sidecar_.adminGet("/requests");
}

TEST_F(ResilienceTest, ACanarySplitOf90To10LandsWithinAFewPercent) {
  Echo v1 = startEcho("v1");
  Echo v2 = startEcho("v2");
  startSidecar(oneRouteConfig(
      clusterYaml("v1", {v1.address}) + clusterYaml("v2", {v2.address}),
      "{weighted_clusters: [{cluster: v1, weight: 90}, {cluster: v2, weight: 10}]}", 2));
  std::map<std::string, int> by_echo;
  auto statuses = sendMany(sidecar_.main(), 10000, "/", {}, &by_echo);
  EXPECT_EQ(statuses[200], 10000);
  // Binomial: sd = 30 requests; 1.5 percentage points is five of them.
  EXPECT_NEAR(by_echo["v2"], 1000, 150);
  EXPECT_EQ(by_echo["v1"] + by_echo["v2"], 10000);
}

}  // namespace
}  // namespace remora::test
