// Protocol detection on a DETECT listener through a real sidecar: whatever the method (PROPFIND,
// FOO), a leading CRLF, or a request line split across the detection timeout, HTTP requests
// get the route's policies (rate limit, header removal, x-request-id, x-forwarded-for) and
// show in the access log and /requests; only bytes that cannot be HTTP go to the TCP cluster.

#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

constexpr std::string_view kSpoof = "x-forwarded-for: 6.6.6.6\r\nx-secret: s3cr3t\r\n";

class ProtocolDetectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_ = Echo::start(dir_, "app");
    ASSERT_FALSE(app_.address.empty());
    tcp_ = Echo::start(dir_, "tcp", {"--tcp"});
    ASSERT_FALSE(tcp_.address.empty());
    // An inbound DETECT listener (the mesh's shape): HTTP by route, anything else to a TCP
    // echo. detect_timeout is short so that a split request line crosses it.
    std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- name: main
  address: 127.0.0.1:0
  direction: INBOUND
  route_config: r
  tcp_cluster: tcp
  detect_timeout: 200ms
static_resources:
  clusters:
  - {name: app, endpoints: [{address: )" +
                       app_.address +
                       R"(}]}
  - {name: tcp, endpoints: [{address: )" +
                       tcp_.address +
                       R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - name: limited
        match: {prefix: /limited}
        route: {cluster: app}
        rate_limit: {requests_per_unit: 1, unit: MINUTE}
        request_headers: {remove: [x-secret]}
      - name: rest
        match: {prefix: /}
        route: {cluster: app}
        request_headers: {remove: [x-secret]}
)";
    sidecar_ = Sidecar::config(dir_, yaml);
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  long long detected(const std::string& protocol, const std::string& reason) const {
    return sidecar_.stat("remora_protocol_detect_total{listener=\"main\",protocol=\"" + protocol +
                         "\",reason=\"" + reason + "\"}");
  }

  // Sends `first`, waits `pause`, sends `rest`, and reads one answer.
  HttpClient::Response exchange(std::string_view first, std::chrono::milliseconds pause,
                                std::string_view rest) {
    HttpClient c(sidecar_.main(), 5s);
    EXPECT_TRUE(c.sendRaw(first).isOk());
    if (pause.count() > 0) {
      std::this_thread::sleep_for(pause);  // the stimulus itself: bytes split across the timeout
    }
    if (!rest.empty()) {
      EXPECT_TRUE(c.sendRaw(rest).isOk());
    }
    auto r = c.readResponseRaw();
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? r.value() : HttpClient::Response{};
  }

  // The app saw the request with the route's header policy and the inbound headers.
  void expectPoliciesApplied(const HttpClient::Response& r, const std::string& path) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-echo-id"), "app");
    EXPECT_NE(r.body.find("\"path\":\"" + path + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"x-request-id\":\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"x-forwarded-for\":\"6.6.6.6, 127.0.0.1\""), std::string::npos)
        << r.body;
    EXPECT_EQ(r.body.find("s3cr3t"), std::string::npos) << r.body;
    // (The request is recorded once its response has left: poll.)
    std::string reqs;
    EXPECT_TRUE(eventually(
        [&] {
          reqs = sidecar_.adminGet("/requests?limit=10");
          return reqs.find("\"path\":\"" + path + "\"") != std::string::npos;
        },
        3s))
        << reqs;
    EXPECT_TRUE(eventually(
        [&] {
          return readFile(sidecar_.stdout_file).find(" " + path + " HTTP/1.1\" 200") !=
                 std::string::npos;
        },
        3s))
        << "access log:\n"
        << readFile(sidecar_.stdout_file);
  }

  TempDir dir_;
  Echo app_;
  Echo tcp_;
  Sidecar sidecar_;
};

TEST_F(ProtocolDetectionTest, ExtensionMethodAndRequestsPipelinedBehindItAreRateLimited) {
  auto first = HttpClient::fetch(sidecar_.main(), "GET", "/limited/1");
  ASSERT_TRUE(first.isOk());
  EXPECT_EQ(first.value().status, 200);
  HttpClient c(sidecar_.main(), 5s);
  ASSERT_TRUE(c.sendRaw("PROPFIND /limited/p HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /limited/g1 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /limited/g2 HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /limited/g3 HTTP/1.1\r\nHost: a\r\n\r\n")
                  .isOk());
  for (int i = 0; i < 4; ++i) {
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << "answer " << i << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 429) << "answer " << i << ": " << r.value().body;
    EXPECT_EQ(r.value().header("x-remora-reason"), "rate-limited");
  }
  EXPECT_EQ(detected("http", "request-line"), 2);
  EXPECT_EQ(sidecar_.stat("remora_tcp_cx_total{listener=\"main\"}"), 0);
  EXPECT_TRUE(eventually(
      [&] {
        return readFile(sidecar_.stdout_file).find("\"PROPFIND /limited/p HTTP/1.1\" 429") !=
               std::string::npos;
      },
      3s))
      << readFile(sidecar_.stdout_file);
}

