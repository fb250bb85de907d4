#pragma once
// HttpServer: a small HTTP/1.1 and h2c server for the admin API, remora-echo and the control
// plane API. Not the data plane: requests are buffered whole before the handler sees them. The
// wire is the proxy's own codecs, so parsing, limits and framing are the listeners': a
// connection whose first bytes are the HTTP/2 client preface ("PRI * HTTP/2.0...", prior
// knowledge) gets http2::ServerConnection (common/http2/server_connection.h), any other
// http1::ServerConnection (common/http1/server_connection.h).
// - HTTP/2: streams are answered side by side, each like an HTTP/1 request (the same Handler,
//   HttpRequest with version_minor 1, Responder); Responder::reset() resets only its stream and
//   close() ends the connection with GOAWAY once the open streams are done; upgrade() answers
//   500. A body over max_body_bytes gets 413 on its stream. A protocol error (bad frames, HPACK,
//   floods: see common/http2/session.h) is answered with GOAWAY, then the connection closes.
//   There is no request deadline (request_timeout_ms) on an HTTP/2 connection; the idle one
//   applies. The rest of this list is about HTTP/1.
//
// - One server runs on one EventLoop thread; every call (and every Responder / Tunnel call) must
//   happen on that thread.
// - Keep-alive per HTTP/1.1 (HTTP/1.0 only with `Connection: keep-alive`); `Connection: close`
//   from either side closes after that response; pipelined requests are answered in order, one
//   at a time (the handler sees the next once the answer before it is written). An upgrade
//   request answered without an upgrade closes after the answer (the client may already be
//   speaking the new protocol).
// - The request's headers are as sent, hop-by-hop fields (Connection, TE, Transfer-Encoding...)
//   included; keep_alive and upgrade tell what they mean. An absolute-form target
//   (`GET http://a/x`) arrives as path `/x` with `Host: a` (target keeps the whole URL).
// - Malformed request -> 400 and close; header section over the limits -> 431 and close; body
//   over `max_body_bytes` -> 413 and close. HEAD answers carry the headers of the matching GET
//   answer (Content-Length included) and no body. `Expect: 100-continue` is honoured.
// - An idle keep-alive connection (no request in progress, nothing being written) is closed
//   after `idle_timeout_ms`. Upgraded connections (tunnels) have no idle timeout.
// - With `request_timeout_ms`, a request must arrive whole (head and body) within that time of
//   its first byte, and a new connection must send its first request whole within that time of
//   the accept: otherwise 408 and close (a peer dripping bytes cannot hold a connection).
// - With `max_connections`, a connection accepted while that many are open is closed at once.
// - Refusals the handler never sees (a connection over the cap, 400 / 408 / 413 / 431, a failed
//   or late security handshake) are reported to the hook given to onRefused(), for the owner's
//   counters.
// - With `secure` (HTTPS: a TlsSession per connection, see common/tls_session.h), every
//   connection first runs the handshake, which must finish within `handshake_timeout_ms` of the
//   accept; a peer that fails it (garbage, a plain HTTP request: that one is answered 400 in
//   plain text) is closed. The HTTP layer above is the same. Without it nothing changes: bytes
//   go between the socket and the parser as before, with no extra copy.
// - A handler may answer later (Responder is a cheap copyable token); a Responder whose
//   connection died meanwhile does nothing. A request whose every Responder copy is dropped
//   unanswered is answered 500, so a buggy handler never stalls a connection.
// - Upgrade: Responder::upgrade() answers (101) and turns the connection into a byte stream
//   (Tunnel) with callbacks for incoming bytes and for the end.
//
// Shutdown: close() (or the destructor) closes the listener and every connection; the memory is
// released through EventLoop::deferDelete, so call it before EventLoop::closeAll().

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/header_map.h"
#include "common/http1_parser.h"
#include "common/secure_channel.h"
#include "common/socket_address.h"
#include "common/status.h"

