#include "common/http2/session.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/http2/allocator.h"

namespace remora::http2 {

namespace {

constexpr size_t kWriteBatch = 64 * 1024;
constexpr int32_t kGracefulLastStreamId = std::numeric_limits<int32_t>::max();

// Keeps streams closed during a call alive until the outermost entry point returns.
class Depth {
 public:
  explicit Depth(int& depth) noexcept : depth_(depth) { ++depth_; }
  ~Depth() { --depth_; }
  Depth(const Depth&) = delete;
  Depth& operator=(const Depth&) = delete;

 private:
  int& depth_;
};

http::StreamResetReason reasonFromCode(uint32_t code) noexcept {
  switch (code) {
    case NGHTTP2_REFUSED_STREAM:
      return http::StreamResetReason::kRemoteRefused;
    case NGHTTP2_PROTOCOL_ERROR:
    case NGHTTP2_FLOW_CONTROL_ERROR:
    case NGHTTP2_STREAM_CLOSED:
    case NGHTTP2_FRAME_SIZE_ERROR:
    case NGHTTP2_COMPRESSION_ERROR:
      return http::StreamResetReason::kProtocolError;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return http::StreamResetReason::kOverflow;
    default:
      return http::StreamResetReason::kConnectionTermination;
  }
}

uint32_t codeFromReason(http::StreamResetReason reason) noexcept {
  switch (reason) {
    case http::StreamResetReason::kRemoteRefused:
      return NGHTTP2_REFUSED_STREAM;
    case http::StreamResetReason::kProtocolError:
      return NGHTTP2_PROTOCOL_ERROR;
    case http::StreamResetReason::kOverflow:
      return NGHTTP2_ENHANCE_YOUR_CALM;
    default:
      return NGHTTP2_CANCEL;
  }
}

Stream* streamOf(nghttp2_session* s, int32_t id) noexcept {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(s, id));
}

}  // namespace

// ---- Stream -------------------------------------------------------------------------------

void Stream::notifyReset(http::StreamResetReason reason) noexcept {
  if (callbacks_ != nullptr) {
    callbacks_->onResetStream(reason);
  }
}

void Stream::raiseWatermark() noexcept {
  if (watermark_depth_++ == 0 && callbacks_ != nullptr && !ownerDone()) {
    callbacks_->onAboveWriteBufferHighWatermark();
  }
}

void Stream::lowerWatermark() noexcept {
  if (watermark_depth_ > 0 && --watermark_depth_ == 0 && callbacks_ != nullptr && !ownerDone()) {
    callbacks_->onBelowWriteBufferLowWatermark();
  }
}

void Stream::encodeData(std::string_view data, bool end_stream) noexcept {
  if (closed_ || local_reset_ || out_end_) {
    return;
  }
  out_.append(data);
  out_end_ = end_stream;
  if (end_stream) {
    onOutEnd();
  }
  if (!above_own_high_ && out_.size() - out_pos_ > session_.settings().stream_high_watermark) {
    above_own_high_ = true;
    raiseWatermark();
  }
  if (id_ >= 0 && deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_.raw(), id_);
  }
  session_.scheduleSend();  // may retire this stream: nothing after it
}

void Stream::encodeTrailers(const common::HeaderMap& trailers) noexcept {
  if (closed_ || local_reset_ || out_end_) {
    return;
  }
  out_trailers_ = trailers;
  has_trailers_ = true;
  encodeData({}, true);
}

void Stream::resetStream(http::StreamResetReason reason) noexcept {
  if (closed_ || local_reset_) {
    return;
  }
  local_reset_ = true;
  if (id_ >= 0) {
    nghttp2_submit_rst_stream(session_.raw(), NGHTTP2_FLAG_NONE, id_, codeFromReason(reason));
  } else {
    session_.closeStream(*this, NGHTTP2_CANCEL);  // never submitted: nothing to tell the peer
  }
  session_.scheduleSend();  // may retire this stream: nothing after it
}

