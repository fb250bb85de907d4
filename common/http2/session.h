#pragma once
// What the HTTP/2 server and client connections share: one nghttp2 session fed by dispatch()
// and flushed into a TcpConnection, its streams (outgoing body queues behind nghttp2 data
// providers, incoming flow control), the flood limits and the counters.
//
// Output: every entry point (dispatch, an encode call, a watermark change) ends with one
// sendPending() that packs what nghttp2 has to send into one TcpConnection::write (a write every
// 64 KiB for large bursts). DATA stops while the socket is above its high watermark; the frames
// that answer the peer (acks, RST_STREAM, GOAWAY) keep going, bounded by the flood limits and
// by Settings::max_outbound_pending.
//
// Incoming flow control: nghttp2 does not send WINDOW_UPDATE by itself. The connection window is
// returned as soon as DATA is handed to a decoder; a stream's only while its receiver has not
// readDisable(true)'d it, so a slow receiver stops the peer after one stream window.

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/http/codec.h"
#include "common/http2/headers.h"
#include "common/http2/http2_stats.h"
#include "common/http2/settings.h"
#include "common/stats.h"
#include "common/tcp_connection.h"

namespace remora::http2 {

class Session;

// One stream, either side.
class Stream {
 public:
  explicit Stream(Session& session) noexcept : session_(session) {}
  virtual ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int32_t id() const noexcept { return id_; }
  bool closed() const noexcept { return closed_; }

 protected:
  friend class Session;

  // The side-specific part of receiving: one field of a header block, the end of a block
  // (`end_stream`: it ended the stream), body bytes, the end of the body by an empty DATA frame.
  virtual void onField(std::string_view name, std::string_view value) noexcept = 0;
  virtual void onHeadersEnd(bool end_stream) noexcept = 0;
  virtual void onBody(std::string_view data, bool end_stream) noexcept = 0;
  // The owner gave the last of its message (before anything is sent for it).
  virtual void onOutEnd() noexcept {}
  // The stream ended abnormally: tell the encoder's callbacks.
  void notifyReset(http::StreamResetReason reason) noexcept;

  // StreamEncoder, shared by both sides.
  void encodeData(std::string_view data, bool end_stream) noexcept;
  void encodeTrailers(const common::HeaderMap& trailers) noexcept;
  void resetStream(http::StreamResetReason reason) noexcept;
  void readDisable(bool disable) noexcept;
  void setCallbacks(http::StreamCallbacks& callbacks) noexcept { callbacks_ = &callbacks; }

  // Watermark depth: the stream's own queue and the connection's socket both count.
  void raiseWatermark() noexcept;
  void lowerWatermark() noexcept;
  // The owner has given the last of its message and received all of the peer's: by the codec
  // contract it may be gone, so it hears nothing more. (A stream we reset for the peer's fault
  // never delivered the end, whatever frames arrived.)
  bool ownerDone() const noexcept { return out_end_ && remote_end_ && !has_reason_; }

  Session& session_;
  int32_t id_ = -1;
  http::StreamCallbacks* callbacks_ = nullptr;
  std::list<std::unique_ptr<Stream>>::iterator self_;

  // Outgoing body: bytes from encodeData not yet taken by nghttp2 (from out_pos_ on).
  std::string out_;
  size_t out_pos_ = 0;
  bool out_end_ = false;       // encodeData(end_stream) or encodeTrailers seen
  bool has_trailers_ = false;  // out_trailers_ go after out_
  common::HeaderMap out_trailers_;
  bool deferred_ = false;  // the provider returned NGHTTP2_ERR_DEFERRED
  bool provider_attached_ = false;
  bool above_own_high_ = false;
  int watermark_depth_ = 0;

  // Incoming.
  bool read_disabled_ = false;
  size_t unconsumed_ = 0;  // body bytes received while read-disabled (window not returned)
  size_t header_bytes_ = 0;
  bool header_overflow_ = false;
  bool final_head_ = false;  // the (final) head arrived: the next block is trailers
  HeadDecoder head_decoder_;
  common::HeaderMap trailers_;

