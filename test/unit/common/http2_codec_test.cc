// The HTTP/2 server and client codecs talking to each other over a socketpair on a real libuv
// loop: messages both ways, the head conventions of common/http/message.h, flow control with a
// slow receiver, limits and the drain. (No threads or sleeps: the loop runs until a condition,
// bounded in iterations.)

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "common/event_loop.h"
#include "common/http2/client_connection.h"
#include "common/http2/server_connection.h"
#include "common/tcp_connection.h"
#include "test/unit/common/http2_test_support.h"

namespace remora::http2 {
namespace {

using namespace remora::http2::testing;  // NOLINT

// Feeds a socket's bytes and events to a codec, as a connection manager would.
class CodecSide final : public common::TcpConnection::Handler {
 public:
  void onData(const char* data, size_t len) noexcept override {
    if (codec != nullptr && !codec->dispatch(data, len)) {
      failed = true;
    }
  }
  void onEof() noexcept override {
    if (codec != nullptr) {
      codec->onConnectionClosed();
    }
  }
  void onError(int) noexcept override { onEof(); }
  void onHighWatermark() noexcept override { codec->onUnderlyingAboveHighWatermark(); }
  void onLowWatermark() noexcept override { codec->onUnderlyingBelowLowWatermark(); }
  http::Connection* codec = nullptr;
  bool failed = false;
};

class Http2CodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server_conn_ = std::make_unique<common::TcpConnection>(loop_, server_side_);
    client_conn_ = std::make_unique<common::TcpConnection>(loop_, client_side_);
    ASSERT_EQ(server_conn_->open(fds[0]), 0);
    ASSERT_EQ(client_conn_->open(fds[1]), 0);
  }
  void start(const Settings& server_settings = {}, const Settings& client_settings = {}) {
    server_ = std::make_unique<ServerConnection>(*server_conn_, recorder_, server_settings, stats_,
                                                 store_.shard(0));
    client_ = std::make_unique<ClientConnection>(*client_conn_, client_events_, client_settings,
                                                 stats_, store_.shard(0));
    server_side_.codec = server_.get();
    client_side_.codec = client_.get();
    server_conn_->readStart();
    client_conn_->readStart();
  }
  void TearDown() override {
    EXPECT_FALSE(server_side_.failed);
    EXPECT_FALSE(client_side_.failed);
    server_side_.codec = nullptr;
    client_side_.codec = nullptr;
    server_.reset();
    client_.reset();
    server_conn_.reset();
    client_conn_.reset();
    EXPECT_EQ(loop_.closeAll(), 0);
  }

  // Runs the loop until `done` (true) or 20000 iterations without blocking (false).
  template <typename F>
  bool runUntil(F done) {
    for (int i = 0; i < 20000; ++i) {
      if (done()) {
        return true;
      }
      uv_run(loop_.uv(), UV_RUN_NOWAIT);
    }
    return done();
  }
  // Runs until `value()` has not changed for 200 iterations.
  template <typename F>
  void runUntilStill(F value) {
    auto v = value();
    for (int still = 0, i = 0; still < 200 && i < 20000; ++i) {
      uv_run(loop_.uv(), UV_RUN_NOWAIT);
      auto now = value();
      still = now == v ? still + 1 : 0;
      v = now;
    }
  }

  RecordedResponse& request(http::RequestHead& head, bool end_stream) {
    responses_.push_back(std::make_unique<RecordedResponse>());
    RecordedResponse& r = *responses_.back();
    r.encoder = &client_->newStream(r);
    r.encoder->setCallbacks(r);
    r.encoder->encodeHeaders(head, end_stream);
    return r;
  }
  static http::RequestHead get(std::string_view path = "/") {
    http::RequestHead h;
    h.method = "GET";
    h.scheme = "http";
    h.path.assign(path);
    h.headers.add("host", "svc.local");
    return h;
  }
  static http::ResponseHead status(uint16_t code) {
    http::ResponseHead h;
    h.status = code;
    return h;
  }

