#pragma once
// http1::ServerConnection: the HTTP/1 server codec (common/http/codec.h) of one downstream
// connection, on llhttp (common::Http1Parser).
//
// One request at a time: after a complete request the parser pauses, and pipelined bytes wait
// in a bounded buffer (reading stops past `max_pending_input`) until the response is complete,
// so answers leave in order. The codec is its own single ResponseEncoder; a new
// RequestDecoder is asked for each request.
//
// Response framing: Content-Length is kept; otherwise chunked for HTTP/1.1 clients and
// delimited by the connection's end for HTTP/1.0 ones. HEAD, 204 and 304 never carry a body.
// Trailers go out after the last chunk when the response is chunked; otherwise they are
// dropped (trailersDeliverable()). A response head is corked and leaves with the first body bytes
// (encodeData) or at flush().
//
// The request head is turned into the protocol-neutral form: an absolute-form target becomes
// `host` + path, hop-by-hop fields are dropped (message.h), codings before chunked are kept in
// transfer_codings.
//
// Connection-level decisions stay with the owner (the connection manager): timers, lingering
// close, drain. The codec tells it what the wire requires: closeRequested(), the EOF action,
// whether a request is partly received.

#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/http1_parser.h"
#include "common/recycled.h"
#include "common/tcp_connection.h"

