// The sidecar's admin API on a real process: health, server info, stats in both formats,
// clusters, listeners, config dump, recent requests, logging, and the Prometheus-only port.

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <set>
#include <sstream>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// The value of the line `name{labels} value` in a text exposition, -1 when absent.
double metricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> extra) {
    sidecar_ = Sidecar{};  // stops the previous one
    std::remove(dir_.file("sidecar.ready").c_str());  // or the new start reads the old file
    if (echo_.address.empty()) {
      echo_ = Echo::start(dir_, "echo");
      ASSERT_FALSE(echo_.address.empty());
    }
    std::vector<std::string> flags = {"--access-log", "off", "--node-id", "admin-test-node",
                                      "--service", "admin-svc"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    sidecar_ = Sidecar::quick(dir_, {echo_.address}, flags);
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  common::Result<HttpClient::Response> admin(std::string_view method, std::string_view path) {
    return HttpClient::fetch(sidecar_.admin, method, path);
  }

  // `n` requests through the proxy on one keep-alive connection, each answered 200.
  void proxy(int n, const std::string& path = "/hello") {
    HttpClient c(sidecar_.main(), 5s);
    for (int i = 0; i < n; ++i) {
      auto r = c.get(path);
      ASSERT_TRUE(r.isOk()) << r.status().message();
      ASSERT_EQ(r.value().status, 200);
    }
  }

  // Waits (bounded) for a /stats series to reach `want`; returns its last value.
  long long waitStat(const std::string& series, long long want) {
    long long v = -1;
    eventually(
        [&] {
          v = sidecar_.stat(series);
          return v == want;
        },
        2s);
    return v;
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(AdminTest, ReadyAnswers200Ready) {
  auto r = admin("GET", "/ready");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body.substr(0, 5), "READY") << r.value().body;
}

TEST_F(AdminTest, HealthzAnswers200) {
  auto r = admin("GET", "/healthz");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
}

TEST_F(AdminTest, ServerInfoHasVersionIdentityStateLiveAndConcurrency) {
  start({"--concurrency", "2"});
  auto r = admin("GET", "/server_info");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_NE(r.value().header("content-type").find("json"), std::string::npos);
  const std::string& body = r.value().body;
  auto kv = jsonStrings(body);
  EXPECT_TRUE(std::regex_match(kv["version"], std::regex("[0-9]+\\.[0-9]+\\.[0-9]+"))) << body;
  EXPECT_EQ(kv["state"], "LIVE") << body;
  EXPECT_EQ(kv["node_id"], "admin-test-node") << body;
  EXPECT_EQ(kv["service"], "admin-svc") << body;
  EXPECT_EQ(jsonInt(body, "concurrency"), 2) << body;
  EXPECT_GE(jsonInt(body, "uptime_seconds"), 0) << body;
}

TEST_F(AdminTest, StatsCountProxiedRequestsByListenerClusterAndCodeClass) {
  proxy(4);  // one connection
  proxy(3);  // another
  {
    HttpClient c(sidecar_.main(), 5s);  // a third: one 503 and one 404 from the upstream
    auto a = c.get("/x", {{"x-echo-status", "503"}});
    ASSERT_TRUE(a.isOk());
    EXPECT_EQ(a.value().status, 503);
    auto b = c.get("/y", {{"x-echo-status", "404"}});
    ASSERT_TRUE(b.isOk());
    EXPECT_EQ(b.value().status, 404);
  }
  EXPECT_EQ(waitStat("remora_downstream_rq_total{listener=\"main\",code_class=\"2xx\"}", 7), 7);
  EXPECT_EQ(waitStat("remora_downstream_rq_total{listener=\"main\",code_class=\"4xx\"}", 1), 1);
  EXPECT_EQ(waitStat("remora_downstream_rq_total{listener=\"main\",code_class=\"5xx\"}", 1), 1);
  EXPECT_EQ(waitStat("remora_upstream_rq_total{cluster=\"upstream\",code_class=\"2xx\"}", 7), 7);
  EXPECT_EQ(waitStat("remora_upstream_rq_total{cluster=\"upstream\",code_class=\"5xx\"}", 1), 1);
  EXPECT_EQ(waitStat("remora_downstream_cx_total{listener=\"main\"}", 3), 3);
  EXPECT_EQ(waitStat("remora_downstream_cx_active{listener=\"main\"}", 0), 0);
  // One metric a line: `name{label="v",...} value`.
  std::string stats = sidecar_.adminGet("/stats");
  std::regex line_re(R"(^[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$)");
  for (const std::string& line : splitLines(stats)) {
    EXPECT_TRUE(std::regex_match(line, line_re)) << "not `name{labels} value`: " << line;
  }
}

TEST_F(AdminTest, PrometheusExpositionHasTypesCountersEndingInTotalAndAHistogram) {
  proxy(5);
  ASSERT_EQ(waitStat("remora_upstream_rq_total{cluster=\"upstream\",code_class=\"2xx\"}", 5), 5);
  auto r = admin("GET", "/stats/prometheus");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_NE(r.value().header("content-type").find("version=0.0.4"), std::string::npos)
      << r.value().header("content-type");
  const std::string& text = r.value().body;

  std::map<std::string, std::string> types;  // family -> type
  std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  for (const std::string& line : splitLines(text)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(line, m, type_re)) << line;
      EXPECT_EQ(types.count(m[1].str()), 0u) << "family typed twice: " << line;
      types[m[1].str()] = m[2].str();
    }
  }
  ASSERT_FALSE(types.empty()) << text;
  for (const auto& [name, type] : types) {
    if (type == "counter") {
      EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total")
          << "counter without _total: " << name;
    }
  }
  EXPECT_EQ(types["remora_downstream_rq_total"], "counter");
  EXPECT_EQ(types["remora_upstream_rq_total"], "counter");
  EXPECT_EQ(types["remora_downstream_cx_total"], "counter");
  EXPECT_EQ(types["remora_downstream_cx_active"], "gauge");
  EXPECT_EQ(types["remora_upstream_rq_time_ms"], "histogram");

  EXPECT_EQ(metricValue(text, "remora_downstream_rq_total{listener=\"main\",code_class=\"2xx\"}"),
            5);
  EXPECT_EQ(
      metricValue(text, "remora_upstream_rq_time_ms_bucket{cluster=\"upstream\",le=\"+Inf\"}"), 5)
      << text;
  EXPECT_EQ(metricValue(text, "remora_upstream_rq_time_ms_count{cluster=\"upstream\"}"), 5);
  EXPECT_GE(metricValue(text, "remora_upstream_rq_time_ms_sum{cluster=\"upstream\"}"), 0);
  // Buckets from 0.5 ms to 60 s, cumulative.
  EXPECT_GE(metricValue(text, "remora_upstream_rq_time_ms_bucket{cluster=\"upstream\",le=\"0.5\"}"),
            0);
  EXPECT_EQ(
      metricValue(text, "remora_upstream_rq_time_ms_bucket{cluster=\"upstream\",le=\"60000\"}"), 5);
  double prev = -1;
  std::regex bucket_re(
      R"re(^remora_upstream_rq_time_ms_bucket\{cluster="upstream",le="([^"]+)"\} ([0-9.e+]+)$)re");
  int buckets = 0;
  for (const std::string& line : splitLines(text)) {
    std::smatch m;
    if (std::regex_match(line, m, bucket_re)) {
      double v = std::stod(m[2].str());
      EXPECT_GE(v, prev) << "buckets must be cumulative: " << line;
      prev = v;
      ++buckets;
    }
  }
  EXPECT_GE(buckets, 3);
}

TEST_F(AdminTest, ClustersListsTheClusterAndItsEndpointWithHealthAndTotals) {
  proxy(3);
  ASSERT_EQ(waitStat("remora_upstream_rq_total{cluster=\"upstream\",code_class=\"2xx\"}", 3), 3);
  auto r = admin("GET", "/clusters");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  const std::string& body = r.value().body;
  EXPECT_NE(body.find("\"name\":\"upstream\""), std::string::npos) << body;
  // The endpoint object of our echo.
  size_t at = body.find("\"address\":\"" + echo_.address + "\"");
  ASSERT_NE(at, std::string::npos) << body;
  size_t open = body.rfind('{', at);
  size_t close = body.find('}', at);
  ASSERT_TRUE(open != std::string::npos && close != std::string::npos);
  std::string ep = body.substr(open, close - open + 1);
  EXPECT_EQ(jsonInt(ep, "weight"), 1) << ep;
  EXPECT_EQ(jsonStrings(ep)["health"], "healthy") << ep;
  EXPECT_EQ(jsonInt(ep, "requests_total"), 3) << ep;
  EXPECT_EQ(jsonInt(ep, "active_requests"), 0) << ep;
}

TEST_F(AdminTest, ListenersShowTheBoundAddress) {
  auto r = admin("GET", "/listeners");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_NE(r.value().body.find("\"name\":\"main\""), std::string::npos) << r.value().body;
  EXPECT_NE(r.value().body.find("\"" + sidecar_.main() + "\""), std::string::npos)
      << r.value().body;
}

TEST_F(AdminTest, ConfigDumpHasVersionInfoAndTheCluster) {
  auto r = admin("GET", "/config_dump");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  const std::string& body = r.value().body;
  EXPECT_NE(body.find("\"version_info\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"upstream\""), std::string::npos) << body;
  EXPECT_NE(body.find(echo_.address), std::string::npos) << body;
}

TEST_F(AdminTest, RequestsLimitTwoReturnsTheTwoNewestFirstWithTheirDecisionTrail) {
  HttpClient c(sidecar_.main(), 5s);
  for (const char* path : {"/first", "/second", "/third"}) {
    auto r = c.get(path);
    ASSERT_TRUE(r.isOk()) << r.status().message();
  }
  ASSERT_EQ(waitStat("remora_downstream_rq_total{listener=\"main\",code_class=\"2xx\"}", 3), 3);
  auto r = admin("GET", "/requests?limit=2");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  const std::string& body = r.value().body;
  size_t third = body.find("\"path\":\"/third\"");
  size_t second = body.find("\"path\":\"/second\"");
  EXPECT_NE(third, std::string::npos) << body;
  EXPECT_NE(second, std::string::npos) << body;
  EXPECT_LT(third, second) << "newest first: " << body;
  EXPECT_EQ(body.find("\"path\":\"/first\""), std::string::npos) << "limit=2: " << body;
  // Exactly two entries, each with the decision trail.
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = body.find(needle); at != std::string::npos; at = body.find(needle, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("\"path\":"), 2u) << body;
  EXPECT_EQ(count("\"route\":\"all\""), 2u) << body;
  EXPECT_EQ(count("\"cluster\":\"upstream\""), 2u) << body;
  EXPECT_EQ(count("\"status\":200"), 2u) << body;
  EXPECT_EQ(count("\"attempts\":[{"), 2u) << body;
  EXPECT_EQ(count("\"endpoint\":\"" + echo_.address + "\""), 2u) << body;
  EXPECT_EQ(count("\"trail\":["), 2u) << body;

  auto bad = admin("GET", "/requests?limit=zero");
  ASSERT_TRUE(bad.isOk());
  EXPECT_EQ(bad.value().status, 400);
}

TEST_F(AdminTest, LoggingShowsTheLevelAndPostChangesItAndRejectsABadLevel) {
  auto before = admin("GET", "/logging");
  ASSERT_TRUE(before.isOk()) << before.status().message();
  EXPECT_EQ(before.value().status, 200);
  EXPECT_EQ(jsonStrings(before.value().body)["level"], "info") << before.value().body;

  auto set = admin("POST", "/logging?level=debug");
  ASSERT_TRUE(set.isOk()) << set.status().message();
  EXPECT_EQ(set.value().status, 200);
  auto after = admin("GET", "/logging");
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(jsonStrings(after.value().body)["level"], "debug") << after.value().body;

  auto bad = admin("POST", "/logging?level=loud");
  ASSERT_TRUE(bad.isOk());
  EXPECT_EQ(bad.value().status, 400);
  auto unchanged = admin("GET", "/logging");
  ASSERT_TRUE(unchanged.isOk());
  EXPECT_EQ(jsonStrings(unchanged.value().body)["level"], "debug") << unchanged.value().body;

  // A GET with the parameter is a read, not a change.
  auto get_with_level = admin("GET", "/logging?level=error");
  ASSERT_TRUE(get_with_level.isOk());
  EXPECT_EQ(jsonStrings(get_with_level.value().body)["level"], "debug");
}

TEST_F(AdminTest, UnknownPathIs404) {
  auto r = admin("GET", "/no/such/admin/path");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 404);
}