  common::EventLoop loop_;
  CodecSide server_side_;
  CodecSide client_side_;
  std::unique_ptr<common::TcpConnection> server_conn_;
  std::unique_ptr<common::TcpConnection> client_conn_;
  common::StatsStore store_{1};
  Http2Stats stats_ = Http2Stats::registerIn(store_);
  RecordingServer recorder_;
  RecordingClient client_events_;
  std::unique_ptr<ServerConnection> server_;
  std::unique_ptr<ClientConnection> client_;
  std::vector<std::unique_ptr<RecordedResponse>> responses_;
};

TEST_F(Http2CodecTest, HeadersBodyAndTrailersTravelBothWays) {
  start();
  http::RequestHead head = get("/upload?x=1");
  head.method = "POST";
  head.headers.add("content-type", "application/grpc");
  RecordedResponse& resp = request(head, false);
  resp.encoder->encodeData("hello ", false);
  resp.encoder->encodeData("world", false);
  common::HeaderMap req_trailers;
  req_trailers.add("x-checksum", "abc");
  resp.encoder->encodeTrailers(req_trailers);
  ASSERT_TRUE(
      runUntil([&] { return !recorder_.requests.empty() && recorder_.requests[0]->ended; }));
  RecordedRequest& req = *recorder_.requests[0];
  EXPECT_EQ(req.head.method, "POST");
  EXPECT_EQ(req.head.path, "/upload?x=1");
  EXPECT_EQ(req.head.scheme, "http");
  EXPECT_TRUE(req.head.isGrpc());
  EXPECT_EQ(req.body, "hello world");
  EXPECT_EQ(req.trailers.get("x-checksum"), "abc");

  http::ResponseHead rh = status(200);
  rh.headers.add("content-type", "application/grpc");
  req.encoder->encodeHeaders(rh, false);
  req.encoder->encodeData("reply", false);
  common::HeaderMap trailers;
  trailers.add("grpc-status", "0");
  trailers.add("grpc-message", "ok");
  trailers.add("content-length", "5");  // must not travel in a trailer
  req.encoder->encodeTrailers(trailers);
  ASSERT_TRUE(runUntil([&] { return resp.ended; }));
  EXPECT_EQ(resp.head.status, 200);
  EXPECT_EQ(resp.head.protocol, http::Protocol::kHttp2);
  EXPECT_EQ(resp.body, "reply");
  EXPECT_EQ(resp.trailers.get("grpc-status"), "0");
  EXPECT_EQ(resp.trailers.get("grpc-message"), "ok");
  EXPECT_FALSE(resp.trailers.has("content-length"));
  EXPECT_FALSE(resp.reset.has_value());
  EXPECT_FALSE(req.reset.has_value());
  ASSERT_TRUE(runUntil([&] { return server_->activeStreams() == 0; }));
  EXPECT_EQ(store_.valueOf("remora_http2_streams_active"), 0);
}