void Stream::readDisable(bool disable) noexcept {
  read_disabled_ = disable;
  if (disable || unconsumed_ == 0 || closed_ || id_ < 0) {
    return;
  }
  nghttp2_session_consume_stream(session_.raw(), id_, unconsumed_);
  unconsumed_ = 0;
  session_.scheduleSend();
}

// ---- Session ------------------------------------------------------------------------------

Session::Session(common::TcpConnection& conn, const Settings& settings, const Http2Stats& stats,
                 common::StatsShard& shard) noexcept
    : conn_(conn), loop_(conn.loop()), settings_(settings), stats_(stats), shard_(shard) {}

Session::~Session() {
  if (send_scheduled_) {
    loop_.cancelEndOfIteration(*this);
  }
  for (auto& s : streams_) {
    if (s->id_ >= 0) {
      nghttp2_session_set_stream_user_data(session_, s->id_, nullptr);
    }
  }
  shard_.add(stats_.streams_active, -static_cast<int64_t>(open_));
  nghttp2_session_del(session_);
}

void Session::start(bool server) noexcept {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeadersCb);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeaderCb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecvCb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunkCb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamCloseCb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, onFrameSendCb);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, onFrameNotSendCb);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, onInvalidFrameCb);
  nghttp2_session_callbacks_set_error_callback2(cbs, onErrorCb);

  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_settings(option, settings_.max_settings_entries);
  nghttp2_option_set_max_continuations(option, settings_.max_continuations);
  nghttp2_option_set_max_outbound_ack(option, settings_.max_outbound_acks);
  // Our own reset limit (max_resets_per_window) answers with ENHANCE_YOUR_CALM and counts;
  // nghttp2's would answer INTERNAL_ERROR, so it is out of the way.
  nghttp2_option_set_stream_reset_rate_limit(option, std::numeric_limits<uint64_t>::max() / 2,
                                             std::numeric_limits<uint64_t>::max() / 2);
  // nghttp2 keeps a bounded number of closed streams (at most max_concurrent_streams), which
  // is how a frame on a recently closed stream is told from one on an idle stream.

  if (server) {
    nghttp2_session_server_new3(&session_, cbs, this, option, recyclingAllocator());
  } else {
    nghttp2_session_client_new3(&session_, cbs, this, option, recyclingAllocator());
  }
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cbs);
  submitSettings();
  sendPending();
}

void Session::submitSettings() noexcept {
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  size_t n = std::size(iv);
  if (nghttp2_session_check_server_session(session_) != 0) {
    --n;  // ENABLE_PUSH is the client's to send
  }
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, n);
  if (settings_.initial_connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(
        session_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(settings_.initial_connection_window));
  }
}

nghttp2_data_provider Session::provider(Stream& stream) noexcept {
  nghttp2_data_provider p;
  p.source.ptr = &stream;
  p.read_callback = readDataCb;
  stream.provider_attached_ = true;
  return p;
}

Stream& Session::adopt(std::unique_ptr<Stream> stream) noexcept {
  streams_.push_back(std::move(stream));
  Stream& s = *streams_.back();
  s.self_ = std::prev(streams_.end());
  ++open_;
  shard_.add(stats_.streams_active, 1);
  return s;
}

void Session::bury(Stream& s) noexcept {
  if (s.id_ >= 0) {
    nghttp2_session_set_stream_user_data(session_, s.id_, nullptr);
  }
  if (s.watermark_depth_ > 0) {
    s.watermark_depth_ = 0;  // no more callbacks for a closed stream
  }
  --open_;
  shard_.add(stats_.streams_active, -1);
  graveyard_.splice(graveyard_.end(), streams_, s.self_);
}

void Session::closeStream(Stream& s, uint32_t error_code) noexcept {
  if (s.closed_) {
    return;
  }
  s.closed_ = true;
  // Even a RST_STREAM NO_ERROR after a whole response (a server declining the rest of a
  // request body) is a reset for an owner still sending: its encoder dies here.
  if (!s.local_reset_ && !s.ownerDone()) {
    http::StreamResetReason reason;
    if (s.has_reason_) {
      reason = s.reason_;
    } else if (s.remote_rst_) {
      reason = s.remote_rst_code_ == NGHTTP2_REFUSED_STREAM
                   ? http::StreamResetReason::kRemoteRefused
                   : http::StreamResetReason::kRemoteReset;
    } else {
      reason = reasonFromCode(error_code);
    }
    s.notifyReset(reason);
  }
  bury(s);
}