TEST_F(AdminTest, PrometheusPortServesOnlyStatsPrometheus) {
  uint16_t port = pickFreePort();
  ASSERT_NE(port, 0);
  std::string prom = "127.0.0.1:" + std::to_string(port);
  start({"--prometheus", prom});
  if (HasFatalFailure()) {
    return;
  }
  proxy(2);
  ASSERT_EQ(waitStat("remora_downstream_rq_total{listener=\"main\",code_class=\"2xx\"}", 2), 2);

  auto scrape = HttpClient::fetch(prom, "GET", "/stats/prometheus");
  ASSERT_TRUE(scrape.isOk()) << scrape.status().message();
  EXPECT_EQ(scrape.value().status, 200);
  EXPECT_NE(scrape.value().body.find("# TYPE remora_downstream_rq_total counter"),
            std::string::npos);
  EXPECT_EQ(metricValue(scrape.value().body,
                        "remora_downstream_rq_total{listener=\"main\",code_class=\"2xx\"}"),
            2);
  for (const char* path : {"/clusters", "/stats", "/config_dump", "/requests", "/logging"}) {
    auto r = HttpClient::fetch(prom, "GET", path);
    ASSERT_TRUE(r.isOk()) << path << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 404) << path;
  }
  // Read-only: the write endpoints are not there either.
  for (const char* path : {"/quitquitquit", "/drain", "/logging?level=trace"}) {
    auto r = HttpClient::fetch(prom, "POST", path);
    ASSERT_TRUE(r.isOk()) << path << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 404) << path;
  }
  EXPECT_TRUE(sidecar_.process.running());
  EXPECT_NE(sidecar_.adminGet("/server_info").find("\"LIVE\""), std::string::npos);
}

