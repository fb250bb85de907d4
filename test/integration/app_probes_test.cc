// The app's probes that injection rewrites to the sidecar's health listener
// (GET /app-health/<container>/<kind>): a real remora-sidecar runs them against a real
// remora-echo on 127.0.0.1 and answers kubelet with 200 or 503.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

class AppProbesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
    const std::string app = std::to_string(portOf(echo_.address));
    closed_ = std::to_string(pickFreePort());
    ASSERT_TRUE(connectRefused("127.0.0.1:" + closed_));
    const std::string probes =
        R"({"/app-health/web/readyz":{"httpGet":{"path":"/ready","port":)" + app + R"(}},)" +
        R"("/app-health/web/livez":{"httpGet":{"path":"/live","port":)" + app +
        R"(,"httpHeaders":[{"name":"x-echo-status","value":"500"}]}},)" +
        R"("/app-health/web/startupz":{"tcpSocket":{"port":)" + app + R"(}},)" +
        R"("/app-health/gone/readyz":{"httpGet":{"path":"/","port":)" + closed_ + R"(}},)" +
        R"("/app-health/gone/livez":{"tcpSocket":{"port":)" + closed_ + R"(}},)" +
        R"("/app-health/slow/livez":{"httpGet":{"path":"/slow","port":)" + app +
        R"(,"httpHeaders":[{"name":"x-echo-delay-ms","value":"5000"}]},"timeoutSeconds":1}})";
    const uint16_t port = pickFreePort();
    ASSERT_NE(port, 0);
    health_ = "127.0.0.1:" + std::to_string(port);
    sidecar_ = Sidecar::quick(dir_, {echo_.address},
                              {"--access-log", "off", "--health", health_, "--app-probes", probes});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  HttpClient::Response probe(const std::string& path) {
    auto r = HttpClient::fetch(health_, "GET", path, {}, {}, 5s);
    EXPECT_TRUE(r.isOk()) << path << ": " << r.status().message();
    return r.isOk() ? r.value() : HttpClient::Response{};
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
  std::string health_;
  std::string closed_;
};

TEST_F(AppProbesTest, HttpProbeIs200WhenTheAppAnswers2xxAnd503WhenItAnswers500) {
  auto ok = probe("/app-health/web/readyz");
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto failing = probe("/app-health/web/livez");
  EXPECT_EQ(failing.status, 503);
  EXPECT_EQ(failing.body, "app probe failed: status 500\n");
}

TEST_F(AppProbesTest, ClosedAppPortIs503ForHttpAndTcpProbes) {
  for (const char* path : {"/app-health/gone/readyz", "/app-health/gone/livez"}) {
    auto r = probe(path);
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_NE(r.body.find("connect failure"), std::string::npos) << path << ": " << r.body;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
  }
}

TEST_F(AppProbesTest, TcpProbeIs200WhenTheAppPortAccepts) {
  auto r = probe("/app-health/web/startupz");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AppProbesTest, UnknownAppHealthPathIs404) {
  for (const char* path : {"/app-health/web/other", "/app-health/", "/app-health/nope/readyz"}) {
    EXPECT_EQ(probe(path).status, 404) << path;
  }
  EXPECT_EQ(probe("/healthz/ready").status, 200);
}

TEST_F(AppProbesTest, SlowAppIs503AfterTheProbeTimeoutWithoutBlockingOtherProbes) {
  HttpClient slow(health_, 5s);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow.send("GET", "/app-health/slow/livez").isOk());
  // While the slow probe waits on the app, the listener keeps answering.
  auto ready = probe("/healthz/ready");
  EXPECT_EQ(ready.status, 200);
  auto other = probe("/app-health/web/readyz");
  EXPECT_EQ(other.status, 200);
  EXPECT_LT(msSince(start), 800) << "other probes waited for the slow one";
  auto r = slow.readResponse();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const long long took = msSince(start);
  EXPECT_EQ(r.value().status, 503);
  EXPECT_EQ(r.value().body, "app probe failed: timeout after 1000ms\n");
  EXPECT_GE(took, 950);
  EXPECT_LT(took, 2500);
}

TEST(AppProbesConfigTest, BadAppProbesValueStopsTheSidecarWithAnErrorNamingTheVariable) {
  TempDir dir;
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "not valid JSON"},
      {R"({"/healthz/x":{"tcpSocket":{"port":80}}})", "paths start with /app-health/"},
      {R"({"/app-health/a/livez":{"tcpSocket":{"port":0}}})", "port wants"},
      {R"({"/app-health/a/livez":{"exec":{}}})", "exactly one of httpGet and tcpSocket"},
      {R"({"/app-health/a/livez":{"httpGet":{"port":80,"httpHeaders":[{"name":"a","value":"b\r\nc: d"}]}}})",
       "httpHeaders wants"},
  };
  for (const auto& [value, want] : cases) {
    RunResult r = runToExit(dir, "bad",
                            {sidecarBin(), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9",
                             "--admin", "127.0.0.1:0", "--app-probes", value});
    EXPECT_EQ(r.exit_code, 2) << value << ": " << r.err;
    EXPECT_NE(r.err.find("REMORA_APP_PROBES"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << value << ": " << r.err;
  }
}

}  // namespace
}  // namespace remora::test
