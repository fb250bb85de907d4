// The HTTP cases of the proxy over every pair of downstream and upstream protocols (h1->h1,
// h1->h2, h2->h1, h2->h2): one real sidecar per test in front of in-process fake upstreams the
// test scripts (support/fake_upstream.h), and a client speaking HTTP/1.1 or h2c prior knowledge
// (support/downstream_client.h). One case body runs for the four pairs; where the protocols
// must differ (trailers on a length-delimited response, how a reset mid-response shows), the
// case asserts each protocol's own behaviour.

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "support/downstream_client.h"
#include "support/fake_upstream.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;
using http::Protocol;

struct Pair {
  Protocol down;
  Protocol up;
};

std::string pairName(const Pair& pair) {
  auto name = [](Protocol p) { return p == Protocol::kHttp2 ? "H2" : "H1"; };
  return std::string(name(pair.down)) + "To" + name(pair.up);
}
std::string pairName(const ::testing::TestParamInfo<Pair>& info) {
  return pairName(info.param);
}
// For GoogleTest's messages ("GetParam() = H1ToH2").
void PrintTo(const Pair& pair, std::ostream* os) {
  *os << pairName(pair);
}

class ProtocolPairsTest : public ::testing::TestWithParam<Pair> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(app_.start());
    ASSERT_TRUE(canary_.start());
    const std::string proto = up() == Protocol::kHttp2 ? "HTTP2" : "HTTP1";
    const std::string closed = "127.0.0.1:" + std::to_string(pickFreePort());
    const std::string fast_retry = "backoff: {base_interval: 1ms, max_interval: 2ms}";
    auto cluster = [&](const std::string& name, const std::string& endpoints,
                       const std::string& extra = "") {
      return "  - {name: " + name + ", protocol: " + proto + ", connect_timeout: 1s" + extra +
             ", endpoints: [" + endpoints + "]}\n";
    };
    const std::string app = "{address: " + app_.address() + "}";
    std::string yaml =
        "admin: {address: 127.0.0.1:0}\n"
        "concurrency: 1\n"
        "listeners:\n"
        "- {name: main, address: 127.0.0.1:0, route_config: r}\n"
        "static_resources:\n"
        "  clusters:\n" +
        cluster("app", app) + cluster("canary", "{address: " + canary_.address() + "}") +
        cluster("retry", app,
                ", retry_policy: {num_retries: 2, retry_on: [5xx], " + fast_retry + "}") +
        cluster("pertry", app,
                ", retry_policy: {num_retries: 1, retry_on: [5xx], per_try_timeout: 200ms, " +
                    fast_retry + "}") +
        cluster("refused", "{address: " + closed + "}, " + app,
                ", lb_policy: ROUND_ROBIN, retry_policy: {num_retries: 2, "
                "retry_on: [connect-failure], " +
                    fast_retry + "}") +
        cluster("dead", "{address: " + closed + "}") +
        cluster("unhealthy", "{address: " + closed + "}",
                ", load_balancer: {panic_threshold_percent: 0}, health_check: {tcp: {}, "
                "interval: 200ms, timeout: 200ms}") +
        R"(  routes:
  - name: r
    virtual_hosts:
    - name: other
      domains: [other.example]
      routes:
      - {name: other, match: {prefix: /}, route: {cluster: canary}}
    - name: svc
      domains: [svc]
      routes:
      - {name: by-header, match: {prefix: /route, headers: [{name: x-canary, exact: "1"}]}, route: {cluster: canary}}
      - {name: retry, match: {prefix: /retry}, route: {cluster: retry}}
      - {name: pertry, match: {prefix: /pertry}, route: {cluster: pertry}}
      - {name: refused, match: {prefix: /refused}, route: {cluster: refused}}
      - {name: dead, match: {prefix: /dead}, route: {cluster: dead}}
      - {name: timeout, match: {prefix: /timeout}, route: {cluster: app, timeout: 300ms}}
      - {name: unhealthy, match: {prefix: /unhealthy}, route: {cluster: unhealthy}}
      - {name: fault, match: {prefix: /fault}, route: {cluster: app}, fault: {abort: {percent: 100, http_status: 503}}}
      - {name: limited, match: {prefix: /limited}, route: {cluster: app}, rate_limit: {requests_per_unit: 1, unit: HOUR, burst: 1, per_source: false}}
      - name: mutate
        match: {prefix: /mutate}
        route: {cluster: app}
        request_headers: {set: {x-team: checkout}, add: {x-added: one}, remove: [x-secret]}
        response_headers: {set: {x-served-by: remora}, remove: [x-upstream-private]}
      - {name: split, match: {prefix: /split}, route: {weighted_clusters: [{cluster: app, weight: 3}, {cluster: canary, weight: 1}]}}
      - {name: default, match: {prefix: /}, route: {cluster: app}}
)";
    sidecar_ = Sidecar::config(dir_, yaml);
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  // Whatever the case, every request either upstream saw came over the pair's upstream
  // protocol.
  void TearDown() override {
    expectUpstreamProtocol(app_);
    expectUpstreamProtocol(canary_);
  }

  Protocol down() const { return GetParam().down; }
  Protocol up() const { return GetParam().up; }
  bool h2Down() const { return down() == Protocol::kHttp2; }
  bool h2Up() const { return up() == Protocol::kHttp2; }

  DownstreamResponse send(const DownstreamRequest& request,
                          std::chrono::milliseconds timeout = 5s) const {
    return sendRequest(sidecar_.main(), down(), request, timeout);
  }
  static DownstreamRequest get(const std::string& path, Fields headers = {}) {
    DownstreamRequest r;
    r.path = path;
    r.headers = std::move(headers);
    return r;
  }
  void expectUpstreamProtocol(const FakeUpstream& upstream) const {
    for (const ReceivedRequest& r : upstream.requests()) {
      EXPECT_EQ(r.protocol == Protocol::kHttp2, h2Up()) << r.method << " " << r.path;
    }
  }
  // Trailers that follow a content-length body: `name: value` when both hops are HTTP/2, none
  // otherwise.
  void expectTrailerOnlyOverHttp2(const common::HeaderMap& trailers, std::string_view name,
                                  std::string_view value) const {
    if (h2Down() && h2Up()) {
      EXPECT_EQ(trailers.get(name), value);
    } else {
      EXPECT_EQ(trailers.size(), 0u);
    }
  }

  // POSTs `body` (with or without content-length) and the trailer `x-checksum: c1`; the client
  // must get 200. Returns what the upstream received.
  ReceivedRequest postWithTrailer(std::vector<std::string> body, bool content_length) {
    DownstreamRequest post = get("/trailers");
    post.method = "POST";
    post.content_length = content_length;
    post.body = std::move(body);
    post.trailers = {{"x-checksum", "c1"}};
    DownstreamResponse r = send(post);
    EXPECT_TRUE(r.complete && r.status == 200) << r.describe();
    if (!app_.waitForRequests(1, 2s)) {
      ADD_FAILURE() << "no request reached the upstream";
      return {};
    }
    return app_.requests()[0];
  }

  // A local reply: its status and x-remora-reason.
  void expectLocalReply(const DownstreamRequest& request, int status, const std::string& reason) {
    DownstreamResponse r = send(request);
    ASSERT_TRUE(r.complete) << r.describe();
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("x-remora-reason"), reason);
  }

  // The upstream stops after part of a body of unknown length, `how`. The client has the head
  // and that part, then sees its protocol's end of a broken response: HTTP/2 RST_STREAM; HTTP/1
  // the connection closing before the chunked body's last chunk. The next request is answered.
  void expectBrokenResponse(Reply::End how) {
    Reply reply;
    reply.content_length = false;
    reply.body = {"first part"};
    reply.piece_delay_ms = 100;
    reply.end = how;
    app_.enqueue(reply);
    DownstreamResponse r = send(get("/broken"));
    EXPECT_FALSE(r.complete) << r.describe();
    ASSERT_TRUE(r.reset) << r.describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "first part");
    EXPECT_EQ(r.reset_reason, h2Down() ? http::StreamResetReason::kRemoteReset
                                       : http::StreamResetReason::kConnectionTermination)
        << r.describe();
    DownstreamResponse next = send(get("/after"));
    ASSERT_TRUE(next.complete) << next.describe();
    EXPECT_EQ(next.status, 200);
    EXPECT_EQ(next.body, "ok");
  }

  TempDir dir_;
  FakeUpstream app_;
  FakeUpstream canary_;
  Sidecar sidecar_;
};

