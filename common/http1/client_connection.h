#pragma once
// http1::ClientConnection: the HTTP/1.1 client codec (common/http/codec.h) of one upstream
// connection, on llhttp. One exchange at a time (no pipelining); the codec is its own single
// RequestEncoder.
//
// Requests always go out as HTTP/1.1. Framing: a request with Content-Length keeps it; a request
// with a body of unknown length is chunked, with the codings it arrived with (transfer_codings)
// named before chunked; a request that ends with its head has no body. Trailers follow the last
// chunk (only chunked requests can carry them). An upgrade request gets `connection: upgrade`;
// after a 101 both directions are a byte tunnel.
//
// Responses are decoded into the protocol-neutral form (hop-by-hop fields dropped, codings
// before chunked kept in transfer_codings). A response to HEAD, a 204 and a 304 end with their
// head. Bytes after a complete response, or any byte while no exchange is open, are a protocol
// error: the owner closes the connection.
//
// Connecting, pooling and timers belong to the owner (the connection pool); it reports the end
// of the socket through onConnectionClosed() and a connect failure through failStream().

#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/http1_parser.h"
#include "common/tcp_connection.h"

namespace remora::http1 {

class ClientConnection final : public http::ClientConnection,
                               public http::RequestEncoder,
                               private common::Http1Parser::Callbacks {
 public:
  ClientConnection(common::TcpConnection& conn, http::ClientConnectionCallbacks& callbacks,
                   const common::ParserLimits& limits = common::ParserLimits()) noexcept;
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // http::Connection
  bool dispatch(const char* data, size_t len) noexcept override;
  http::CodecError error() const noexcept override { return error_; }
  std::string_view errorDetail() const noexcept override;
  http::Protocol protocol() const noexcept override { return http::Protocol::kHttp11; }
  void onUnderlyingAboveHighWatermark() noexcept override;
  void onUnderlyingBelowLowWatermark() noexcept override;
  // EOF or a socket error: a response delimited by the connection's end completes; an open
  // exchange is reset otherwise (kConnectionTermination).
  void onConnectionClosed() noexcept override;

  // http::ClientConnection
  http::RequestEncoder& newStream(http::ResponseDecoder& decoder) noexcept override;
  uint32_t streamsAvailable() const noexcept override;

  // http::RequestEncoder
  void encodeHeaders(const http::RequestHead& head, bool end_stream) noexcept override;
  void encodeData(std::string_view data, bool end_stream) noexcept override;
  void encodeTrailers(const common::HeaderMap& trailers) noexcept override;
  void resetStream(http::StreamResetReason reason) noexcept override;
  void readDisable(bool disable) noexcept override;
  void setCallbacks(http::StreamCallbacks& callbacks) noexcept override {
    stream_callbacks_ = &callbacks;
  }
  bool trailersDeliverable() const noexcept override { return chunked_request_; }

  // ---- for the owner ----
  // Ends the open exchange with `reason` (a connect failure or timeout). No-op when none.
  void failStream(http::StreamResetReason reason) noexcept;
  // An exchange is open (newStream was called and it is neither complete nor reset).
  bool busy() const noexcept { return decoder_ != nullptr; }
  // Some byte of the current exchange's response has arrived.
  bool responseStarted() const noexcept { return response_started_; }
  // The upstream said it will close (`connection: close`, HTTP/1.0), or the connection became
  // a tunnel or failed: it must not carry another exchange.
  bool reusable() const noexcept { return keep_alive_ && !tunnel_ && !failed_; }
  // The stream abandoned the exchange (resetStream): the owner closes the connection.
  bool abandoned() const noexcept { return abandoned_; }
  // After a 101: both directions are a byte tunnel.
  bool tunnel() const noexcept { return tunnel_; }
  // The exchange asked not to hear more of its response for now (readDisable).
  bool readDisabled() const noexcept { return read_disabled_; }

 private:
  // Http1Parser::Callbacks
  common::HeadAction onHeaders(common::MessageHead& head) noexcept override;
  void onBody(std::string_view data) noexcept override;
  bool onMessageComplete() noexcept override;

  void protocolError() noexcept;
  // The exchange is over: no call for it follows.
  void endExchange() noexcept;

  common::TcpConnection& conn_;
  http::ClientConnectionCallbacks& callbacks_;
  common::Http1Parser parser_;
  http::ResponseHead response_;
  http::ResponseDecoder* decoder_ = nullptr;
  http::StreamCallbacks* stream_callbacks_ = nullptr;
  std::string scratch_;
  http::CodecError error_ = http::CodecError::kNone;
  bool chunked_request_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;
  bool upgrade_request_ = false;
  bool keep_alive_ = true;
  bool tunnel_ = false;
  bool failed_ = false;
  bool abandoned_ = false;
  bool read_disabled_ = false;
};

}  // namespace remora::http1