TEST_F(Http2CodecTest, HeadConventionsHoldAcrossTheWire) {
  start();
  http::RequestHead head = get();
  head.headers.set("Host", "example.com:8080");
  head.headers.add("Cookie", "a=1");
  head.headers.add("cookie", "b=2");
  head.headers.add("X-Mixed-Case", "v");
  head.headers.add("Connection", "keep-alive");
  head.headers.add("Keep-Alive", "timeout=5");
  head.headers.add("Transfer-Encoding", "chunked");
  head.headers.add("content-length", "0");
  head.te_trailers = true;
  RecordedResponse& resp = request(head, true);
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  RecordedRequest& req = *recorder_.requests[0];
  EXPECT_EQ(req.head.headers.get("host"), "example.com:8080");
  EXPECT_EQ(req.head.headers.count(common::Wk::kHost), 1);
  EXPECT_EQ(req.head.headers.get("cookie"), "a=1; b=2");
  EXPECT_EQ(req.head.headers.get("x-mixed-case"), "v");
  EXPECT_FALSE(req.head.headers.has("connection"));
  EXPECT_FALSE(req.head.headers.has("keep-alive"));
  EXPECT_FALSE(req.head.headers.has("transfer-encoding"));
  EXPECT_FALSE(req.head.headers.has("te"));
  EXPECT_TRUE(req.head.te_trailers);
  EXPECT_EQ(req.head.content_length, 0);
  req.head.headers.forEach([](std::string_view n, std::string_view) {
    EXPECT_NE(n.substr(0, 1), ":");  // no pseudo-headers in the head's fields
  });

  http::ResponseHead rh = status(204);
  rh.headers.add("Server", "t");
  rh.headers.add("Connection", "close");
  req.encoder->encodeHeaders(rh, true);
  ASSERT_TRUE(runUntil([&] { return resp.ended; }));
  EXPECT_EQ(resp.head.status, 204);
  EXPECT_EQ(resp.head.headers.get("server"), "t");
  EXPECT_FALSE(resp.head.headers.has("connection"));
}

TEST_F(Http2CodecTest, InterimResponsesReachTheDecoderBeforeTheFinalOne) {
  start();
  http::RequestHead head = get();
  head.method = "PUT";
  head.headers.add("expect", "100-continue");
  RecordedResponse& resp = request(head, false);
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  RecordedRequest& req = *recorder_.requests[0];
  req.encoder->encode1xxHeaders(status(100));
  ASSERT_TRUE(runUntil([&] { return !resp.interim.empty(); }));
  resp.encoder->encodeData("body", true);
  ASSERT_TRUE(runUntil([&] { return req.ended; }));
  req.encoder->encode1xxHeaders(status(103));
  http::ResponseHead rh = status(201);
  req.encoder->encodeHeaders(rh, true);
  ASSERT_TRUE(runUntil([&] { return resp.ended; }));
  EXPECT_EQ(resp.interim, (std::vector<uint16_t>{100, 103}));
  EXPECT_EQ(resp.head.status, 201);
  EXPECT_EQ(req.body, "body");
}

TEST_F(Http2CodecTest, ReadDisabledReceiverStopsThePeerAfterOneStreamWindow) {
  Settings server_settings;
  start(server_settings);
  recorder_.disable_reads = true;
  constexpr size_t kTotal = 2 * 1024 * 1024;
  std::string body(kTotal, '\0');
  for (size_t i = 0; i < kTotal; ++i) {
    body[i] = static_cast<char>('a' + i % 26);
  }
  http::RequestHead head = get("/big");
  head.method = "POST";
  RecordedResponse& resp = request(head, false);
  resp.encoder->encodeData(body, true);
  EXPECT_EQ(resp.above, 1);  // 2 MiB queued: past the stream's 256 KiB high watermark
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  RecordedRequest& req = *recorder_.requests[0];
  runUntilStill([&] { return req.body.size(); });
  // The peer stopped after exactly one stream window: nothing was returned.
  EXPECT_EQ(req.body.size(), server_settings.initial_stream_window);
  EXPECT_FALSE(req.ended);

  // Reading again returns the window as data arrives: the whole body follows.
  req.encoder->readDisable(false);
  ASSERT_TRUE(runUntil([&] { return req.ended; }));
  EXPECT_EQ(req.body.size(), kTotal);
  EXPECT_TRUE(req.body == body);
  EXPECT_EQ(resp.below, 1);
}