void Session::fail(uint32_t code, http::CodecError error, std::string_view detail) noexcept {
  if (error_ == http::CodecError::kNone) {
    error_ = error;
    error_detail_.assign(detail);
  }
  nghttp2_session_terminate_session(session_, code);
}

void Session::flood(FloodKind kind) noexcept {
  if (error_ != http::CodecError::kNone) {
    return;
  }
  shard_.add(stats_.flood[static_cast<size_t>(kind)]);
  fail(NGHTTP2_ENHANCE_YOUR_CALM, http::CodecError::kFlood, floodKindName(kind));
}

void Session::refuse(Stream& s) noexcept {
  s.has_reason_ = true;
  s.reason_ = http::StreamResetReason::kRemoteRefused;
  closeStream(s, NGHTTP2_REFUSED_STREAM);
}

void Session::resetForPeer(Stream& s, http::StreamResetReason reason, uint32_t code) noexcept {
  s.has_reason_ = true;
  s.reason_ = reason;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id_, code);
}

bool Session::withinLimit(FloodKind kind, uint32_t limit) noexcept {
  Window& w = windows_[static_cast<size_t>(kind)];
  uint64_t now = conn_.loop().nowMs();
  if (w.count == 0 || now - w.start_ms >= settings_.flood_window_ms) {
    w.start_ms = now;
    w.count = 0;
  }
  if (++w.count > limit) {
    flood(kind);
    return false;
  }
  return true;
}

void Session::countLimit(LimitKind kind) noexcept {
  shard_.add(stats_.limit[static_cast<size_t>(kind)]);
}

bool Session::dispatchBytes(const char* data, size_t len) noexcept {
  if (error_ != http::CodecError::kNone || closed_) {
    return false;
  }
  {
    Depth depth(depth_);
    dispatching_ = true;
    ssize_t rc = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
    dispatching_ = false;
    headers_stream_ = nullptr;  // (streams closed in this dispatch may be freed after it)
    headers_stream_id_ = 0;
    if (rc < 0 && error_ == http::CodecError::kNone) {
      switch (rc) {
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
          fail(NGHTTP2_PROTOCOL_ERROR, http::CodecError::kBadMessage, "bad client preface");
          break;
        case NGHTTP2_ERR_FLOODED:
          flood(FloodKind::kOutboundQueue);
          break;
        case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
          flood(FloodKind::kContinuation);
          break;
        default:
          fail(NGHTTP2_INTERNAL_ERROR, http::CodecError::kBadMessage, nghttp2_strerror(rc));
          break;
      }
    }
  }
  sendPending();
  return error_ == http::CodecError::kNone;
}

void Session::scheduleSend() noexcept {
  if (dispatching_ || closed_ || send_scheduled_) {
    return;
  }
  send_scheduled_ = true;
  loop_.atEndOfIteration(*this);
}

void Session::onEndOfIteration() noexcept {
  send_scheduled_ = false;
  sendPending();
}

void Session::sendPending() noexcept {
  if (dispatching_ || flushing_ || closed_) {
    return;
  }
  {
    Depth depth(depth_);
    flushing_ = true;
    for (;;) {
      const uint8_t* p = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &p);
      if (n <= 0) {
        if (n < 0 && error_ == http::CodecError::kNone) {
          error_ = http::CodecError::kBadMessage;
          error_detail_ = nghttp2_strerror(static_cast<int>(n));
        }
        break;
      }
      batch_.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
      if (batch_.size() >= kWriteBatch) {
        conn_.write(batch_);
        batch_.clear();
      }
    }
    if (!batch_.empty()) {
      conn_.write(batch_);
      batch_.clear();
    }
    flushing_ = false;
    if (conn_.pendingBytes() > settings_.max_outbound_pending &&
        error_ == http::CodecError::kNone) {
      // Only answers to the peer grow the socket queue past its watermark (DATA has stopped):
      // a peer that does not read what it asks for. The GOAWAY is queued behind the rest.
      flood(FloodKind::kOutboundQueue);
      const uint8_t* p = nullptr;
      for (ssize_t n; (n = nghttp2_session_mem_send(session_, &p)) > 0;) {
        conn_.write(std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)));
      }
    }
  }
  if (depth_ == 0) {
    graveyard_.clear();
  }
}