TEST_P(ProtocolPairsTest, RoutesByHostPathAndHeader) {
  app_.setHandler([](const ReceivedRequest&) { return Reply::ok("app"); });
  canary_.setHandler([](const ReceivedRequest&) { return Reply::ok("canary"); });
  DownstreamResponse by_path = send(get("/route/a"));
  DownstreamResponse by_header = send(get("/route/b", {{"x-canary", "1"}}));
  DownstreamRequest other = get("/route/c");
  other.authority = "other.example";
  DownstreamResponse by_host = send(other);
  ASSERT_TRUE(by_path.complete && by_header.complete && by_host.complete)
      << by_path.describe() << " / " << by_header.describe() << " / " << by_host.describe();
  EXPECT_EQ(by_path.body, "app");
  EXPECT_EQ(by_header.body, "canary");
  EXPECT_EQ(by_host.body, "canary");
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  ASSERT_TRUE(canary_.waitForRequests(2, 2s));
  std::vector<ReceivedRequest> seen = canary_.requests();
  EXPECT_EQ(seen[0].path, "/route/b");
  EXPECT_EQ(seen[1].authority, "other.example");
  EXPECT_EQ(app_.requests()[0].authority, "svc");
  EXPECT_EQ(app_.requests()[0].method, "GET");
}