TEST_F(AdminTest, HealthPortAnswersReadyUntilTheDrainAndNothingElse) {
  uint16_t port = pickFreePort();
  ASSERT_NE(port, 0);
  std::string health = "127.0.0.1:" + std::to_string(port);
  start({"--health", health, "--drain-timeout", "5s"});
  if (HasFatalFailure()) {
    return;
  }
  auto ready = HttpClient::fetch(health, "GET", "/healthz/ready");
  ASSERT_TRUE(ready.isOk()) << ready.status().message();
  EXPECT_EQ(ready.value().status, 200);
  for (const char* path : {"/stats/prometheus", "/clusters", "/ready"}) {
    auto r = HttpClient::fetch(health, "GET", path);
    ASSERT_TRUE(r.isOk()) << path << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 404) << path;
  }
  // A request in flight keeps the process draining long enough to look.
  HttpClient slow(sidecar_.main(), 5s);
  ASSERT_TRUE(slow.send("GET", "/slow", {{"x-echo-delay-ms", "1000"}}).isOk());
  ASSERT_TRUE(eventually(
      [&] {
        return sidecar_.endpointStat("upstream", echo_.address, "active_requests") == 1;
      },
      2s));
  auto drain = admin("POST", "/drain");
  ASSERT_TRUE(drain.isOk());
  auto draining = HttpClient::fetch(health, "GET", "/healthz/ready");
  ASSERT_TRUE(draining.isOk()) << draining.status().message();
  EXPECT_EQ(draining.value().status, 503) << "kubelet must stop sending traffic during a drain";
  auto admin_ready = admin("GET", "/ready");
  ASSERT_TRUE(admin_ready.isOk());
  EXPECT_EQ(admin_ready.value().status, 503);
  auto done = slow.readResponse();
  ASSERT_TRUE(done.isOk()) << done.status().message();
  EXPECT_EQ(done.value().status, 200);
  EXPECT_EQ(sidecar_.process.wait(3s), 0);
}

}  // namespace
}  // namespace remora::test