void Session::aboveHighWatermark() noexcept {
  if (socket_blocked_) {
    return;
  }
  socket_blocked_ = true;
  Depth depth(depth_);
  for (auto it = streams_.begin(); it != streams_.end();) {
    Stream& s = **it++;  // a callback may reset (and retire) this stream
    s.raiseWatermark();
  }
}

void Session::belowLowWatermark() noexcept {
  if (!socket_blocked_) {
    return;
  }
  socket_blocked_ = false;
  {
    Depth depth(depth_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      Stream& s = **it++;
      if (s.deferred_ && s.id_ >= 0 && !s.closed_) {
        s.deferred_ = false;
        nghttp2_session_resume_data(session_, s.id_);
      }
      s.lowerWatermark();
    }
  }
  sendPending();
}

void Session::connectionClosed(http::StreamResetReason reason) noexcept {
  if (closed_) {
    return;
  }
  closed_ = true;
  {
    Depth depth(depth_);
    while (!streams_.empty()) {
      Stream& s = *streams_.front();
      s.closed_ = true;
      if (!s.local_reset_ && !s.ownerDone()) {
        s.notifyReset(reason);
      }
      bury(s);
    }
  }
  graveyard_.clear();
}

// ---- incoming -----------------------------------------------------------------------------

void Session::onHeader(const nghttp2_frame& frame, std::string_view name,
                       std::string_view value) noexcept {
  Stream* s = frame.hd.stream_id == headers_stream_id_ && headers_stream_ != nullptr
                  ? headers_stream_
                  : streamOf(session_, frame.hd.stream_id);
  if (s == nullptr || s->closed_ || error_ != http::CodecError::kNone) {
    return;
  }
  s->header_bytes_ += name.size() + value.size() + 32;
  if (s->header_bytes_ > settings_.max_header_list_size) {
    if (s->header_bytes_ >
        static_cast<size_t>(settings_.max_header_list_size) * settings_.hpack_bomb_factor) {
      flood(FloodKind::kHpackBomb);
      return;
    }
    if (!s->header_overflow_) {
      s->header_overflow_ = true;
      countLimit(LimitKind::kHeaderListTooLarge);
    }
    return;
  }
  if (!s->header_overflow_) {
    s->onField(name, value);
  }
}