TEST_P(ProtocolPairsTest, SmallBodiesBothWays) {
  app_.setHandler([](const ReceivedRequest& r) { return Reply::ok("got " + r.body); });
  DownstreamRequest post = get("/echo", {{"content-type", "text/plain"}});
  post.method = "POST";
  post.body = {"hello ", "pairs"};
  DownstreamResponse r = send(post);
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "got hello pairs");
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  ReceivedRequest seen = app_.requests()[0];
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, "hello pairs");
  EXPECT_EQ(seen.header("content-type"), "text/plain");
}

TEST_P(ProtocolPairsTest, OneMebibyteStreamsBothWaysWithoutLosingAByte) {
  constexpr size_t kPiece = 64 * 1024;
  const std::string up_body = randomBytes(16 * kPiece, 11);
  const std::string down_body = randomBytes(16 * kPiece, 12);
  app_.setHandler([&](const ReceivedRequest&) {
    Reply reply;
    reply.content_length = false;  // streamed: chunked over HTTP/1
    for (size_t i = 0; i < 16; ++i) {
      reply.body.push_back(down_body.substr(i * kPiece, kPiece));
    }
    return reply;
  });
  DownstreamRequest upload = get("/upload");
  upload.method = "PUT";
  upload.content_length = false;
  for (size_t i = 0; i < 16; ++i) {
    upload.body.push_back(up_body.substr(i * kPiece, kPiece));
  }
  DownstreamResponse r = send(upload, 15s);
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), down_body.size());
  EXPECT_TRUE(r.body == down_body);
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  EXPECT_EQ(app_.requests()[0].body.size(), up_body.size());
  EXPECT_TRUE(app_.requests()[0].body == up_body);
}