namespace remora::common {

class HttpServerConnection;

// One request, buffered whole. Handed to the handler by reference: the handler may read it and
// move pieces (e.g. the body) out of it; it is gone when the handler returns.
struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  llhttp_method_t method_id = HTTP_GET;
  std::string target;         // request target as sent
  std::string path;           // target without scheme/authority and query ("/a/b")
  std::string query_string;   // after '?', without it; empty when none
  uint8_t version_minor = 1;  // HTTP/1.<minor>
  HeaderMap headers;
  std::string body;  // de-chunked
  SocketAddress peer;
  uint64_t request_on_connection = 0;  // 1 for the first request on its connection
  bool keep_alive = true;              // the client allows another request on this connection
  bool upgrade = false;                // `Connection: Upgrade` + `Upgrade: ...` (or CONNECT)

  // First value of a header (any case); empty when absent.
  std::string_view header(std::string_view name) const noexcept { return headers.get(name); }
  bool hasHeader(std::string_view name) const noexcept { return headers.has(name); }
  // First value of a query parameter, percent-decoded ('+' is a space); empty when absent.
  std::string query(std::string_view name) const;
  bool hasQuery(std::string_view name) const noexcept;
  bool isHead() const noexcept { return method_id == HTTP_HEAD; }
};

// Produces bytes [offset, offset + len) of a streamed response body, appending them to `out`.
// Called on the loop thread while the response is being written, as the socket drains.
using BodySource = std::function<void(uint64_t offset, size_t len, std::string& out)>;

struct HttpResponse {
  int status = 200;
  // Content-Length, Transfer-Encoding and Connection are set by the server; a `Connection:
  // close` given here closes the connection after this response.
  HeaderMap headers;
  std::string body;
  // Send the body with Transfer-Encoding: chunked (ignored for HTTP/1.0 clients).
  bool chunked = false;
  // A streamed body instead of `body` (see setBodySource).
  uint64_t source_length = 0;
  BodySource source;

  HttpResponse() = default;
  HttpResponse(int status, std::string body, std::string_view content_type = "text/plain");
  static HttpResponse json(int status, std::string body) {
    return HttpResponse(status, std::move(body), "application/json");
  }
  // The body is `length` bytes produced piecewise by `source` (bounded memory for big bodies).
  void setBodySource(uint64_t length, BodySource source);
  uint64_t bodyLength() const noexcept { return source ? source_length : body.size(); }
};

// An upgraded connection: a plain byte stream in both directions.
class Tunnel {
 public:
  // Queues bytes for the peer. Ignored once closed.
  virtual void write(std::string_view data) noexcept = 0;
  // Closes after every queued byte is written, or at once with an RST if `reset`.
  virtual void close(bool reset = false) noexcept = 0;
  virtual bool closed() const noexcept = 0;
  virtual SocketAddress peer() const noexcept = 0;

 protected:
  ~Tunnel() = default;
};

// Callbacks of an upgraded connection. All optional. The Tunnel reference stays valid until
// on_close has returned; it may be kept until then and written to at any time.
struct TunnelHandler {
  // Right after the upgrade answer was queued.
  std::function<void(Tunnel&)> on_open;
  // Bytes from the peer; valid only during the call. Bytes that followed the upgrade request
  // in the same read arrive here first.
  std::function<void(Tunnel&, std::string_view data)> on_data;
  // The connection is finished (peer EOF once our bytes are flushed, error, close(), server
  // shutdown). The last call; it may run inside Tunnel::close().
  std::function<void()> on_close;
};

// Answers one request. Copyable; only the first answering call counts, later ones do nothing,
// and so does every call once the connection is gone. Answers go out in request order.
class Responder {
 public:
  Responder() = default;  // detached: every call does nothing

  void respond(HttpResponse response) noexcept;
  void respond(int status, std::string body, std::string_view content_type = "text/plain") noexcept;
  // Closes the connection instead of answering (earlier answers are flushed first, FIN).
  void close() noexcept;
  // Resets the connection (RST) instead of answering, when this request's turn comes.
  void reset() noexcept;
  // Answers with `response` (status 101 with an Upgrade header; `Connection: Upgrade` is added)
  // and hands the connection over to `handler` as a byte stream. Only for requests with
  // `upgrade` set and a 101; otherwise it answers 500.
  void upgrade(HttpResponse response, TunnelHandler handler) noexcept;