  // Lifecycle.
  bool local_end_ = false;   // END_STREAM sent
  bool remote_end_ = false;  // END_STREAM received
  bool local_reset_ = false;
  bool remote_rst_ = false;
  uint32_t remote_rst_code_ = 0;
  bool has_reason_ = false;  // we reset it for the reason below
  http::StreamResetReason reason_ = http::StreamResetReason::kLocalReset;
  bool closed_ = false;
  // Once END_STREAM is sent, RST_STREAM NO_ERROR tells the peer to stop sending the rest of a
  // request we answered early (RFC 9113 8.1).
  bool reset_after_end_ = false;
};

// The shared Connection part. Subclasses create streams and add their side's rules.
class Session : private common::EndOfIterationTask {
 public:
  Session(common::TcpConnection& conn, const Settings& settings, const Http2Stats& stats,
          common::StatsShard& shard) noexcept;
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool dispatchBytes(const char* data, size_t len) noexcept;
  http::CodecError codecError() const noexcept { return error_; }
  std::string_view codecErrorDetail() const noexcept { return error_detail_; }
  void aboveHighWatermark() noexcept;
  void belowLowWatermark() noexcept;
  // Every open stream is reset with `reason` (kConnectionTermination: the socket ended).
  void connectionClosed(
      http::StreamResetReason reason = http::StreamResetReason::kConnectionTermination) noexcept;
  // Sends what nghttp2 has queued (not while inside dispatch: dispatch flushes at its end).
  void sendPending() noexcept;
  // The same for a stream's frames, at the end of this loop iteration: what the streams give
  // from several callbacks of one iteration (requests from one downstream read, responses from
  // several upstream reads) is packed by one nghttp2_session_mem_send run into one write
  // (each run walks nghttp2's queues: per stream, it was a fifth of the session's send cost).
  // Inside dispatch: nothing to do (dispatch flushes at its end).
  void scheduleSend() noexcept;

  const Settings& settings() const noexcept { return settings_; }
  nghttp2_session* raw() noexcept { return session_; }
  size_t openStreams() const noexcept { return open_; }

 protected:
  friend class Stream;
  // Called by the subclass constructor: creates the nghttp2 session of its side and queues
  // and sends the opening (the client's preface), our SETTINGS and the connection window.
  void start(bool server) noexcept;
  // Takes ownership of a new stream (counted in streams_active until it closes).
  Stream& adopt(std::unique_ptr<Stream> stream) noexcept;
  // A HEADERS frame begins on `stream_id` (a new stream: server request, or a block on an
  // existing one). Returns the stream, or nullptr to ignore the block.
  virtual Stream* beginHeaders(const nghttp2_frame& frame) noexcept = 0;
  virtual void onGoAwayFrame(const nghttp2_goaway& /*goaway*/) noexcept {}
  virtual void onPingAck(const nghttp2_ping& /*ping*/) noexcept {}
  // The stream's headers are too large: answer (server) or reset (client).
  virtual void onHeaderOverflow(Stream& stream) noexcept = 0;

  // The data provider to submit with a head that does not end the stream.
  nghttp2_data_provider provider(Stream& stream) noexcept;
  // Ends the connection: GOAWAY with `code`, error() set (first one wins).
  void fail(uint32_t code, http::CodecError error, std::string_view detail) noexcept;
  void flood(FloodKind kind) noexcept;
  // A stream whose request could not be submitted: it ends with kRemoteRefused.
  void refuse(Stream& stream) noexcept;
  // Resets one stream for the peer's fault (RST_STREAM `code`); its callbacks hear `reason`.
  void resetForPeer(Stream& stream, http::StreamResetReason reason, uint32_t code) noexcept;
  // Counts one event of `kind` in the current window; false (and the connection failed) when
  // it passes `limit`.
  bool withinLimit(FloodKind kind, uint32_t limit) noexcept;
  void countLimit(LimitKind kind) noexcept;
  // HEADERS and DATA frames sent in the current flood window.
  uint64_t sentFramesInWindow() noexcept;
  bool dispatching() const noexcept { return dispatching_; }
  common::TcpConnection& conn() noexcept { return conn_; }

