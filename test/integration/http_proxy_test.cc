// HTTP/1 behaviour through a real remora-sidecar in front of real remora-echo backends.

#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.h"
#include "support/process.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

std::string pattern(uint64_t offset, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>(((offset + i) * 31 + 7) & 0xff);
  }
  return out;
}

// One sidecar in quick mode in front of two echo backends.
class HttpProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Echo::start(dir_, "echo-a");
    b_ = Echo::start(dir_, "echo-b");
    ASSERT_FALSE(a_.address.empty());
    ASSERT_FALSE(b_.address.empty());
    sidecar_ = Sidecar::quick(dir_, {a_.address, b_.address}, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  HttpClient client() { return HttpClient(sidecar_.main()); }

  TempDir dir_;
  Echo a_;
  Echo b_;
  Sidecar sidecar_;
};

TEST_F(HttpProxyTest, KeepAliveConnectionCarriesManyRequestsRoundRobin) {
  HttpClient c = client();
  std::map<std::string, int> by_backend;
  int fd = -1;
  for (int i = 0; i < 10; ++i) {
    auto r = c.get("/hello");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().status, 200);
    EXPECT_TRUE(r.value().keep_alive);
    by_backend[std::string(r.value().header("x-echo-id"))]++;
    if (i == 0) {
      fd = c.fd();
    }
    EXPECT_EQ(c.fd(), fd) << "the client connection must be reused";
  }
  EXPECT_EQ(by_backend["echo-a"], 5);
  EXPECT_EQ(by_backend["echo-b"], 5);
}

// Over 128 connections on a listener, a connection that goes idle gives its request buffers to
// a per-thread spare list and the next request on any connection takes them (docs/architecture.md
// "Memory"): every request must still reach the upstream with its own path and headers, in
// rounds where each connection's buffers were given away in between.
TEST_F(HttpProxyTest, ManyIdleKeepAliveConnectionsKeepEachRequestIntactAcrossRounds) {
  constexpr int kConns = 160;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(std::make_unique<HttpClient>(sidecar_.main()));
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kConns; ++i) {
      const std::string tag = std::to_string(i) + "-" + std::to_string(round);
      auto r = clients[i]->get("/conn-" + tag,
                               {{"x-conn-tag", "tag-" + tag + "-" + std::string(40, 'v')}});
      ASSERT_TRUE(r.isOk()) << tag << ": " << r.status().message();
      ASSERT_EQ(r.value().status, 200) << tag;
      EXPECT_NE(r.value().body.find("\"/conn-" + tag + "\""), std::string::npos) << r.value().body;
      EXPECT_NE(r.value().body.find("tag-" + tag + "-"), std::string::npos) << r.value().body;
      EXPECT_TRUE(r.value().keep_alive) << tag;
    }
  }
  for (auto& c : clients) {
    EXPECT_GE(c->fd(), 0) << "every connection stayed open";
  }
}

TEST_F(HttpProxyTest, TenMiBBodiesStreamEachWayByteForByte) {
  HttpClient c(sidecar_.main(), 30s);
  std::string body = pattern(12345, 10 * 1024 * 1024);
  auto up = c.post("/echo-body", body);
  ASSERT_TRUE(up.isOk()) << up.status().message();
  EXPECT_EQ(up.value().status, 200);
  ASSERT_EQ(up.value().body.size(), body.size());
  EXPECT_TRUE(up.value().body == body);

  auto down = c.get("/bytes/10485760");
  ASSERT_TRUE(down.isOk()) << down.status().message();
  ASSERT_EQ(down.value().body.size(), 10485760u);
  EXPECT_TRUE(down.value().body == pattern(0, 10485760));
}

TEST_F(HttpProxyTest, ChunkedRequestBodyIsForwardedIntact) {
  HttpClient c = client();
  std::string req =
      "POST /echo-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=y\r\n \r\n5\r\nworld\r\n0\r\n\r\n";
  ASSERT_TRUE(c.sendRaw(req).isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "hello world");
}