void Session::onFrameRecv(const nghttp2_frame& frame) noexcept {
  if (error_ != http::CodecError::kNone) {
    return;
  }
  Stream* s = frame.hd.stream_id != 0 ? streamOf(session_, frame.hd.stream_id) : nullptr;
  bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame.hd.type) {
    case NGHTTP2_DATA:
      if (!end_stream && frame.hd.length <= frame.data.padlen &&
          !withinLimit(FloodKind::kEmptyData, settings_.max_empty_data_per_window)) {
        return;
      }
      if (s != nullptr && end_stream && !s->closed_) {
        s->remote_end_ = true;
        s->onBody({}, true);
      }
      break;
    case NGHTTP2_HEADERS:
      if (s == nullptr || s->closed_) {
        return;
      }
      if (end_stream) {
        s->remote_end_ = true;
      }
      if (s->header_overflow_) {
        onHeaderOverflow(*s);
      } else {
        s->onHeadersEnd(end_stream);
      }
      break;
    case NGHTTP2_RST_STREAM:
      shard_.add(stats_.rx_reset);
      if (s != nullptr && !s->closed_) {
        s->remote_rst_ = true;
        s->remote_rst_code_ = frame.rst_stream.error_code;
        if (!(s->remote_end_ && s->local_end_)) {
          withinLimit(FloodKind::kRapidReset, settings_.max_resets_per_window);
        }
      }
      break;
    case NGHTTP2_SETTINGS:
      if ((frame.hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        withinLimit(FloodKind::kSettings, settings_.max_settings_per_window);
      }
      break;
    case NGHTTP2_PING:
      if ((frame.hd.flags & NGHTTP2_FLAG_ACK) != 0) {
        onPingAck(frame.ping);
      } else {
        withinLimit(FloodKind::kPing, settings_.max_pings_per_window);
      }
      break;
    case NGHTTP2_GOAWAY:
      onGoAwayFrame(frame.goaway);
      break;
    case NGHTTP2_PRIORITY:
      withinLimit(FloodKind::kControlFrames, settings_.max_control_frames_per_window);
      break;
    case NGHTTP2_WINDOW_UPDATE: {
      // A peer returns window for what we sent: a busy connection legitimately sends a few per
      // frame of ours (grpcio: two per call), so the allowance grows with our HEADERS and DATA
      // frames in the same window; a flood is many of them for nothing sent.
      uint64_t sent = sentFramesInWindow();
      uint64_t limit =
          settings_.max_control_frames_per_window + settings_.window_updates_per_frame_sent * sent;
      withinLimit(FloodKind::kControlFrames,
                  static_cast<uint32_t>(std::min<uint64_t>(limit, UINT32_MAX)));
      break;
    }
    default:
      break;
  }
}

uint64_t Session::sentFramesInWindow() noexcept {
  uint64_t now = conn_.loop().nowMs();
  if (now - sent_.start_ms >= settings_.flood_window_ms) {
    sent_.start_ms = now;
    sent_.count = 0;
  }
  return sent_.count;
}

void Session::onFrameSend(const nghttp2_frame& frame) noexcept {
  if (frame.hd.type == NGHTTP2_DATA || frame.hd.type == NGHTTP2_HEADERS) {
    sentFramesInWindow();  // (rolls the window over first)
    ++sent_.count;
  }
  switch (frame.hd.type) {
    case NGHTTP2_GOAWAY: {
      if (frame.goaway.last_stream_id == kGracefulLastStreamId) {
        return;  // the drain's notice: the final one follows
      }
      uint32_t code = frame.goaway.error_code;
      shard_.add(stats_.goaway_sent[static_cast<size_t>(goAwayReasonFromCode(code))]);
      if (code != NGHTTP2_NO_ERROR && error_ == http::CodecError::kNone) {
        // A connection error nghttp2 found by itself.
        if (code == NGHTTP2_ENHANCE_YOUR_CALM) {
          shard_.add(stats_.flood[static_cast<size_t>(FloodKind::kSettings)]);
          error_ = http::CodecError::kFlood;
        } else {
          error_ = http::CodecError::kBadMessage;
        }
        error_detail_ = last_nghttp2_error_.empty() ? std::string(nghttp2_http2_strerror(code))
                                                    : last_nghttp2_error_;
      }
      return;
    }
    case NGHTTP2_RST_STREAM:
      if (frame.rst_stream.error_code == NGHTTP2_REFUSED_STREAM &&
          nghttp2_session_check_server_session(session_) != 0) {
        countLimit(LimitKind::kRefusedStream);
      }
      return;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      if ((frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
        if (Stream* s = streamOf(session_, frame.hd.stream_id)) {
          s->local_end_ = true;
          if (s->reset_after_end_ && !s->remote_end_) {
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_NO_ERROR);
          }
        }
      }
      return;
    default:
      return;
  }
}

// ---- trampolines --------------------------------------------------------------------------

int Session::onBeginHeadersCb(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Session*>(user);
  if (self->error_ != http::CodecError::kNone) {
    return 0;
  }
  if (Stream* s = self->beginHeaders(*frame)) {
    s->header_bytes_ = 0;
    self->headers_stream_id_ = frame->hd.stream_id;
    self->headers_stream_ = s;
  }
  return 0;
}