  // True once one of the calls above was made on any copy.
  bool answered() const noexcept;
  // True while the connection is open (an answer may still reach the client).
  bool connected() const noexcept;

 private:
  friend class HttpServerConnection;
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

class HttpServer {
 public:
  struct Options {
    size_t max_body_bytes = 16 * 1024 * 1024;
    uint64_t idle_timeout_ms = 60 * 1000;  // 0: never
    ParserLimits limits;
    // Pipelined input (bytes) a connection may hold while a request is answered before the
    // server stops reading from it.
    size_t max_pending_input = 32 * 1024;
    // After the last answer on a closing connection: how long to wait for the peer's FIN
    // (draining what it still sends) before closing, so that it reads the answer, not an RST.
    uint64_t linger_ms = 2000;
    // A request must arrive whole within this time (see above); 0: no limit.
    uint64_t request_timeout_ms = 0;
    // Open connections (tunnels included) at most; 0: no limit.
    size_t max_connections = 0;
    // Runs every connection over a security layer (HTTPS); null: plain HTTP.
    std::shared_ptr<const SecureChannelFactory> secure;
    // With `secure`: the handshake must be done within this time of the accept; 0: no limit.
    uint64_t handshake_timeout_ms = 10 * 1000;
  };
  // RefusedHook statuses that are not HTTP statuses.
  static constexpr int kRefusedConnectionLimit = 0;    // closed at accept (max_connections)
  static constexpr int kRefusedHandshakeFailed = -1;   // the security handshake failed
  static constexpr int kRefusedHandshakeTimeout = -2;  // ... or did not finish in time
  // Told about each refusal: one of the kRefused* values above, else the status of the error
  // answer (400, 408, 413, 431, 501). Called on the loop thread.
  using RefusedHook = std::function<void(int status)>;

  // Called once per complete request, on the loop thread. Must not throw. It may answer
  // before returning or keep the Responder and answer later.
  using Handler = std::function<void(HttpRequest& request, Responder responder)>;

  HttpServer(EventLoop& loop, Handler handler);
  HttpServer(EventLoop& loop, Handler handler, Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on "IP:PORT" (port 0: the kernel picks one; see boundAddress()).
  Status listen(std::string_view address, int backlog = 1024);
  // The address actually bound (valid after a successful listen()).
  const SocketAddress& boundAddress() const noexcept { return bound_; }
  // Stops listening and closes every connection at once (open tunnels hear on_close).
  // Idempotent; safe inside a handler or a Tunnel callback (Responders then do nothing).
  void close() noexcept;
  // Open connections (tunnels included).
  size_t connectionCount() const noexcept { return conns_.size(); }
  void onRefused(RefusedHook hook) { on_refused_ = std::move(hook); }
  // Told about each failed security handshake (counted as kRefusedHandshakeFailed too) with the
  // layer's reason, for the owner's logs. Called on the loop thread.
  using HandshakeFailureHook =
      std::function<void(const SocketAddress& peer, const std::string& reason)>;
  void onHandshakeFailure(HandshakeFailureHook hook) { on_handshake_failure_ = std::move(hook); }
  EventLoop& loop() noexcept { return loop_; }

 private:
  friend class HttpServerConnection;
  static void onConnection(uv_stream_t* server, int status);
  void release(HttpServerConnection* conn) noexcept;
  void refused(int status) noexcept {
    if (on_refused_) {
      on_refused_(status);
    }
  }

  // HTTP/2 connections' shared settings and counters, made with the first one.
  struct Http2Shared;
  std::shared_ptr<Http2Shared> http2Shared();

  EventLoop& loop_;
  Handler handler_;
  Options options_;
  std::shared_ptr<Http2Shared> h2_;
  RefusedHook on_refused_;
  HandshakeFailureHook on_handshake_failure_;
  uv_tcp_t* listener_ = nullptr;
  SocketAddress bound_;
  std::unordered_map<HttpServerConnection*, std::shared_ptr<HttpServerConnection>> conns_;
};

}  // namespace remora::common
