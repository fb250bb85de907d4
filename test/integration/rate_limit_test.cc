// Local rate limiting per route, through a real sidecar in front of remora-echo: the burst,
// then 429 + rate-limited + retry-after, the refill rate, the counter, and that the limit is
// checked before faults.

#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

class RateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "app");
    ASSERT_FALSE(echo_.address.empty());
    // Routes: /limited 10 per second (burst 5, one bucket); /ordered 1 per hour, then a fault
    // that aborts everything; the rest unlimited.
    const std::string app = "{name: app, endpoints: [{address: " + echo_.address + "}]}";
    std::string yaml =
        "admin: {address: 127.0.0.1:0}\nconcurrency: 2\n"
        "listeners: [{name: main, address: 127.0.0.1:0, route_config: r}]\n"
        "static_resources:\n  clusters: [" +
        app + "]\n" + R"(  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - name: limited
        match: {prefix: /limited}
        route: {cluster: app}
        rate_limit: {requests_per_unit: 10, unit: SECOND, burst: 5, per_source: false}
      - name: limited-then-faulty
        match: {prefix: /ordered}
        route: {cluster: app}
        rate_limit: {requests_per_unit: 1, unit: HOUR}
        fault: {abort: {percent: 100, http_status: 503}}
      - {name: open, match: {prefix: /}, route: {cluster: app}}
)";
    sidecar_ = Sidecar::config(dir_, yaml, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  long long limitedCount() const {
    return sidecar_.stat("remora_ratelimited_total{route=\"limited\"}");
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(RateLimitTest, BurstIsServedThenTooManyRequestsWithRetryAfter) {
  HttpClient c(sidecar_.main());
  std::vector<int> statuses;
  int limited = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto r = c.get("/limited/" + std::to_string(i));
    ASSERT_TRUE(r.isOk()) << i << ": " << r.status().message();
    statuses.push_back(r.value().status);
    if (r.value().status == 429) {
      ++limited;
      EXPECT_EQ(r.value().header("x-remora-reason"), "rate-limited");
      EXPECT_EQ(r.value().header("retry-after"), "1");
      EXPECT_TRUE(r.value().keep_alive);
    } else {
      EXPECT_EQ(r.value().status, 200);
    }
  }
  const long long elapsed_ms = msSince(start);
  // The first five take the burst; a token comes back every 100 ms.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(statuses[static_cast<size_t>(i)], 200) << i;
  }
  EXPECT_EQ(statuses[5], 429);
  if (elapsed_ms < 95) {
    EXPECT_EQ(limited, 15);
  } else {  // a slow machine: the refill let a few more through
    EXPECT_GE(limited, 15 - (elapsed_ms / 100 + 1));
  }
  // The route has one bucket, whoever asks.
  auto other = HttpClient::fetch(sidecar_.main(), "GET", "/limited/other");
  ASSERT_TRUE(other.isOk());
  if (other.value().status == 429) {
    ++limited;
  }
  EXPECT_TRUE(msSince(start) >= 95 || other.value().status == 429);
  EXPECT_TRUE(eventually([&] { return limitedCount() == limited; }, 2s))
      << limitedCount() << " vs " << limited;
  // Other routes are not limited.
  for (int i = 0; i < 10; ++i) {
    auto r = c.get("/free");
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().status, 200);
  }
  std::string reqs = sidecar_.adminGet("/requests?limit=20");
  EXPECT_NE(reqs.find("rate limited (10/second, burst 5)"), std::string::npos) << reqs;
}

TEST_F(RateLimitTest, RefillsAtTheConfiguredRate) {
  HttpClient c(sidecar_.main());
  int drained = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = c.get("/limited");
    ASSERT_TRUE(r.isOk());
    if (r.value().status == 429) {
      break;
    }
    ++drained;
  }
  EXPECT_GE(drained, 5);
  EXPECT_LE(drained, 10);
  std::this_thread::sleep_for(1100ms);  // a second later the bucket is full again (burst 5)

  // Ask every 20 ms for 2 s: the burst plus about 10 per second get through.
  long long served = 0, refused = 0;
  auto start = std::chrono::steady_clock::now();
  long long last_ms = 0;
  for (int i = 0; i < 200 && msSince(start) < 2000; ++i) {
    last_ms = msSince(start);
    auto r = c.get("/limited");
    ASSERT_TRUE(r.isOk());
    if (r.value().status == 200) {
      ++served;
    } else {
      EXPECT_EQ(r.value().status, 429);
      ++refused;
    }
    std::this_thread::sleep_for(20ms);
  }
  const long long expected = 5 + last_ms / 100;
  EXPECT_GE(served, expected - 2) << "in " << last_ms << " ms";
  EXPECT_LE(served, expected + 2) << "in " << last_ms << " ms";
  EXPECT_GT(refused, 0);
  long long total_refused = refused + 1;  // + the one that ended the first drain
  EXPECT_TRUE(eventually([&] { return limitedCount() == total_refused; }, 2s))
      << limitedCount() << " vs " << total_refused;
}

TEST_F(RateLimitTest, LimitIsCheckedBeforeFaults) {
  HttpClient c(sidecar_.main());
  auto first = c.get("/ordered");
  ASSERT_TRUE(first.isOk());
  EXPECT_EQ(first.value().status, 503);
  EXPECT_EQ(first.value().header("x-remora-reason"), "fault-injected");
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/ordered");
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().status, 429);
    EXPECT_EQ(r.value().header("x-remora-reason"), "rate-limited");
    // One per hour: the next token is up to an hour away.
    long long after = std::stoll(std::string(r.value().header("retry-after")));
    EXPECT_GT(after, 3500);
    EXPECT_LE(after, 3600);
  }
  EXPECT_EQ(sidecar_.stat("remora_ratelimited_total{route=\"limited-then-faulty\"}"), 3);
  EXPECT_EQ(
      sidecar_.stat("remora_fault_injected_total{route=\"limited-then-faulty\",kind=\"abort\"}"),
      1);
}

}  // namespace
}  // namespace remora::test