TEST_F(Http2CodecTest, ReadDisableInTheMiddleHoldsTheBodyAtTheReturnedWindow) {
  start();
  constexpr size_t kTotal = 3 * 1024 * 1024;
  http::RequestHead head = get("/big");
  head.method = "POST";
  RecordedResponse& resp = request(head, false);
  resp.encoder->encodeData(std::string(kTotal, 'x'), true);
  ASSERT_TRUE(runUntil([&] {
    return !recorder_.requests.empty() && recorder_.requests[0]->body.size() > 512 * 1024;
  }));
  RecordedRequest& req = *recorder_.requests[0];
  req.encoder->readDisable(true);
  size_t at_disable = req.body.size();
  runUntilStill([&] { return req.body.size(); });
  // At most one stream window (256 KiB) more after the receiver stopped.
  EXPECT_LE(req.body.size(), at_disable + 256 * 1024);
  EXPECT_LT(req.body.size(), kTotal);
  req.encoder->readDisable(false);
  ASSERT_TRUE(runUntil([&] { return req.ended; }));
  EXPECT_EQ(req.body.size(), kTotal);
}

TEST_F(Http2CodecTest, LargeResponseBodyCrossesManyWindows) {
  start();
  http::RequestHead head = get();
  RecordedResponse& resp = request(head, true);
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  RecordedRequest& req = *recorder_.requests[0];
  http::ResponseHead rh = status(200);
  req.encoder->encodeHeaders(rh, false);
  constexpr size_t kChunk = 100 * 1000;
  for (int i = 0; i < 40; ++i) {
    req.encoder->encodeData(std::string(kChunk, static_cast<char>('a' + i % 26)), false);
  }
  EXPECT_EQ(req.above, 1);  // 4 MB queued, past the stream's 256 KiB
  ASSERT_TRUE(runUntil([&] { return req.below == 1; }));
  req.encoder->encodeData("", true);
  ASSERT_TRUE(runUntil([&] { return resp.ended; }));
  ASSERT_EQ(resp.body.size(), 40 * kChunk);
  EXPECT_EQ(resp.body[0], 'a');
  EXPECT_EQ(resp.body[39 * kChunk], static_cast<char>('a' + 39 % 26));
}

TEST_F(Http2CodecTest, SocketAboveItsHighWatermarkHoldsDataAndTellsEveryStream) {
  start();
  http::RequestHead head = get();
  request(head, true);
  request(head, true);
  ASSERT_TRUE(runUntil([&] { return recorder_.requests.size() == 2; }));
  // As the connection manager would on TcpConnection::Handler::onHighWatermark.
  server_->onUnderlyingAboveHighWatermark();
  EXPECT_EQ(recorder_.requests[0]->above, 1);
  EXPECT_EQ(recorder_.requests[1]->above, 1);
  http::ResponseHead rh = status(200);
  recorder_.requests[0]->encoder->encodeHeaders(rh, false);
  recorder_.requests[0]->encoder->encodeData("held", true);
  RecordedResponse& resp = *responses_[0];
  ASSERT_TRUE(runUntil([&] { return resp.have_head; }));  // headers still go
  runUntilStill([&] { return resp.body.size(); });
  EXPECT_TRUE(resp.body.empty());  // DATA does not
  server_->onUnderlyingBelowLowWatermark();
  EXPECT_EQ(recorder_.requests[1]->below, 1);
  ASSERT_TRUE(runUntil([&] { return resp.ended; }));
  EXPECT_EQ(resp.body, "held");
}

