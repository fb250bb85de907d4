#pragma once
// Test support: an upstream on 127.0.0.1:0 that a test scripts per request. It speaks HTTP/1.1
// or HTTP/2 with prior knowledge (h2c), chosen per connection from its first bytes, with the
// project's own server codecs (common/http1/, common/http2/), on its own EventLoop thread.
//
// Each complete request is recorded (protocol, method, path, authority, headers, body,
// trailers) and answered by a Reply: the next queued one (enqueue), else the handler's (by
// default 200 "ok"). A Reply can wait before its head, send its body in pieces with pauses,
// end with trailers, or stop after its pieces with a stream reset (HTTP/2 RST_STREAM; HTTP/1
// has no stream to reset: the connection closes) or a connection close, with or without a head.
// A request with `expect: 100-continue` gets a 100 at once.
//
// Every method may be called from the test's thread; waits take deadlines.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/header_map.h"
#include "common/http/message.h"

namespace remora::test {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct ReceivedRequest {
  http::Protocol protocol = http::Protocol::kHttp11;
  std::string method;
  std::string path;
  std::string authority;      // the `host` field (HTTP/2: from :authority)
  common::HeaderMap headers;  // end-to-end fields, as the codec decoded them
  std::string body;
  common::HeaderMap trailers;
  uint64_t connection = 0;  // 1 for the upstream's first accepted connection, and so on

  std::string header(std::string_view name) const { return std::string(headers.get(name)); }
};

// What the upstream does with one request, in this order.
struct Reply {
  enum class End : uint8_t {
    kComplete,  // the response ends normally (with its trailers, if any)
    kReset,     // after the pieces: reset the stream (HTTP/2 RST_STREAM, HTTP/1 closes)
    kClose,     // after the pieces: close the connection (FIN)
  };
  uint64_t head_delay_ms = 0;  // before the head (a slow upstream)
  bool send_head = true;       // false: kReset / kClose before any response byte
  int status = 200;
  Fields headers;
  std::vector<std::string> body;  // each piece is one encodeData
  // Before every piece but the first, and before a kReset / kClose that follows pieces.
  uint64_t piece_delay_ms = 0;
  // The head carries content-length (the pieces' total). false: no length (HTTP/1 chunked).
  bool content_length = true;
  Fields trailers;
  End end = End::kComplete;

  // 200 with `body` in one piece.
  static Reply ok(std::string body);
  // `status` with a short body naming it.
  static Reply withStatus(int status);
  // Nothing but a reset (or close) of what carries the request.
  static Reply resetBeforeHead(End how = End::kReset);
};

class FakeUpstream {
 public:
  using Handler = std::function<Reply(const ReceivedRequest&)>;

  FakeUpstream();
  ~FakeUpstream();  // closes every connection, stops the loop thread
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Binds 127.0.0.1:0 and starts the loop thread; false when it could not listen.
  bool start();
  const std::string& address() const { return address_; }

  // The answer to requests no queued Reply is left for (default: Reply::ok("ok")). Called on
  // the loop thread.
  void setHandler(Handler handler);
  // Answers the next request with `reply` (in the order queued, before the handler).
  void enqueue(Reply reply);

  // Complete requests so far, in the order they completed.
  std::vector<ReceivedRequest> requests() const;
  // Waits until at least `n` requests completed; false at the deadline.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  // Connections accepted so far.
  uint64_t connections() const;

 private:
  class Connection;
  class Exchange;
  friend class Connection;
  friend class Exchange;
  static void onAccept(uv_stream_t* listener, int status);
  Reply replyFor(const ReceivedRequest& request);
  void record(ReceivedRequest request);
  void release(Connection* conn);

  common::EventLoop loop_;
  std::thread thread_;
  std::string address_;
  uv_tcp_t* listener_ = nullptr;
  std::vector<std::unique_ptr<Connection>> conns_;  // loop thread only
  uint64_t accepted_ = 0;                           // loop thread writes, under mu_

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  std::deque<Reply> queued_;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace remora::test
