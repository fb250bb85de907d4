#pragma once
// The codec interfaces: how the connection manager (downstream) and the router (upstream) talk
// to an HTTP/1 or HTTP/2 connection without knowing which protocol carries a stream. The cut is
// the one Envoy (envoy/http/codec.h), h2o and Pingora make.
//
// A server codec turns a downstream connection's bytes into request streams: for each request
// it calls ServerConnectionCallbacks::newStream with the ResponseEncoder that answers it, and
// delivers the request's headers, data and trailers to the RequestDecoder it got back. A client
// codec does the reverse on an upstream connection: newStream(ResponseDecoder&) gives the
// RequestEncoder of a new request; the response comes back through the decoder.
//
// Threading and re-entrancy: a codec and its streams live on one worker thread. Decoder calls
// happen inside dispatch(); StreamCallbacks calls may also happen inside an encode call (an
// encoder that fails resets its stream). An object that receives a call must not be destroyed
// inside it (hand it to EventLoop::deferDelete).
//
// Lifetimes: an encoder is valid until its stream is complete in both directions or reset;
// after onResetStream, nothing else is called for the stream and the stream's encoder must not
// be used. Heads passed to decode calls stay valid (and may be modified) until then too.

#include <cstdint>
#include <string_view>

#include "common/http/message.h"

namespace remora::http {

// Why a stream ended before both of its directions completed.
enum class StreamResetReason : uint8_t {
  kConnectionFailure,      // the connection could not be made (client side)
  kConnectionTermination,  // the connection closed, or failed, under the stream
  kRemoteReset,            // the peer reset the stream (HTTP/2 RST_STREAM other than below)
  kRemoteRefused,          // the peer refused it unprocessed (REFUSED_STREAM, or GOAWAY past
                           // its last stream id): always safe to retry
  kLocalReset,             // this side reset it (resetStream)
  kProtocolError,          // the peer's bytes for this stream were not valid HTTP
  kOverflow,               // a limit of ours: too many streams, headers too large, a flood
};
std::string_view resetReasonName(StreamResetReason r) noexcept;

// Events about a stream that are not part of its messages. Set on an encoder.
class StreamCallbacks {
 public:
  // The stream ended abnormally. The last call for this stream.
  virtual void onResetStream(StreamResetReason reason) noexcept = 0;
  // The bytes this stream has queued for sending passed the high watermark (stop feeding it),
  // then fell back to the low one (go on).
  virtual void onAboveWriteBufferHighWatermark() noexcept = 0;
  virtual void onBelowWriteBufferLowWatermark() noexcept = 0;

 protected:
  ~StreamCallbacks() = default;
};

// One direction of one stream, outgoing.
class StreamEncoder {
 public:
  // A piece of body; `end_stream`: it is the last one (it may be empty).
  virtual void encodeData(std::string_view data, bool end_stream) noexcept = 0;
  // Ends the stream with trailer fields. A codec drops the fields that must not travel in a
  // trailer (common::isForbiddenTrailer), and all of them when its peer cannot receive
  // trailers (an HTTP/1.0 client, a response that is not chunked): trailersDeliverable() says
  // so beforehand.
  virtual void encodeTrailers(const HeaderMap& trailers) noexcept = 0;
  // Abandons the stream: HTTP/2 sends RST_STREAM, HTTP/1 closes the connection. No
  // onResetStream follows for a reset made this way.
  virtual void resetStream(StreamResetReason reason) noexcept = 0;
  // Flow control of the opposite direction of the same stream: stop (true) or go on (false)
  // taking its incoming body. HTTP/1 stops reading the socket; HTTP/2 stops returning window to
  // the peer (so at most one window more arrives).
  virtual void readDisable(bool disable) noexcept = 0;
  virtual void setCallbacks(StreamCallbacks& callbacks) noexcept = 0;
  virtual Protocol protocol() const noexcept = 0;
  // After the head: whether trailers given to encodeTrailers would reach the peer (see above).
  // (Asked before the last encode call: an HTTP/2 stream may be gone after it.)
  virtual bool trailersDeliverable() const noexcept { return true; }

 protected:
  ~StreamEncoder() = default;
};

class ResponseEncoder : public StreamEncoder {
 public:
  // An interim response (100 Continue, 103 Early Hints). Not for 101.
  virtual void encode1xxHeaders(const ResponseHead& head) noexcept = 0;
  // The final response head (101 included, for an upgrade). The codec adds the framing fields of
  // its wire while it serializes; `head` is not changed or kept.
  virtual void encodeHeaders(const ResponseHead& head, bool end_stream) noexcept = 0;
  // The connection is to close once this response is complete (HTTP/1: `connection: close`
  // when the head has not left yet; HTTP/2: ignored, the stream is independent).
  virtual void closeAfterResponse() noexcept = 0;