TEST_F(Http2CodecTest, ManyConcurrentStreamsComplete) {
  start();
  for (int i = 0; i < 50; ++i) {
    http::RequestHead head = get("/s" + std::to_string(i));
    head.method = "POST";
    RecordedResponse& r = request(head, false);
    r.encoder->encodeData("req" + std::to_string(i), true);
  }
  ASSERT_TRUE(runUntil(
      [&] { return recorder_.requests.size() == 50 && recorder_.requests.back()->ended; }));
  EXPECT_EQ(server_->activeStreams(), 50u);
  for (auto& req : recorder_.requests) {
    http::ResponseHead rh = status(200);
    req->encoder->encodeHeaders(rh, false);
    req->encoder->encodeData(req->head.path + ":" + req->body, true);
  }
  ASSERT_TRUE(runUntil([&] {
    for (auto& r : responses_) {
      if (!r->ended) {
        return false;
      }
    }
    return true;
  }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(responses_[i]->body, "/s" + std::to_string(i) + ":req" + std::to_string(i));
  }
}

TEST_F(Http2CodecTest, ClientSeesTheServersStreamLimit) {
  Settings server_settings;
  server_settings.max_concurrent_streams = 2;
  start(server_settings);
  ASSERT_TRUE(runUntil([&] { return client_->streamsAvailable() == 2; }));
  http::RequestHead head = get();
  request(head, false);
  EXPECT_EQ(client_->streamsAvailable(), 1u);
  request(head, false);
  EXPECT_EQ(client_->streamsAvailable(), 0u);
  ASSERT_TRUE(runUntil([&] { return recorder_.requests.size() == 2; }));
}

TEST_F(Http2CodecTest, DrainSendsGracefulThenFinalGoAwayAndRefusesNewStreams) {
  start();
  http::RequestHead head = get("/in-flight");
  head.method = "POST";
  RecordedResponse& a = request(head, false);
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  server_->shutdownNotice();
  ASSERT_TRUE(runUntil([&] { return client_events_.goaways == 1; }));
  EXPECT_EQ(client_->streamsAvailable(), 0u);
  // The final GOAWAY follows the PING's round trip.
  ASSERT_TRUE(runUntil([&] {
    return store_.valueOf("remora_http2_goaway_sent_total", {{"reason", "no_error"}}) == 1;
  }));
  http::RequestHead late = get("/late");
  RecordedResponse& b = request(late, true);
  ASSERT_TRUE(runUntil([&] { return b.reset.has_value(); }));
  EXPECT_EQ(*b.reset, http::StreamResetReason::kRemoteRefused);
  // The stream opened before the drain completes.
  a.encoder->encodeData("end", true);
  ASSERT_TRUE(runUntil([&] { return recorder_.requests[0]->ended; }));
  http::ResponseHead rh = status(200);
  recorder_.requests[0]->encoder->encodeHeaders(rh, true);
  ASSERT_TRUE(runUntil([&] { return a.ended; }));
  EXPECT_FALSE(a.reset.has_value());
  EXPECT_EQ(recorder_.requests.size(), 1u);
}

TEST_F(Http2CodecTest, ResetsReachThePeerWithTheirReason) {
  start();
  http::RequestHead head = get();
  RecordedResponse& a = request(head, false);
  RecordedResponse& b = request(head, false);
  ASSERT_TRUE(runUntil([&] { return recorder_.requests.size() == 2; }));
  recorder_.requests[0]->encoder->resetStream(http::StreamResetReason::kLocalReset);
  ASSERT_TRUE(runUntil([&] { return a.reset.has_value(); }));
  EXPECT_EQ(*a.reset, http::StreamResetReason::kRemoteReset);
  EXPECT_FALSE(recorder_.requests[0]->reset.has_value());  // no callback for one's own reset
  b.encoder->resetStream(http::StreamResetReason::kLocalReset);
  ASSERT_TRUE(runUntil([&] { return recorder_.requests[1]->reset.has_value(); }));
  EXPECT_EQ(*recorder_.requests[1]->reset, http::StreamResetReason::kRemoteReset);
  EXPECT_EQ(store_.valueOf("remora_http2_rx_reset_total"), 2);
}

TEST_F(Http2CodecTest, ConnectionEofResetsTheServersOpenStreams) {
  start();
  http::RequestHead head = get();
  request(head, false);
  ASSERT_TRUE(runUntil([&] { return !recorder_.requests.empty(); }));
  client_side_.codec = nullptr;
  client_.reset();
  client_conn_.reset();
  ASSERT_TRUE(runUntil([&] { return recorder_.requests[0]->reset.has_value(); }));
  EXPECT_EQ(*recorder_.requests[0]->reset, http::StreamResetReason::kConnectionTermination);
  EXPECT_EQ(server_->activeStreams(), 0u);
}

}  // namespace
}  // namespace remora::http2