namespace remora::http1 {

class ServerConnection final : public common::Recycled<ServerConnection>,
                               public http::ServerConnection,
                               public http::ResponseEncoder,
                               private common::Http1Parser::Callbacks {
 public:
  // Writes go to `conn`; the owner reads it and calls dispatch().
  ServerConnection(common::TcpConnection& conn, http::ServerConnectionCallbacks& callbacks,
                   const common::ParserLimits& limits, size_t max_pending_input) noexcept;
  // Its buffers go to the thread's spare buffers (the next connection's requests take them).
  ~ServerConnection() override;
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // http::Connection
  bool dispatch(const char* data, size_t len) noexcept override;
  http::CodecError error() const noexcept override { return error_; }
  std::string_view errorDetail() const noexcept override;
  http::Protocol protocol() const noexcept override { return protocol_; }
  void onUnderlyingAboveHighWatermark() noexcept override;
  void onUnderlyingBelowLowWatermark() noexcept override;
  void onConnectionClosed() noexcept override;
  void flush() noexcept override { conn_.uncork(); }

  // http::ServerConnection
  void shutdownNotice() noexcept override { draining_ = true; }
  uint32_t activeStreams() const noexcept override { return decoder_ != nullptr ? 1 : 0; }

  // http::ResponseEncoder
  void encode1xxHeaders(const http::ResponseHead& head) noexcept override;
  void encodeHeaders(const http::ResponseHead& head, bool end_stream) noexcept override;
  void encodeData(std::string_view data, bool end_stream) noexcept override;
  void encodeTrailers(const common::HeaderMap& trailers) noexcept override;
  void resetStream(http::StreamResetReason reason) noexcept override;
  void readDisable(bool disable) noexcept override;
  void setCallbacks(http::StreamCallbacks& callbacks) noexcept override {
    stream_callbacks_ = &callbacks;
  }
  bool trailersDeliverable() const noexcept override { return framing_ == Framing::kChunked; }
  void closeAfterResponse() noexcept override { close_after_response_ = true; }

  // ---- HTTP/1 specifics for the connection manager ----
  // A request has begun and is not complete (its head or its body is still arriving).
  bool inMessage() const noexcept { return parser_.inMessage() && !request_complete_; }
  // A request head has begun and is not complete (the header-read timeout applies).
  bool headInProgress() const noexcept { return parser_.inMessage() && !parser_.headDone(); }
  // The current response is complete (or none is active) and the connection must close: the
  // client or the response said so, a drain, an upgrade refused, a request left unread.
  bool closeRequested() const noexcept { return close_requested_; }
  // After a 101: both directions are a byte tunnel (request bytes reach the decoder as data).
  bool upgraded() const noexcept { return tunnel_; }
  // The current request's client speaks HTTP/1.0.
  bool http10() const noexcept { return protocol_ == http::Protocol::kHttp10; }
  // The current request's client allows another request on the connection (HTTP/1.1 without
  // `connection: close`, HTTP/1.0 with `connection: keep-alive`).
  bool clientKeepAlive() const noexcept { return client_keep_alive_; }
  // For an origin server that shows requests as sent (common::HttpServer): the decoded head
  // keeps the hop-by-hop fields (Connection, TE, Transfer-Encoding...; te_trailers stays false).
  // A proxy must not: it would forward them.
  void keepHopByHopFields() noexcept { keep_hop_by_hop_ = true; }
  bool requestComplete() const noexcept { return request_complete_; }
  bool responseStarted() const noexcept { return response_head_sent_; }
  // What arrived of a request whose head failed to parse (method and target, for the log).
  const common::MessageHead& partialHead() const noexcept { return parser_.head(); }
  // The owner stops or restarts reading for reasons of its own (a lingering close discards
  // input; reading stays on then).
  void setDiscarding() noexcept;
  // The client half-closed. kAbort: a request was cut short (close now); kClose: nothing is
  // left to answer; kFinish: answer what was received, then close (closeRequested() is set).
  // In a tunnel the request direction ends (the decoder gets end_stream).
  enum class EofAction : uint8_t { kAbort, kClose, kFinish };
  EofAction onEof() noexcept;
  // Goes on with pipelined requests held while a response was outstanding. The owner calls
  // it once the stream that answered is finished (not from inside that stream's encode
  // calls). False on a parse error, as dispatch().
  bool resumePipelined() noexcept;
  // Between exchanges, with no pipelined bytes waiting: the request and response buffers go to
  // the thread's spare buffers (common/recycled.h), so an idle keep-alive connection holds
  // none; the next request takes some back. Not from inside dispatch().
  void releaseIdleBuffers() noexcept;
  // True when pipelined bytes wait for the current response.
  bool hasPendingInput() const noexcept { return !pending_input_.empty(); }
  // The connection must end now, without a lingering close: a request was cut short, or the
  // exchange was reset.
  bool aborted() const noexcept { return aborted_; }
  // For an answer to input that failed to parse before any stream began (dispatch() false with
  // no active stream): the encoder of a one-off exchange that closes the connection after it.
  http::ResponseEncoder& beginErrorExchange() noexcept;

 private:
  // Http1Parser::Callbacks
  common::HeadAction onHeaders(common::MessageHead& head) noexcept override;
  void onBody(std::string_view data) noexcept override;
  bool onMessageComplete() noexcept override;

  // The per-exchange state, from the head that opens the exchange (one place, so that nothing
  // of the previous exchange survives).
  void beginExchange(const common::MessageHead& head) noexcept;
  bool feed(const char* data, size_t len) noexcept;
  bool pump() noexcept;
  void updateReading() noexcept;
  // The request and response buffers go to the thread's spare buffers.
  void releaseBuffers() noexcept;
  void endResponse() noexcept;
  void writeBody(std::string_view data) noexcept;

  enum class Framing : uint8_t { kNone, kLength, kChunked, kUntilClose };

  common::TcpConnection& conn_;
  http::ServerConnectionCallbacks& callbacks_;
  common::Http1Parser parser_;
  size_t max_pending_input_;
  http::RequestHead request_;  // the current request (kept: its buffers serve the next one)
  http::RequestDecoder* decoder_ = nullptr;
  http::StreamCallbacks* stream_callbacks_ = nullptr;
  std::string pending_input_;  // unparsed bytes: pipelined requests, tunnel bytes before a 101
  std::string scratch_;
  http::CodecError error_ = http::CodecError::kNone;
  http::Protocol protocol_ = http::Protocol::kHttp11;
  Framing framing_ = Framing::kNone;
  bool in_dispatch_ = false;
  bool parser_paused_ = false;
  bool parser_upgrade_ = false;
  bool read_disabled_ = false;
  bool discarding_ = false;
  bool eof_ = false;
  bool draining_ = false;
  bool keep_hop_by_hop_ = false;
  // The current exchange.
  bool request_complete_ = false;
  bool request_has_body_ = false;
  bool request_end_sent_ = false;  // the decoder has seen end_stream
  bool head_request_ = false;
  bool upgrade_request_ = false;
  bool client_keep_alive_ = true;
  bool response_head_sent_ = false;
  bool response_complete_ = true;  // no exchange yet
  bool close_after_response_ = false;
  bool close_requested_ = false;
  bool aborted_ = false;
  bool tunnel_ = false;
};

}  // namespace remora::http1