 protected:
  ~ResponseEncoder() = default;
};

class RequestEncoder : public StreamEncoder {
 public:
  // The request head. Same rules as ResponseEncoder::encodeHeaders (a retry sends the same head
  // again).
  virtual void encodeHeaders(const RequestHead& head, bool end_stream) noexcept = 0;

 protected:
  ~RequestEncoder() = default;
};

// One direction of one stream, incoming.
class StreamDecoder {
 public:
  // A piece of body (framing removed); `end_stream`: the last one (it may be empty).
  virtual void decodeData(std::string_view data, bool end_stream) noexcept = 0;
  // The trailer fields, which end the stream.
  virtual void decodeTrailers(HeaderMap& trailers) noexcept = 0;

 protected:
  ~StreamDecoder() = default;
};

class RequestDecoder : public StreamDecoder {
 public:
  // `end_stream`: the request has no body.
  virtual void decodeHeaders(RequestHead& head, bool end_stream) noexcept = 0;

 protected:
  ~RequestDecoder() = default;
};

class ResponseDecoder : public StreamDecoder {
 public:
  virtual void decode1xxHeaders(ResponseHead& head) noexcept = 0;
  virtual void decodeHeaders(ResponseHead& head, bool end_stream) noexcept = 0;

 protected:
  ~ResponseDecoder() = default;
};

// What went wrong with a connection's input as a whole.
enum class CodecError : uint8_t {
  kNone,
  kBadMessage,       // malformed: HTTP/1 answers 400; HTTP/2 sends GOAWAY PROTOCOL_ERROR
  kHeadersTooLarge,  // HTTP/1 431
  kUnknownMethod,    // HTTP/1 501: a method the HTTP/1 parser cannot frame
  kFlood,            // HTTP/2: GOAWAY ENHANCE_YOUR_CALM (rapid reset, SETTINGS/PING floods...)
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Feeds bytes read from the socket. Decoder and stream callbacks run inside. False on a
  // connection-level error (error() says which): an HTTP/2 codec has queued its GOAWAY by
  // then; the owner flushes and closes.
  virtual bool dispatch(const char* data, size_t len) noexcept = 0;
  virtual CodecError error() const noexcept = 0;
  // A short human-readable reason for error() ("invalid header value char", ...).
  virtual std::string_view errorDetail() const noexcept = 0;
  virtual Protocol protocol() const noexcept = 0;
  // The socket's send buffer passed its high watermark / fell to its low one: the codec stops
  // / resumes sending and tells the affected streams.
  virtual void onUnderlyingAboveHighWatermark() noexcept = 0;
  virtual void onUnderlyingBelowLowWatermark() noexcept = 0;
  // The socket reached EOF or failed: every open stream is reset with kConnectionTermination
  // (an HTTP/1 response delimited by the connection's end completes instead).
  virtual void onConnectionClosed() noexcept = 0;
  // Sends what encode calls held back (HTTP/1 corks a response head so that it leaves with the
  // first body bytes). The owner calls it once the event that produced them is handled.
  virtual void flush() noexcept {}
};

class ServerConnectionCallbacks {
 public:
  // A request begins. `encoder` answers it; the returned decoder receives it.
  virtual RequestDecoder& newStream(ResponseEncoder& encoder) noexcept = 0;

 protected:
  ~ServerConnectionCallbacks() = default;
};

class ServerConnection : public Connection {
 public:
  // Drain: HTTP/2 sends GOAWAY (a graceful one at once, the final one a round trip later);
  // HTTP/1 ends the connection after the response in progress (or at once when idle).
  virtual void shutdownNotice() noexcept = 0;
  // Streams open now (HTTP/1: 0 or 1).
  virtual uint32_t activeStreams() const noexcept = 0;
};

class ClientConnectionCallbacks {
 public:
  // The peer will take no new stream (HTTP/2 GOAWAY; HTTP/1 `connection: close`): the pool
  // stops handing out this connection. Streams up to `last_stream_id` go on.
  virtual void onGoAway() noexcept = 0;

 protected:
  ~ClientConnectionCallbacks() = default;
};

class ClientConnection : public Connection {
 public:
  // A new request on this connection. Only when streamsAvailable() > 0.
  virtual RequestEncoder& newStream(ResponseDecoder& decoder) noexcept = 0;
  // How many more streams it can take now (HTTP/1: 1 when idle; HTTP/2: the peer's
  // SETTINGS_MAX_CONCURRENT_STREAMS minus the open ones, 0 after GOAWAY).
  virtual uint32_t streamsAvailable() const noexcept = 0;
};

}  // namespace remora::http
