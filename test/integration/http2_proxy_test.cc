// HTTP/2 through real sidecars, with clients nobody here wrote (curl, nghttp, h2load): h2c with
// prior knowledge downstream, HTTP/2 to a cluster upstream, and every pair of protocols.
//
// Two sidecars: `front` takes the clients; its clusters reach `back` (another sidecar, in
// front of remora-echo) over HTTP/2, over HTTP/1 or over what the client spoke, and reach the
// echo directly over HTTP/1. back's access log tells which protocol arrived there.

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

class Http2ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_ = programPath("curl");
    if (curl_.empty()) {
      GTEST_SKIP() << "curl is not installed";
    }
    app_ = Echo::start(dir_, "app");
    ASSERT_FALSE(app_.address.empty());
    back_ = Sidecar::quick(back_dir_, {app_.address});
    ASSERT_FALSE(back_.admin.empty()) << readFile(back_.stderr_file);
    std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- name: main
  address: 127.0.0.1:0
  route_config: r
static_resources:
  clusters:
  - {name: h1, endpoints: [{address: )" +
                       app_.address +
                       R"(}]}
  - {name: h2, protocol: HTTP2, endpoints: [{address: )" +
                       back_.main() +
                       R"(}]}
  - {name: down, protocol: USE_DOWNSTREAM, endpoints: [{address: )" +
                       back_.main() +
                       R"(}]}
  - name: h2retry
    protocol: HTTP2
    endpoints: [{address: )" +
                       back_.main() +
                       R"(}]
    retry_policy: {num_retries: 2, retry_on: [5xx], backoff: {base_interval: 1ms, max_interval: 2ms}}
  - {name: refused, protocol: HTTP2, connect_timeout: 1s, endpoints: [{address: )" +
                       closedAddress() + R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - {match: {prefix: /h1/}, route: {cluster: h1}}
      - {match: {prefix: /h2/}, route: {cluster: h2}}
      - {match: {path: /echo-body}, route: {cluster: h2}}
      - {match: {prefix: /bytes/}, route: {cluster: h2}}
      - {match: {prefix: /down/}, route: {cluster: down}}
      - {match: {prefix: /retry/}, route: {cluster: h2retry}}
      - {match: {prefix: /refused/}, route: {cluster: refused}}
)";
    front_ = Sidecar::config(dir_, yaml);
    ASSERT_FALSE(front_.admin.empty()) << readFile(front_.stderr_file);
  }

  static std::string closedAddress() { return "127.0.0.1:" + std::to_string(pickFreePort()); }

  // curl with HTTP/2 prior knowledge against the front sidecar; -D - puts the head first.
  RunResult curlH2(const std::vector<std::string>& args, const std::string& path) {
    std::vector<std::string> argv = {curl_, "-sS", "--http2-prior-knowledge", "-D", "-"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("http://" + front_.main() + path);
    return runToExit(dir_, "curl" + std::to_string(++runs_), argv, 20s);
  }

  // The access log line of `request` ("GET /x HTTP/2") in `sidecar`'s stdout appears.
  static bool logged(const Sidecar& sidecar, const std::string& request) {
    return eventually(
        [&] {
          return readFile(sidecar.stdout_file).find("\"" + request + "\"") != std::string::npos;
        },
        3s);
  }

  TempDir dir_;
  TempDir back_dir_;  // (each sidecar's files are named after the binary)
  std::string curl_;
  Echo app_;
  Sidecar back_;
  Sidecar front_;
  int runs_ = 0;
};

TEST_F(Http2ProxyTest, Http2ClientToHttp1UpstreamCarriesBodyAndHeaders) {
  RunResult r = curlH2({"-H", "x-test: h2", "--data-binary", "hello over h2"}, "/h1/post");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HTTP/2 200", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"x-test\":\"h2\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"body_bytes\":13"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"method\":\"POST\""), std::string::npos) << r.out;
  EXPECT_TRUE(logged(front_, "POST /h1/post HTTP/2")) << readFile(front_.stdout_file);
}

TEST_F(Http2ProxyTest, Http1ClientToHttp2UpstreamIsRestoredToHttp1AtTheFarSide) {
  auto r = HttpClient::fetch(front_.main(), "POST", "/h2/one", {{"Host", "svc"}}, "abc");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200) << r.value().body;
  EXPECT_NE(r.value().body.find("\"body_bytes\":3"), std::string::npos) << r.value().body;
  EXPECT_NE(r.value().body.find("\"host\":\"svc\""), std::string::npos) << r.value().body;
  EXPECT_TRUE(logged(back_, "POST /h2/one HTTP/2")) << readFile(back_.stdout_file);
  EXPECT_TRUE(logged(front_, "POST /h2/one HTTP/1.1")) << readFile(front_.stdout_file);
}

TEST_F(Http2ProxyTest, ConcurrentHttp1RequestsShareOneHttp2Connection) {
  constexpr int kClients = 12;
  std::vector<std::thread> threads;
  std::vector<int> statuses(kClients, 0);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto r = HttpClient::fetch(front_.main(), "GET", "/h2/slow/" + std::to_string(i),
                                 {{"x-echo-delay-ms", "300"}}, {}, 10s);
      statuses[static_cast<size_t>(i)] = r.isOk() ? r.value().status : -1;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(statuses[static_cast<size_t>(i)], 200) << "client " << i;
  }
  // All of them were in flight at once, on one multiplexed connection to the other sidecar.
  EXPECT_EQ(front_.stat("remora_upstream_cx_total{cluster=\"h2\"}"), 1);
  EXPECT_EQ(back_.stat("remora_downstream_cx_total{listener=\"main\"}"), 1);
  EXPECT_EQ(back_.stat("remora_downstream_cx_active{listener=\"main\",protocol=\"http2\"}"), 1);
  EXPECT_EQ(back_.stat("remora_downstream_cx_active{listener=\"main\",protocol=\"http1\"}"), 0);
  EXPECT_EQ(front_.stat("remora_upstream_rq_total{cluster=\"h2\",code_class=\"2xx\"}"), kClients);
}

TEST_F(Http2ProxyTest, Http2ToHttp2ManyStreamsWithH2load) {
  std::string h2load = programPath("h2load");
  if (h2load.empty()) {
    GTEST_SKIP() << "h2load is not installed (nghttp2-client)";
  }
  RunResult r = runToExit(
      dir_, "h2load",
      {h2load, "-n", "400", "-c", "2", "-m", "20", "http://" + front_.main() + "/h2/load"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("status codes: 400 2xx"), std::string::npos) << r.out;
  EXPECT_EQ(front_.stat("remora_upstream_rq_total{cluster=\"h2\",code_class=\"2xx\"}"), 400);
  EXPECT_EQ(front_.stat("remora_downstream_cx_total{listener=\"main\"}"), 2);
}

TEST_F(Http2ProxyTest, NghttpMultiplexesRequestsOnOneConnection) {
  std::string nghttp = programPath("nghttp");
  if (nghttp.empty()) {
    GTEST_SKIP() << "nghttp is not installed (nghttp2-client)";
  }
  std::vector<std::string> argv = {nghttp, "-n", "--stat"};
  for (int i = 0; i < 8; ++i) {
    argv.push_back("http://" + front_.main() + "/h1/n" + std::to_string(i));
  }
  RunResult r = runToExit(dir_, "nghttp", argv, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(logged(front_, "GET /h1/n" + std::to_string(i) + " HTTP/2"))
        << readFile(front_.stdout_file);
  }
  EXPECT_EQ(front_.stat("remora_downstream_cx_total{listener=\"main\"}"), 1);
}

TEST_F(Http2ProxyTest, UseDownstreamSpeaksWhatTheClientSpoke) {
  auto r1 = HttpClient::fetch(front_.main(), "GET", "/down/h1");
  ASSERT_TRUE(r1.isOk()) << r1.status().message();
  EXPECT_EQ(r1.value().status, 200);
  RunResult r2 = curlH2({}, "/down/h2");
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(r2.out.rfind("HTTP/2 200", 0), 0u) << r2.out;
  EXPECT_TRUE(logged(back_, "GET /down/h1 HTTP/1.1")) << readFile(back_.stdout_file);
  EXPECT_TRUE(logged(back_, "GET /down/h2 HTTP/2")) << readFile(back_.stdout_file);
}

TEST_F(Http2ProxyTest, LargeBodiesBothWaysKeepEveryByte) {
  // 3 MiB up and 5 MiB down cross both sidecars' flow control (stream windows of 256 KiB),
  // front's HTTP/2 on both sides.
  std::string body = randomBytes(3 * 1024 * 1024, 7);
  std::string file = dir_.write("body.bin", body);
  RunResult up = curlH2({"--data-binary", "@" + file, "-o", dir_.file("echoed.bin")}, "/echo-body");
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out.rfind("HTTP/2 200", 0), 0u) << up.out;
  EXPECT_TRUE(readFile(dir_.file("echoed.bin")) == body);
  RunResult down = curlH2({"-o", dir_.file("bytes.bin")}, "/bytes/5242880");
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(readFile(dir_.file("bytes.bin")).size(), 5u * 1024 * 1024);
}

TEST_F(Http2ProxyTest, RetriesOverHttp2AreNewStreamsOnTheSameConnection) {
  auto r = HttpClient::fetch(front_.main(), "GET", "/retry/x", {{"x-echo-status", "503"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 503);
  EXPECT_EQ(front_.stat("remora_upstream_rq_retry_total{cluster=\"h2retry\"}"), 2);
  EXPECT_EQ(front_.stat("remora_upstream_cx_total{cluster=\"h2retry\"}"), 1);
  EXPECT_TRUE(eventually(
      [&] {
        return back_.stat("remora_downstream_rq_total{listener=\"main\",code_class=\"5xx\"}") == 3;
      },
      3s));
}

TEST_F(Http2ProxyTest, RefusedHttp2UpstreamIsAConnectFailure) {
  RunResult r = curlH2({}, "/refused/x");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("HTTP/2 502", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("x-remora-reason: connect-failure"), std::string::npos) << r.out;
  EXPECT_EQ(front_.stat("remora_upstream_cx_connect_fail_total{cluster=\"refused\"}"), 1);
}

}  // namespace
}  // namespace remora::test