  nghttp2_session* session_ = nullptr;
  std::list<std::unique_ptr<Stream>> streams_;

 private:
  void submitSettings() noexcept;
  void closeStream(Stream& stream, uint32_t error_code) noexcept;
  void bury(Stream& stream) noexcept;
  void onHeader(const nghttp2_frame& frame, std::string_view name, std::string_view value) noexcept;
  void onFrameRecv(const nghttp2_frame& frame) noexcept;
  void onFrameSend(const nghttp2_frame& frame) noexcept;

  // nghttp2 trampolines.
  static int onBeginHeadersCb(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onHeaderCb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                        void* user);
  static int onFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onDataChunkCb(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user);
  static int onStreamCloseCb(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static int onFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onFrameNotSendCb(nghttp2_session*, const nghttp2_frame* frame, int error, void* user);
  static int onInvalidFrameCb(nghttp2_session*, const nghttp2_frame* frame, int error, void* user);
  static int onErrorCb(nghttp2_session*, int code, const char* msg, size_t len, void* user);
  static ssize_t readDataCb(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length,
                            uint32_t* flags, nghttp2_data_source* source, void* user);

  void onEndOfIteration() noexcept override;

  common::TcpConnection& conn_;
  common::EventLoop& loop_;
  bool send_scheduled_ = false;
  // The stream whose header block is being received (set at its first field, dropped at the
  // end of the dispatch): each field's callback finds it without a lookup in nghttp2's map.
  int32_t headers_stream_id_ = 0;
  Stream* headers_stream_ =
      nullptr;  // scheduleSend() registered a sendPending() at the iteration's end
  Settings settings_;
  const Http2Stats& stats_;
  common::StatsShard& shard_;
  http::CodecError error_ = http::CodecError::kNone;
  std::string error_detail_;
  std::string last_nghttp2_error_;
  std::string batch_;
  std::list<std::unique_ptr<Stream>> graveyard_;
  struct Window {
    uint64_t start_ms = 0;
    uint32_t count = 0;
  };
  std::array<Window, static_cast<size_t>(FloodKind::kCount)> windows_{};
  Window sent_;  // HEADERS and DATA frames we sent in the current flood window
  size_t open_ = 0;
  int depth_ = 0;  // nesting of public entry points: the graveyard empties at depth 0
  bool dispatching_ = false;
  bool flushing_ = false;
  bool socket_blocked_ = false;
  bool closed_ = false;
};

// The http::Connection half both codecs share, forwarding to Session.
template <typename Base>
class ConnectionImpl : public Base, protected Session {
 public:
  using Session::Session;
  bool dispatch(const char* data, size_t len) noexcept override { return dispatchBytes(data, len); }
  http::CodecError error() const noexcept override { return codecError(); }
  std::string_view errorDetail() const noexcept override { return codecErrorDetail(); }
  http::Protocol protocol() const noexcept override { return http::Protocol::kHttp2; }
  void onUnderlyingAboveHighWatermark() noexcept override { aboveHighWatermark(); }
  void onUnderlyingBelowLowWatermark() noexcept override { belowLowWatermark(); }
  void onConnectionClosed() noexcept override { connectionClosed(); }
};

// The StreamEncoder half of an encoder, forwarding to the shared Stream.
template <typename Encoder>
class StreamEncoderImpl : public Encoder, public Stream {
 public:
  explicit StreamEncoderImpl(Session& session) noexcept : Stream(session) {}
  void encodeData(std::string_view data, bool end_stream) noexcept override {
    Stream::encodeData(data, end_stream);
  }
  void encodeTrailers(const common::HeaderMap& trailers) noexcept override {
    Stream::encodeTrailers(trailers);
  }
  void resetStream(http::StreamResetReason reason) noexcept override {
    Stream::resetStream(reason);
  }
  void readDisable(bool disable) noexcept override { Stream::readDisable(disable); }
  void setCallbacks(http::StreamCallbacks& callbacks) noexcept override {
    Stream::setCallbacks(callbacks);
  }
  http::Protocol protocol() const noexcept override { return http::Protocol::kHttp2; }
};

}  // namespace remora::http2