int Session::onHeaderCb(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                        size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                        void* user) {
  static_cast<Session*>(user)->onHeader(
      *frame, std::string_view(reinterpret_cast<const char*>(name), namelen),
      std::string_view(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

int Session::onFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  static_cast<Session*>(user)->onFrameRecv(*frame);
  return 0;
}

int Session::onDataChunkCb(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                           size_t len, void* user) {
  auto* self = static_cast<Session*>(user);
  nghttp2_session_consume_connection(self->session_, len);
  Stream* s = streamOf(self->session_, stream_id);
  if (s == nullptr || s->closed_ || self->error_ != http::CodecError::kNone) {
    nghttp2_session_consume_stream(self->session_, stream_id, len);
    return 0;
  }
  if (s->read_disabled_) {
    s->unconsumed_ += len;
  } else {
    nghttp2_session_consume_stream(self->session_, stream_id, len);
  }
  s->onBody(std::string_view(reinterpret_cast<const char*>(data), len), false);
  return 0;
}

int Session::onStreamCloseCb(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* self = static_cast<Session*>(user);
  if (Stream* s = streamOf(self->session_, stream_id)) {
    self->closeStream(*s, error_code);
  }
  return 0;
}

int Session::onFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  static_cast<Session*>(user)->onFrameSend(*frame);
  return 0;
}

int Session::onFrameNotSendCb(nghttp2_session*, const nghttp2_frame* frame, int error, void* user) {
  auto* self = static_cast<Session*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  // A request that never left (GOAWAY received, or the session is closing): nghttp2 may have
  // no stream for it, so find ours by id.
  for (auto& s : self->streams_) {
    if (s->id_ == frame->hd.stream_id && !s->closed_) {
      s->has_reason_ = true;
      s->reason_ = error == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED
                       ? http::StreamResetReason::kRemoteRefused
                       : http::StreamResetReason::kConnectionTermination;
      self->closeStream(*s, NGHTTP2_REFUSED_STREAM);
      break;
    }
  }
  return 0;
}

int Session::onInvalidFrameCb(nghttp2_session*, const nghttp2_frame* frame, int, void* user) {
  auto* self = static_cast<Session*>(user);
  if (frame->hd.stream_id == 0) {
    return 0;
  }
  // A stream error of the peer's making: nghttp2 resets the stream. Many of them are a flood
  // like rapid reset.
  if (Stream* s = streamOf(self->session_, frame->hd.stream_id); s != nullptr && !s->closed_) {
    s->has_reason_ = true;
    s->reason_ = http::StreamResetReason::kProtocolError;
  }
  self->withinLimit(FloodKind::kRapidReset, self->settings_.max_resets_per_window);
  return 0;
}

int Session::onErrorCb(nghttp2_session*, int, const char* msg, size_t len, void* user) {
  static_cast<Session*>(user)->last_nghttp2_error_.assign(msg, len);
  return 0;
}

ssize_t Session::readDataCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                            nghttp2_data_source* source, void* user) {
  auto* self = static_cast<Session*>(user);
  auto* s = static_cast<Stream*>(source->ptr);
  if (self->socket_blocked_ || self->conn_.aboveHighWatermark()) {
    s->deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t avail = s->out_.size() - s->out_pos_;
  size_t n = std::min(avail, length);
  std::memcpy(buf, s->out_.data() + s->out_pos_, n);
  s->out_pos_ += n;
  if (s->out_pos_ == s->out_.size()) {
    s->out_.clear();
    s->out_pos_ = 0;
  } else if (s->out_pos_ >= kWriteBatch && s->out_pos_ * 2 >= s->out_.size()) {
    s->out_.erase(0, s->out_pos_);
    s->out_pos_ = 0;
  }
  if (s->above_own_high_ && s->out_.size() - s->out_pos_ <= self->settings_.stream_low_watermark) {
    s->above_own_high_ = false;
    s->lowerWatermark();
  }
  if (n == avail && s->out_end_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s->has_trailers_) {
      NvList& nv = NvList::reused();
      encodeTrailers(s->out_trailers_, nv);
      if (nv.size() > 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_trailer(self->session_, s->id_, nv.data(), nv.size());
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    s->deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace remora::http2