// Request trailers need a body of unknown length on HTTP/1 (chunked); every pair carries them.
TEST_P(ProtocolPairsTest, RequestTrailersReachTheUpstream) {
  ReceivedRequest seen = postWithTrailer({"part one, ", "part two"}, false);
  EXPECT_EQ(seen.body, "part one, part two");
  EXPECT_EQ(seen.trailers.get("x-checksum"), "c1");
}

// Trailers after a request body with content-length: an HTTP/1 client cannot send them (only
// a chunked body has a trailer section) and an HTTP/1 upstream hop cannot carry them, so they
// arrive only when both hops are HTTP/2; the body arrives whole either way.
TEST_P(ProtocolPairsTest, RequestTrailersAfterAContentLengthBodyNeedHttp2OnBothHops) {
  ReceivedRequest seen = postWithTrailer({"sized request"}, true);
  EXPECT_EQ(seen.body, "sized request");
  expectTrailerOnlyOverHttp2(seen.trailers, "x-checksum", "c1");
}

// A response without a length carries its trailers on every pair (HTTP/1: chunked).
TEST_P(ProtocolPairsTest, ResponseTrailersOfAStreamedResponseReachTheClient) {
  Reply reply;
  reply.content_length = false;
  reply.body = {"streamed ", "body"};
  reply.trailers = {{"x-digest", "d1"}, {"x-count", "2"}};
  app_.enqueue(reply);
  DownstreamResponse r = send(get("/trailers"));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.body, "streamed body");
  EXPECT_EQ(r.trailers.get("x-digest"), "d1");
  EXPECT_EQ(r.trailers.get("x-count"), "2");
}

// Trailers after a content-length body: HTTP/1 cannot frame them (no chunked encoding), so they
// survive only when both hops are HTTP/2; the body arrives whole either way.
TEST_P(ProtocolPairsTest, ResponseTrailersAfterAContentLengthBodyNeedHttp2OnBothHops) {
  Reply reply;
  reply.body = {"sized body"};
  reply.trailers = {{"x-digest", "d2"}};
  app_.enqueue(reply);
  DownstreamResponse r = send(get("/trailers"));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.body, "sized body");
  expectTrailerOnlyOverHttp2(r.trailers, "x-digest", "d2");
}

TEST_P(ProtocolPairsTest, RetryAfter503CarriesTheAttemptNumber) {
  app_.enqueue(Reply::withStatus(503));
  app_.enqueue(Reply::ok("second try"));
  DownstreamResponse r = send(get("/retry/x", {{"x-remora-attempt", "99"}}));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "second try");
  ASSERT_TRUE(app_.waitForRequests(2, 2s));
  std::vector<ReceivedRequest> seen = app_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("x-remora-attempt"), "1");
  EXPECT_EQ(seen[1].header("x-remora-attempt"), "2");
  EXPECT_EQ(sidecar_.stat("remora_upstream_rq_retry_total{cluster=\"retry\"}"), 1);
}

TEST_P(ProtocolPairsTest, RetryAfterAResetBeforeTheHeadKeepsTheRequestBody) {
  app_.enqueue(Reply::resetBeforeHead());
  app_.setHandler([](const ReceivedRequest& r) { return Reply::ok("got " + r.body); });
  DownstreamRequest post = get("/retry/reset");
  post.method = "PUT";
  post.body = {"replayed"};
  DownstreamResponse r = send(post);
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "got replayed");
  ASSERT_TRUE(app_.waitForRequests(2, 2s));
  std::vector<ReceivedRequest> seen = app_.requests();
  EXPECT_EQ(seen[1].header("x-remora-attempt"), "2");
  EXPECT_EQ(seen[1].body, "replayed");
}

