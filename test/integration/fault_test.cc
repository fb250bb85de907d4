// Fault injection per route, through a real sidecar: aborts, delays that hold the request
// (body included) and header-triggered faults.

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// remora-echo reports the body it received as body_bytes and its FNV-1a 64 in hex.
std::string fnv1a64Hex(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : data) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void expectEchoSawBody(const std::string& json, std::string_view body) {
  EXPECT_NE(json.find("\"body_bytes\":" + std::to_string(body.size()) + ","), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"body_fnv1a\":\"" + fnv1a64Hex(body) + "\""), std::string::npos) << json;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "app");
    ASSERT_FALSE(echo_.address.empty());
    std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- {name: main, address: 127.0.0.1:0, direction: OUTBOUND, route_config: r}
static_resources:
  clusters:
  - {name: app, endpoints: [{address: )" + echo_.address + R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - name: aborted
        match: {prefix: /abort}
        route: {cluster: app}
        fault: {abort: {percent: 100, http_status: 503}}
      - name: delayed
        match: {prefix: /delay}
        route: {cluster: app}
        fault: {delay: {percent: 100, fixed_delay: 300ms}}
      - name: on-demand
        match: {prefix: /}
        route: {cluster: app}
        fault: {header_trigger: true}
)";
    sidecar_ = Sidecar::config(dir_, yaml, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(FaultTest, AbortAnswersWithTheConfiguredStatusAndReason) {
  HttpClient c(sidecar_.main());
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/abort");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().status, 503);
    EXPECT_EQ(r.value().header("x-remora-reason"), "fault-injected");
  }
  EXPECT_EQ(sidecar_.stat("remora_fault_injected_total{route=\"aborted\",kind=\"abort\"}"), 3);
  std::string reqs = sidecar_.adminGet("/requests?limit=1");
  EXPECT_NE(reqs.find("fault: abort 503"), std::string::npos) << reqs;
}

TEST_F(FaultTest, DelayHoldsTheRequestAndItsBodyThenForwardsThem) {
  HttpClient c(sidecar_.main(), 10s);
  auto start = std::chrono::steady_clock::now();
  auto r = c.get("/delay");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_GE(msSince(start), 290);

  // A body bigger than what the proxy holds during the delay: reading pauses, nothing is lost.
  std::string body = randomBytes(300 * 1024, 7);
  auto p = c.request("PUT", "/delay/upload", {}, body);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p.value().status, 200);
  expectEchoSawBody(p.value().body, body);
  EXPECT_EQ(sidecar_.stat("remora_fault_injected_total{route=\"delayed\",kind=\"delay\"}"), 2);
}

TEST_F(FaultTest, ChunkedBodyThatEndsDuringTheDelayArrivesComplete) {
  HttpClient c(sidecar_.main(), 10s);
  ASSERT_TRUE(c.sendRaw("POST /delay/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
                  .isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  expectEchoSawBody(r.value().body, "abcdefg");
}

TEST_F(FaultTest, RequestHeadersTriggerFaultsAndAreNotForwarded) {
  HttpClient c(sidecar_.main());
  auto plain = c.get("/x");
  ASSERT_TRUE(plain.isOk());
  EXPECT_EQ(plain.value().status, 200);
  auto aborted = c.get("/x", {{"x-remora-fault-abort", "429"}});
  ASSERT_TRUE(aborted.isOk());
  EXPECT_EQ(aborted.value().status, 429);
  EXPECT_EQ(aborted.value().header("x-remora-reason"), "fault-injected");
  auto start = std::chrono::steady_clock::now();
  auto delayed = c.get("/x", {{"x-remora-fault-delay-ms", "150"}});
  ASSERT_TRUE(delayed.isOk());
  EXPECT_EQ(delayed.value().status, 200);
  EXPECT_GE(msSince(start), 140);
  EXPECT_EQ(delayed.value().body.find("x-remora-fault"), std::string::npos) << delayed.value().body;
}

TEST_F(FaultTest, ClientLeavingDuringADelayHarmsNothing) {
  {
    HttpClient c(sidecar_.main());
    ASSERT_TRUE(c.send("GET", "/delay").isOk());
    ASSERT_TRUE(eventually([&] {
      return sidecar_.stat("remora_fault_injected_total{route=\"delayed\",kind=\"delay\"}") == 1;
    }, 2s));
    c.reset();
  }
  std::this_thread::sleep_for(400ms);  // past the delay: its timer must not fire on a dead stream
  auto r = HttpClient::fetch(sidecar_.main(), "GET", "/after");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_TRUE(sidecar_.process.running());
}

TEST(FaultConfigTest, OutOfRangePercentAndStatusAreConfigErrorsWithTheirLines) {
  TempDir dir;
  std::string yaml = R"(admin: {address: 127.0.0.1:0}
listeners: [{name: main, address: 127.0.0.1:0, route_config: r}]
static_resources:
  clusters: [{name: app, endpoints: [{address: 127.0.0.1:9}]}]
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {prefix: /}
        route: {cluster: app}
        fault: {abort: {percent: 150, http_status: 99}}
)";
  std::string err = configErrorOf(dir, yaml);
  EXPECT_NE(err.rfind("exit ", 0), 0u) << "the sidecar must exit with code 2: " << err;
  EXPECT_NE(err.find("bad.yaml:13:"), std::string::npos) << err;
  EXPECT_NE(err.find("fault.abort.percent: percent 150"), std::string::npos) << err;
  EXPECT_NE(err.find("fault.abort.http_status: http_status 99"), std::string::npos) << err;
}

}  // namespace
}  // namespace remora::test