TEST_F(ProtocolDetectionTest, Http2PrefaceIsServedAsHttp2WithTheRoutesPolicies) {
  // curl speaks h2c with prior knowledge: the preface, then its request on stream 1.
  RunResult r = runToExit(
      dir_, "curl",
      {programPath("curl"), "-sS", "--http2-prior-knowledge", "-D", "-", "-H", "x-secret: s3cr3t",
       "-H", "x-forwarded-for: 6.6.6.6", "http://" + sidecar_.main() + "/h2c"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HTTP/2 200", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << r.out;  // removed by the route
  EXPECT_NE(r.out.find("\"path\":\"/h2c\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"x-request-id\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("6.6.6.6, 127.0.0.1"), std::string::npos) << r.out;  // inbound: appended
  EXPECT_EQ(detected("http2", "http2-preface"), 1);
  EXPECT_EQ(sidecar_.stat("remora_tcp_cx_total{listener=\"main\"}"), 0);
  EXPECT_TRUE(eventually(
      [&] {
        return readFile(sidecar_.stdout_file).find("\"GET /h2c HTTP/2\" 200") != std::string::npos;
      },
      3s))
      << readFile(sidecar_.stdout_file);
}

TEST_F(ProtocolDetectionTest, ExtensionMethodGetsTheHeaderPolicies) {
  auto r = exchange("PROPFIND /propfind HTTP/1.1\r\nHost: a\r\n" + std::string(kSpoof) + "\r\n",
                    0ms, "");
  expectPoliciesApplied(r, "/propfind");
  EXPECT_EQ(detected("http", "request-line"), 1);
}

TEST_F(ProtocolDetectionTest, LeadingCrlfIsSkippedAndTheRequestGetsThePolicies) {
  auto r =
      exchange("\r\nGET /crlf HTTP/1.1\r\nHost: a\r\n" + std::string(kSpoof) + "\r\n", 0ms, "");
  expectPoliciesApplied(r, "/crlf");
  EXPECT_EQ(detected("http", "request-line"), 1);
}

TEST_F(ProtocolDetectionTest, RequestLineSplitAcrossTheTimeoutIsHttpAndNotLoggedAsSilent) {
  auto r = exchange("GE", 400ms, "T /split HTTP/1.1\r\nHost: a\r\n" + std::string(kSpoof) + "\r\n");
  expectPoliciesApplied(r, "/split");
  EXPECT_EQ(detected("http", "partial-at-timeout"), 1);
  EXPECT_EQ(detected("tcp", "silent"), 0);
  EXPECT_EQ(sidecar_.stat("remora_protocol_detect_timeout_total{listener=\"main\"}"), 0);
  EXPECT_EQ(readFile(sidecar_.stderr_file).find("no client bytes"), std::string::npos)
      << readFile(sidecar_.stderr_file);
}

TEST_F(ProtocolDetectionTest, UnknownTokenMethodIsHandledAsHttpNotTunnelled) {
  HttpClient c(sidecar_.main(), 5s);
  ASSERT_TRUE(c.sendRaw("FOO /foo HTTP/1.1\r\nHost: a\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_NE(r.value().status, 0);
  EXPECT_EQ(detected("http", "request-line"), 1);
  EXPECT_EQ(sidecar_.stat("remora_tcp_cx_total{listener=\"main\"}"), 0);
}

TEST_F(ProtocolDetectionTest, BytesThatCannotBeARequestLineGoToTcp) {
  for (std::string msg : {std::string("PING\r\n"), std::string("\x16\x03\x01\x00\x05hello", 10)}) {
    HttpClient c(sidecar_.main(), 5s);
    ASSERT_TRUE(c.sendRaw(msg).isOk());
    auto back = c.readExactly(msg.size());
    ASSERT_TRUE(back.isOk()) << back.status().message();
    EXPECT_TRUE(back.value() == msg);
  }
  EXPECT_TRUE(eventually([&] { return detected("tcp", "not-request-line") == 2; }, 2s))
      << sidecar_.adminGet("/stats");
  EXPECT_EQ(detected("http", "request-line"), 0);
  std::string log = readFile(sidecar_.stderr_file);
  EXPECT_NE(log.find("cannot begin a request line"), std::string::npos) << log;
}

}  // namespace
}  // namespace remora::test