TEST_P(ProtocolPairsTest, RetryAfterAConnectFailureGoesToTheOtherEndpoint) {
  for (int i = 0; i < 2; ++i) {
    DownstreamResponse r = send(get("/refused/" + std::to_string(i)));
    ASSERT_TRUE(r.complete) << r.describe();
    EXPECT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(app_.waitForRequests(2, 2s));
  std::set<std::string> attempts;
  for (const ReceivedRequest& seen : app_.requests()) {
    attempts.insert(seen.header("x-remora-attempt"));
  }
  // Round robin sent one of the two first to the closed port: that one arrived as try 2.
  EXPECT_TRUE(attempts.count("2") == 1) << "attempts seen: " << attempts.size();
  EXPECT_GE(sidecar_.stat("remora_upstream_rq_retry_total{cluster=\"refused\"}"), 1);
}

TEST_P(ProtocolPairsTest, ConnectFailureWithoutRetriesIs502) {
  expectLocalReply(get("/dead"), 502, "connect-failure");
}

TEST_P(ProtocolPairsTest, PerTryTimeoutRetriesASlowHead) {
  Reply slow = Reply::ok("too late");
  slow.head_delay_ms = 2000;
  app_.enqueue(slow);
  app_.enqueue(Reply::ok("in time"));
  auto start = std::chrono::steady_clock::now();
  DownstreamResponse r = send(get("/pertry"));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "in time");
  EXPECT_LT(msSince(start), 1500);
  ASSERT_TRUE(app_.waitForRequests(2, 2s));
  EXPECT_EQ(app_.requests()[1].header("x-remora-attempt"), "2");
}

TEST_P(ProtocolPairsTest, RouteTimeoutAnswers504) {
  Reply slow = Reply::ok("too late");
  slow.head_delay_ms = 2000;
  app_.enqueue(slow);
  auto start = std::chrono::steady_clock::now();
  DownstreamResponse r = send(get("/timeout"));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.header("x-remora-reason"), "upstream-timeout");
  EXPECT_GE(msSince(start), 250);
  EXPECT_LT(msSince(start), 1500);
}

TEST_P(ProtocolPairsTest, LocalRepliesNameTheirReason) {
  DownstreamRequest unknown_host = get("/");
  unknown_host.authority = "nowhere.example";
  expectLocalReply(unknown_host, 404, "no-route");
  // (The sidecar is ready once every endpoint had its first check: this one failed it.)
  expectLocalReply(get("/unhealthy"), 503, "no-healthy-upstream");
  expectLocalReply(get("/fault"), 503, "fault-injected");
  DownstreamResponse first = send(get("/limited"));
  ASSERT_TRUE(first.complete) << first.describe();
  EXPECT_EQ(first.status, 200);
  expectLocalReply(get("/limited"), 429, "rate-limited");
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  EXPECT_EQ(app_.requests().size(), 1u) << "only the first /limited reached the upstream";
  EXPECT_EQ(canary_.requests().size(), 0u);
}

TEST_P(ProtocolPairsTest, HeaderMutationBothWays) {
  Reply reply = Reply::ok("mutated");
  reply.headers = {{"x-upstream-private", "secret"}, {"x-kept", "yes"}};
  app_.enqueue(reply);
  DownstreamResponse r =
      send(get("/mutate", {{"x-team", "spoofed"}, {"x-secret", "s3cr3t"}, {"x-other", "o"}}));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.header("x-served-by"), "remora");
  EXPECT_FALSE(r.headers.has("x-upstream-private"));
  EXPECT_EQ(r.header("x-kept"), "yes");
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  ReceivedRequest seen = app_.requests()[0];
  EXPECT_EQ(seen.header("x-team"), "checkout");
  EXPECT_EQ(seen.header("x-added"), "one");
  EXPECT_FALSE(seen.headers.has("x-secret"));
  EXPECT_EQ(seen.header("x-other"), "o");
}

TEST_P(ProtocolPairsTest, WeightedSplitSendsToBothClusters) {
  constexpr int kRequests = 40;
  for (int i = 0; i < kRequests; ++i) {
    DownstreamResponse r = send(get("/split/" + std::to_string(i)));
    ASSERT_TRUE(r.complete) << r.describe();
  }
  ASSERT_TRUE(eventually(
      [&] { return app_.requests().size() + canary_.requests().size() == kRequests; }, 2s));
  const size_t to_app = app_.requests().size();
  const size_t to_canary = canary_.requests().size();
  EXPECT_GT(to_canary, 0u);
  EXPECT_GT(to_app, to_canary) << "weights 3:1";
}