TEST_F(HttpProxyTest, ChunkedResponseStaysChunkedForHttp11AndIsCloseDelimitedForHttp10) {
  HttpClient c = client();
  auto r = c.get("/bytes/70000", {{"x-echo-chunked", "1"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r.value().chunked);
  EXPECT_EQ(r.value().body, pattern(0, 70000));

  HttpClient old = client();
  ASSERT_TRUE(old.sendRaw("GET /bytes/5000 HTTP/1.0\r\nx-echo-chunked: 1\r\n\r\n").isOk());
  auto all = old.readUntilClose();
  ASSERT_TRUE(all.isOk());
  const std::string& raw = all.value();
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(raw.find("transfer-encoding"), std::string::npos);
  size_t body_at = raw.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_EQ(raw.substr(body_at + 4), pattern(0, 5000));
}

TEST_F(HttpProxyTest, HeadGetsHeadersAndNoBody) {
  HttpClient c = client();
  auto r = c.head("/bytes/1000");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().header("content-length"), "1000");
  EXPECT_TRUE(r.value().body.empty());
  // The connection is still in sync: the next answer is the right one.
  auto next = c.get("/bytes/3");
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ(next.value().body, pattern(0, 3));
}

TEST_F(HttpProxyTest, ExpectContinueIsRelayedBeforeTheBody) {
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("POST /echo-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n")
                  .isOk());
  auto interim = c.readRaw();
  ASSERT_TRUE(interim.isOk());
  EXPECT_EQ(interim.value().rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim.value();
  ASSERT_TRUE(c.sendRaw("abcde").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "abcde");
}

TEST_F(HttpProxyTest, ConnectionCloseFromClientClosesAfterTheResponse) {
  HttpClient c = client();
  auto r = c.get("/", {{"Connection", "close"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(2s));
}

TEST_F(HttpProxyTest, Http10KeepAliveIsHonoured) {
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().header("connection"), "keep-alive");
  ASSERT_TRUE(c.sendRaw("GET /b HTTP/1.0\r\n\r\n").isOk());
  auto r2 = c.readResponseRaw();
  ASSERT_TRUE(r2.isOk());
  EXPECT_NE(r2.value().body.find("\"path\":\"/b\""), std::string::npos) << r2.value().body;
  EXPECT_TRUE(c.waitForClose(2s));
}

TEST_F(HttpProxyTest, HopByHopHeadersAreNotForwarded) {
  HttpClient c = client();
  auto r = c.get("/", {{"Connection", "keep-alive, X-Private"},
                       {"X-Private", "secret"},
                       {"Keep-Alive", "timeout=5"},
                       {"Proxy-Connection", "keep-alive"},
                       {"TE", "trailers"},
                       {"X-Kept", "yes"}});
  ASSERT_TRUE(r.isOk());
  const std::string& seen = r.value().body;  // echo's JSON of what it received
  EXPECT_EQ(seen.find("x-private"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("keep-alive\":"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("proxy-connection"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("\"te\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"x-kept\":\"yes\""), std::string::npos) << seen;
}

TEST_F(HttpProxyTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpClient c = client();
  // The first is the slowest: answers must still come back in request order.
  std::string reqs =
      "GET /1 HTTP/1.1\r\nHost: x\r\nx-echo-delay-ms: 200\r\n\r\n"
      "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nx-echo-delay-ms: 50\r\n\r\nabc";
  ASSERT_TRUE(c.sendRaw(reqs).isOk());
  for (const char* path : {"/1", "/2", "/3"}) {
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << path << ": " << r.status().message();
    EXPECT_NE(r.value().body.find(std::string("\"path\":\"") + path + "\""), std::string::npos)
        << path << " got " << r.value().body;
  }
}

TEST_F(HttpProxyTest, RequestIdIsAddedWhenAbsentAndTraceparentPassesThrough) {
  HttpClient c = client();
  auto r = c.get("/", {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  ASSERT_TRUE(r.isOk());
  const std::string& seen = r.value().body;
  EXPECT_NE(seen.find("\"x-request-id\":\""), std::string::npos) << seen;
  EXPECT_NE(
      seen.find("\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\""),
      std::string::npos)
      << seen;
  auto kept = c.get("/", {{"X-Request-Id", "my-id-123"}});
  ASSERT_TRUE(kept.isOk());
  EXPECT_NE(kept.value().body.find("\"x-request-id\":\"my-id-123\""), std::string::npos);
}

TEST_F(HttpProxyTest, InboundAppendsForwardedForAndSetsForwardedProto) {
  HttpClient c = client();
  auto r = c.get("/", {{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Proto", "spoofed"}});
  ASSERT_TRUE(r.isOk());
  const std::string& seen = r.value().body;
  EXPECT_NE(seen.find("\"x-forwarded-for\":\"203.0.113.9, 127.0.0.1\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"x-forwarded-proto\":\"http\""), std::string::npos) << seen;
}

// ---- malformed requests --------------------------------------------------------------------

struct BadCase {
  const char* name;
  std::string bytes;
  int status;
  const char* reason;
};

TEST_F(HttpProxyTest, MalformedRequestsGet4xxAndTheProxyKeepsServing) {
  std::vector<BadCase> cases = {
      {"bad request line", "NOT HTTP AT ALL\r\n\r\n", 400, "bad-request"},
      {"bad version", "GET / HTTP/7.7\r\nHost: x\r\n\r\n", 400, "bad-request"},
      {"CL and TE",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, "bad-request"},
      {"two CLs", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       400, "bad-request"},
      {"bad chunk size",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nabc\r\n0\r\n\r\n",
       400, "bad-request"},
      {"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", 400,
       "bad-request"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n", 400, "bad-request"},
      {"no host on 1.1", "GET / HTTP/1.1\r\n\r\n", 400, "bad-request"},
      {"header over 60 KiB",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n", 431,
       "header-too-large"},
  };
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 101; ++i) {
    many += "X-H" + std::to_string(i) + ": v\r\n";
  }
  cases.push_back({"101 headers", many + "\r\n", 431, "header-too-large"});

  for (const BadCase& bc : cases) {
    HttpClient c = client();
    ASSERT_TRUE(c.sendRaw(bc.bytes).isOk()) << bc.name;
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << bc.name << ": " << r.status().message();
    EXPECT_EQ(r.value().status, bc.status) << bc.name;
    EXPECT_EQ(r.value().header("x-remora-reason"), bc.reason) << bc.name;
    EXPECT_TRUE(c.waitForClose(2s)) << bc.name << ": the connection must be closed";
    // The proxy is unharmed.
    auto ok = HttpClient::fetch(sidecar_.main(), "GET", "/after");
    ASSERT_TRUE(ok.isOk()) << bc.name;
    EXPECT_EQ(ok.value().status, 200) << bc.name;
  }
  EXPECT_TRUE(sidecar_.process.running());
}

// ---- upstream failures ------------------------------------------------------------------

TEST_F(HttpProxyTest, UpstreamResetGives502UpstreamReset) {
  HttpClient c = client();
  auto r = c.get("/", {{"x-echo-reset", "1"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 502);
  EXPECT_EQ(r.value().header("x-remora-reason"), "upstream-reset");
  // The client connection survives a failed upstream exchange.
  auto next = c.get("/");
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ(next.value().status, 200);
}

TEST_F(HttpProxyTest, UpstreamStatusCodesPassThroughUntouched) {
  HttpClient c = client();
  auto r = c.get("/", {{"x-echo-status", "503"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 503);
  EXPECT_FALSE(r.value().hasHeader("x-remora-reason"));
}

TEST(HttpProxyFailureTest, RefusedUpstreamGives502ConnectFailure) {
  TempDir dir;
  // A port nobody listens on: bind, read the port, close.
  Echo gone = Echo::start(dir, "gone");
  std::string addr = gone.address;
  gone.process.stop();
  Sidecar s = Sidecar::quick(dir, {addr}, {"--access-log", "off"});
  ASSERT_FALSE(s.admin.empty());
  auto r = HttpClient::fetch(s.main(), "GET", "/");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 502);
  EXPECT_EQ(r.value().header("x-remora-reason"), "connect-failure");
  EXPECT_EQ(s.stat("remora_upstream_cx_connect_fail_total{cluster=\"upstream\"}"), 1);
}

TEST(HttpProxyFailureTest, SlowUpstreamGives504UpstreamTimeout) {
  TempDir dir;
  Echo e = Echo::start(dir, "slow");
  std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- {name: main, address: 127.0.0.1:0, direction: INBOUND, route_config: r}
static_resources:
  clusters:
  - {name: slow, endpoints: [{address: )" +
                     e.address + R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - {match: {prefix: /}, route: {cluster: slow, timeout: 200ms}}
)";
  Sidecar s = Sidecar::config(dir, yaml, {"--access-log", "off"});
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
  auto start = std::chrono::steady_clock::now();
  auto r = HttpClient::fetch(s.main(), "GET", "/", {{"x-echo-delay-ms", "3000"}});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 504);
  EXPECT_EQ(r.value().header("x-remora-reason"), "upstream-timeout");
  EXPECT_LT(took, 2s);
  EXPECT_EQ(s.stat("remora_upstream_rq_timeout_total{cluster=\"slow\"}"), 1);
}

// ---- the keep-alive race ------------------------------------------------------------------

TEST(KeepAliveRaceTest, ReusedConnectionClosedByUpstreamIsReplayedOnAFreshOne) {
  TempDir dir;
  // Closes any connection on its second request without answering: exactly what a proxy sees
  // when the upstream closed an idle keep-alive connection just as it was reused.
  Echo e = Echo::start(dir, "closer", {"--close-on-reuse"});
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  ASSERT_FALSE(s.admin.empty());
  HttpClient c(s.main());
  for (int i = 0; i < 20; ++i) {
    auto r = c.get("/n" + std::to_string(i));
    ASSERT_TRUE(r.isOk()) << i << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 200) << i << " " << r.value().header("x-remora-reason");
    // Idempotent requests with a body are replayed too, body included.
    auto p = c.request("PUT", "/echo-body", {}, std::string(1000, 'p'));
    ASSERT_TRUE(p.isOk());
    EXPECT_EQ(p.value().status, 200);
    EXPECT_EQ(p.value().body, std::string(1000, 'p'));
  }
  std::string trail = s.adminGet("/requests?limit=5");
  EXPECT_NE(trail.find("replaying once"), std::string::npos) << trail;
}

TEST(KeepAliveRaceTest, NonIdempotentRequestsAreNotReplayed) {
  TempDir dir;
  Echo e = Echo::start(dir, "closer", {"--close-on-reuse"});
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  HttpClient c(s.main());
  ASSERT_TRUE(c.get("/warm").isOk());  // leaves one pooled connection
  // The upstream may have acted on a POST before closing: it must not run twice.
  auto post = c.post("/echo-body", "once");
  ASSERT_TRUE(post.isOk());
  EXPECT_EQ(post.value().status, 502);
  EXPECT_EQ(post.value().header("x-remora-reason"), "upstream-reset");
}

TEST(KeepAliveRaceTest, BodiesBeyondTheReplayBufferAreNotReplayed) {
  TempDir dir;
  Echo e = Echo::start(dir, "closer", {"--close-on-reuse"});
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  HttpClient c(s.main());
  ASSERT_TRUE(c.get("/warm").isOk());  // leaves one pooled connection
  auto big = c.request("PUT", "/echo-body", {}, std::string(200 * 1024, 'b'));
  ASSERT_TRUE(big.isOk());
  EXPECT_EQ(big.value().status, 502);
  EXPECT_EQ(big.value().header("x-remora-reason"), "upstream-reset");
  auto small = c.request("PUT", "/echo-body", {}, std::string(10 * 1024, 's'));
  ASSERT_TRUE(small.isOk());
  EXPECT_EQ(small.value().status, 200);
}

TEST(PipelineTest, PipelinedRequestsOnOneUpstreamAllGetTheirOwnResponses) {
  // One endpoint: the pooled connection that just answered request N is the one request N+1
  // wants, taken while its response callback is still running.
  TempDir dir;
  Echo e = Echo::start(dir, "one");
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  for (int round = 0; round < 20; ++round) {
    HttpClient c(s.main());
    std::string reqs;
    for (int i = 0; i < 8; ++i) {
      reqs += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    ASSERT_TRUE(c.sendRaw(reqs).isOk());
    for (int i = 0; i < 8; ++i) {
      auto r = c.readResponseRaw();
      ASSERT_TRUE(r.isOk()) << round << "/" << i << ": " << r.status().message();
      EXPECT_NE(r.value().body.find("\"path\":\"/p" + std::to_string(i) + "\""), std::string::npos)
          << r.value().body;
    }
  }
}

TEST(HttpEdgeTest, DuplicateHostIsRejected) {
  TempDir dir;
  Echo e = Echo::start(dir, "one");
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 400);
  EXPECT_EQ(r.value().header("x-remora-reason"), "bad-request");
}

TEST(HttpEdgeTest, Http10WithoutHostReachesTheUpstreamWithOne) {
  TempDir dir;
  Echo e = Echo::start(dir, "one");
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /old HTTP/1.0\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_NE(r.value().body.find("\"host\":\"" + e.address + "\""), std::string::npos)
      << r.value().body;
}

TEST(HttpEdgeTest, SlowReaderOfPipelinedResponsesKeepsProxyMemoryBounded) {
  // Many pipelined requests for big responses, never read: the proxy must stop reading its
  // upstreams instead of buffering every response (the watermark state crosses streams).
  TempDir dir;
  Echo e = Echo::start(dir, "big");
  Sidecar s = Sidecar::quick(dir, {e.address}, {"--access-log", "off"});
  HttpClient c(s.main(), 20s);
  ASSERT_TRUE(c.get("/warm").isOk());
  long base = s.process.rssKb();
  std::string reqs;
  for (int i = 0; i < 40; ++i) {
    reqs += "GET /bytes/1048576 HTTP/1.1\r\nHost: x\r\n\r\n";  // 40 MiB in all
  }
  ASSERT_TRUE(c.sendRaw(reqs).isOk());
  auto deadline = std::chrono::steady_clock::now() + 1500ms;
  long peak = base;
  while (std::chrono::steady_clock::now() < deadline) {
    peak = std::max(peak, s.process.rssKb());
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_LT(peak - base, 16 * 1024) << "RSS grew from " << base << " KiB to " << peak << " KiB";
  for (int i = 0; i < 40; ++i) {
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << i << ": " << r.status().message();
    ASSERT_EQ(r.value().body.size(), 1048576u);
  }
}

// ---- routing ---------------------------------------------------------------------------

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    orders_ = Echo::start(dir_, "orders");
    catalog_ = Echo::start(dir_, "catalog");
    std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 2
listeners:
- {name: outbound, address: 127.0.0.1:0, direction: OUTBOUND, route_config: out}
static_resources:
  clusters:
  - {name: orders, endpoints: [{address: )" +
                       orders_.address + R"(}]}
  - {name: catalog, endpoints: [{address: )" +
                       catalog_.address + R"(}]}
  routes:
  - name: out
    virtual_hosts:
    - name: orders
      domains: [orders, "orders:8080", orders.shop.svc.cluster.local]
      routes:
      - {name: orders-post, match: {prefix: /, methods: [POST]}, route: {cluster: catalog}}
      - {name: orders-canary, match: {prefix: /, headers: [{name: x-canary, exact: "1"}]}, route: {cluster: catalog}}
      - {name: orders-items, match: {regex: "/items/[0-9]+"}, route: {cluster: catalog}}
      - {name: orders-all, match: {prefix: /}, route: {cluster: orders}}
)";
    sidecar_ = Sidecar::config(dir_, yaml, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  std::string who(const HttpClient::Response& r) { return std::string(r.header("x-echo-id")); }

  TempDir dir_;
  Echo orders_;
  Echo catalog_;
  Sidecar sidecar_;
};

TEST_F(RoutingTest, HostPathMethodAndHeaderSelectTheCluster) {
  HttpClient c(sidecar_.listeners.at("outbound"));
  auto r = c.get("/x", {{"Host", "orders:8080"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(who(r.value()), "orders");
  r = c.get("/x", {{"Host", "ORDERS.shop.svc.cluster.local"}});
  EXPECT_EQ(who(r.value()), "orders");
  r = c.post("/x", "b", {{"Host", "orders"}});
  EXPECT_EQ(who(r.value()), "catalog");
  r = c.get("/x", {{"Host", "orders"}, {"x-canary", "1"}});
  EXPECT_EQ(who(r.value()), "catalog");
  r = c.get("/items/42", {{"Host", "orders"}});
  EXPECT_EQ(who(r.value()), "catalog");
  r = c.get("/items/4x2", {{"Host", "orders"}});
  EXPECT_EQ(who(r.value()), "orders");
}

TEST_F(RoutingTest, AbsoluteFormRequestsRouteByTheirAuthority) {
  // What `curl -x 127.0.0.1:15001 http://orders:8080/x` sends.
  HttpClient c(sidecar_.listeners.at("outbound"));
  ASSERT_TRUE(
      c.sendRaw("GET http://orders:8080/path?q=1 HTTP/1.1\r\nHost: orders:8080\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(who(r.value()), "orders");
  EXPECT_NE(r.value().body.find("\"path\":\"/path\""), std::string::npos) << r.value().body;
}

TEST_F(RoutingTest, UnknownHostGets404NoRoute) {
  HttpClient c(sidecar_.listeners.at("outbound"));
  auto r = c.get("/", {{"Host", "payments"}});
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 404);
  EXPECT_EQ(r.value().header("x-remora-reason"), "no-route");
  // A local answer to a body-less request keeps the connection.
  auto again = c.get("/", {{"Host", "orders"}});
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again.value().status, 200);
  std::string reqs = sidecar_.adminGet("/requests?limit=2");
  EXPECT_NE(reqs.find("no route for authority 'payments'"), std::string::npos) << reqs;
}

}  // namespace
}  // namespace remora::test