TEST_P(ProtocolPairsTest, UpstreamStreamResetMidResponseShowsAsTheClientProtocolsBreak) {
  expectBrokenResponse(Reply::End::kReset);
}

TEST_P(ProtocolPairsTest, UpstreamConnectionCloseMidResponseShowsAsTheClientProtocolsBreak) {
  expectBrokenResponse(Reply::End::kClose);
}

TEST_P(ProtocolPairsTest, UpstreamResetBeforeTheHeadWithoutRetriesIs502) {
  app_.enqueue(Reply::resetBeforeHead());
  expectLocalReply(get("/no-retry"), 502, "upstream-reset");
}

TEST_P(ProtocolPairsTest, ExpectContinueLetsTheBodyFollow) {
  app_.setHandler([](const ReceivedRequest& r) { return Reply::ok("got " + r.body); });
  DownstreamRequest post = get("/continue", {{"expect", "100-continue"}});
  post.method = "POST";
  post.body = {"after continue"};
  post.wait_for_continue = true;
  DownstreamResponse r = send(post, 3s);
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.body, "got after continue");
  EXPECT_EQ(std::count(r.interim.begin(), r.interim.end(), 100), 1);
}

TEST_P(ProtocolPairsTest, LargeHeadersPassAndOversizedOnesAre431) {
  const std::string big(20 * 1024, 'b');
  Reply reply = Reply::ok("big");
  reply.headers = {{"x-big-response", big}};
  app_.enqueue(reply);
  DownstreamResponse r = send(get("/big", {{"x-big", big}}));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.header("x-big-response"), big);
  ASSERT_TRUE(app_.waitForRequests(1, 2s));
  EXPECT_EQ(app_.requests()[0].header("x-big"), big);

  // Over 60 KiB as the limit counts (name + value + 32 per field) in 900 equal fields: HPACK
  // sends each repeat as one byte, so the HTTP/2 head stays under the 64 KiB an nghttp2 client
  // will encode at all (curl and nghttp refuse to send a larger one).
  Fields huge(900, {"x-pad", std::string(50, 'p')});
  DownstreamResponse too_big = send(get("/too-big", huge));
  ASSERT_TRUE(too_big.complete) << too_big.describe();
  EXPECT_EQ(too_big.status, 431);
  EXPECT_EQ(app_.requests().size(), 1u);
}

TEST_P(ProtocolPairsTest, AccessLogNamesTheDownstreamProtocol) {
  DownstreamResponse r = send(get("/logged"));
  ASSERT_TRUE(r.complete) << r.describe();
  const std::string line =
      std::string("\"GET /logged ") + (h2Down() ? "HTTP/2" : "HTTP/1.1") + "\"";
  EXPECT_TRUE(eventually(
      [&] { return readFile(sidecar_.stdout_file).find(line) != std::string::npos; }, 3s))
      << readFile(sidecar_.stdout_file);
  std::string requests = sidecar_.adminGet("/requests");
  EXPECT_NE(requests.find("\"path\":\"/logged\""), std::string::npos) << requests;
  EXPECT_NE(requests.find("\"cluster\":\"app\""), std::string::npos) << requests;
}

INSTANTIATE_TEST_SUITE_P(AllPairs, ProtocolPairsTest,
                         ::testing::Values(Pair{Protocol::kHttp11, Protocol::kHttp11},
                                           Pair{Protocol::kHttp11, Protocol::kHttp2},
                                           Pair{Protocol::kHttp2, Protocol::kHttp11},
                                           Pair{Protocol::kHttp2, Protocol::kHttp2}),
                         [](const ::testing::TestParamInfo<Pair>& info) { return pairName(info); });

}  // namespace
}  // namespace remora::test
