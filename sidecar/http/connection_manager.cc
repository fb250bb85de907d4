#include "sidecar/http/connection_manager.h"

#include <algorithm>

#include "common/http2/preface.h"
#include "common/http2/server_connection.h"
#include "sidecar/http/active_stream.h"

namespace remora::sidecar {

namespace {

// Open connections on a listener up to which idle HTTP/1 connections keep their buffers.
constexpr uint64_t kKeepBuffersUpTo = 128;

constexpr size_t kWriteHighWatermark = 256 * 1024;
constexpr size_t kWriteLowWatermark = 64 * 1024;
// Bytes of pipelined input held while a response is outstanding; reading stops beyond it.
constexpr size_t kMaxPendingInput = 64 * 1024;
constexpr uint64_t kLingerMs = 2000;

// The connection-level limits of a downstream HTTP/2 connection.
http2::Settings downstreamHttp2Settings(const common::ParserLimits& limits) {
  http2::Settings s;
  s.max_header_list_size = static_cast<uint32_t>(limits.max_header_bytes);
  return s;
}

}  // namespace

ConnectionManager::ConnectionManager(Worker& worker,
                                     std::shared_ptr<const Snapshot> listener_snapshot,
                                     const ListenerConfig& listener, ListenerRuntime& runtime,
                                     std::unique_ptr<common::TcpConnection> conn,
                                     const ConnectionInfo& info)
    : worker_(worker),
      listener_snapshot_(std::move(listener_snapshot)),
      snapshot_(listener_snapshot_),
      listener_(&listener),
      runtime_(runtime),
      conn_(std::move(conn)),
      info_(info),
      timer_(worker.loop().uv(), [this] { onTimer(); }) {
  conn_->setHandler(*this);
  conn_->setWatermarks(kWriteHighWatermark, kWriteLowWatermark);
  worker_.track(this);
}

ConnectionManager::~ConnectionManager() = default;

void ConnectionManager::start(std::string_view initial) noexcept {
  // The first request head is timed from the accept (protocol detection included): a client
  // that sends nothing, or too little, is not held until the idle timeout.
  uint64_t now = uv_now(worker_.loop().uv());
  uint64_t waited = info_.accepted_ms != 0 && now > info_.accepted_ms ? now - info_.accepted_ms : 0;
  uint64_t limit = listener_->header_read_timeout_ms;
  armTimer(TimerMode::kHeaderRead, limit > waited ? limit - waited : 0);
  conn_->readStart();
  draining_ = worker_.draining();
  if (!initial.empty()) {
    onData(initial.data(), initial.size());
  }
}

std::shared_ptr<const Snapshot> ConnectionManager::pinSnapshot() noexcept {
  // Read the index first: listener_ points into the previous stream's snapshot, which the
  // assignment below may free.
  const uint32_t index = listener_->index;
  snapshot_ = worker_.snapshot();
  if (index >= snapshot_->listeners.size()) {
    snapshot_ = listener_snapshot_;  // cannot happen: listeners never change position
  }
  listener_ = &snapshot_->listeners[index];
  return snapshot_;
}

std::string_view ConnectionManager::peerHost() noexcept {
  if (peer_host_.empty()) {
    peer_host_ = conn_->peerAddress().host();
  }
  return peer_host_;
}

// ---- input -------------------------------------------------------------------------------

void ConnectionManager::onData(const char* data, size_t len) noexcept {
  if (destroyed_ || closing_) {
    return;  // lingering close: discard what the client still sends
  }
  if (codec_ == nullptr && !chooseCodec(data, len)) {
    return;
  }
  dispatch(data, len);
}

bool ConnectionManager::chooseCodec(const char* data, size_t len) noexcept {
  http2::PrefaceSniffer::Verdict verdict = sniffer_.feed(std::string_view(data, len));
  if (verdict == http2::PrefaceSniffer::Verdict::kUndecided) {
    return false;  // may still become the preface
  }
  const bool h2 = verdict == http2::PrefaceSniffer::Verdict::kHttp2;
  countAs(worker_, listener_->stats, info_, h2 ? CxProtocol::kHttp2 : CxProtocol::kHttp1);
  if (h2) {
    codec_ = std::make_unique<http2::ServerConnection>(*conn_, *this,
                                                       downstreamHttp2Settings(listener_->limits),
                                                       worker_.http2Stats(), worker_.stats());
  } else {
    auto h1 = std::make_unique<http1::ServerConnection>(*conn_, *this, listener_->limits,
                                                        kMaxPendingInput);
    h1_ = h1.get();
    codec_ = std::move(h1);
  }
  if (draining_) {
    codec_->shutdownNotice();
  }
  // The bytes held from earlier reads go first. (They move out first: dispatch may re-enter.)
  std::string held = sniffer_.takeHeld();
  if (!held.empty()) {
    dispatch(held.data(), held.size());
  }
  return !destroyed_ && !closing_;
}

void ConnectionManager::dispatch(const char* data, size_t len) noexcept {
  for (ActiveStream* s : streams_) {
    s->onDispatchBegin();
  }
  in_dispatch_ = true;
  bool ok = codec_->dispatch(data, len);
  in_dispatch_ = false;
  afterCodec(ok);
}

void ConnectionManager::afterCodec(bool ok) noexcept {
  if (destroyed_ || closing_) {
    return;
  }
  if (!ok) {
    onCodecError();
    return;
  }
  // The request heads and this read's body bytes, in one write per upstream connection.
  if (streams_.size() == 1) {
    streams_.front()->onDispatchEnd();
  } else if (!streams_.empty()) {
    scratch_ = streams_;  // (a stream may finish inside)
    for (ActiveStream* s : scratch_) {
      s->onDispatchEnd();
    }
  }
  if (h1_ == nullptr) {
    return;  // HTTP/2: the codec deals with the rest; timers change as streams come and go
  }
  ActiveStream* stream = h1Stream();
  if (h1_->aborted()) {
    destroy();
    return;
  }
  if (h1_->closeRequested() && stream == nullptr) {
    closeGracefully();
    return;
  }
  // A request head that did not arrive whole must arrive within the header timeout.
  if (stream == nullptr && h1_->headInProgress() && timer_mode_ != TimerMode::kHeaderRead) {
    armTimer(TimerMode::kHeaderRead, listener_->header_read_timeout_ms);
  }
}

void ConnectionManager::onCodecError() noexcept {
  if (h1_ == nullptr) {
    // HTTP/2: the codec queued its GOAWAY; the streams are cut and the connection closes once
    // the GOAWAY has left.
    resetAllStreams();
    closeGracefully();
    return;
  }
  if (ActiveStream* open = h1Stream(); open != nullptr) {
    // The request went bad after its head (a bad chunk, an invalid Transfer-Encoding): what this
    // read produced for the upstream never leaves (the try's connection is closed corked).
    open->replyCodecError(codec_->error(), codec_->errorDetail(), nullptr);
    return;
  }
  http::ResponseEncoder& encoder = h1_->beginErrorExchange();
  auto* stream = new ActiveStream(*this, encoder);
  streams_.push_back(stream);
  stream->replyCodecError(h1_->error(), h1_->errorDetail(), &h1_->partialHead());
}

http::RequestDecoder& ConnectionManager::newStream(http::ResponseEncoder& encoder) noexcept {
  auto* stream = new ActiveStream(*this, encoder);
  streams_.push_back(stream);
  if (timer_mode_ != TimerMode::kLinger) {
    timer_.stop();  // the stream's own timers rule while it is open
  }
  return *stream;
}

void ConnectionManager::onStreamDone(ActiveStream& stream) noexcept {
  if (!streams_.empty() && streams_.back() == &stream) {
    streams_.pop_back();
  } else {
    auto it = std::find(streams_.begin(), streams_.end(), &stream);
    if (it != streams_.end()) {
      *it = streams_.back();
      streams_.pop_back();
    }
  }
  worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(&stream));
  if (destroyed_ || closing_) {
    return;
  }
  if (h1_ == nullptr) {
    if (streams_.empty()) {
      if (down_eof_) {
        closeGracefully();  // the client can send nothing more
      } else {
        armIdleTimer();
      }
    }
    return;
  }
  if (h1_->aborted()) {
    destroy();
    return;
  }
  if (h1_->closeRequested()) {
    closeGracefully();
    return;
  }
  // Keep-alive. Draining: the client was told keep-alive before the drain began; it may send
  // again, so the connection waits out the drain grace (see armIdleTimer).
  armIdleTimer();
  if (!in_dispatch_) {
    // With many connections open, an idle one gives its request buffers back (most of its
    // memory); with few, keeping them saves the handing back and forth on every request.
    if (runtime_.connections.load(std::memory_order_relaxed) > kKeepBuffersUpTo) {
      h1_->releaseIdleBuffers();  // (kept when pipelined requests wait)
    }
    in_dispatch_ = true;
    bool ok = h1_->resumePipelined();
    in_dispatch_ = false;
    afterCodec(ok);
  }
}

void ConnectionManager::onEof() noexcept {
  down_eof_ = true;
  if (closing_) {
    // Lingering close: done once our last bytes left (else onDrained arms the linger).
    if (conn_->pendingBytes() == 0) {
      destroy();
    }
    return;
  }
  if (h1_ == nullptr) {
    // Undecided, or HTTP/2: nothing more can arrive; open streams finish, then it closes.
    if (streams_.empty()) {
      destroy();
    }
    return;
  }
  http1::ServerConnection::EofAction action = h1_->onEof();
  if (destroyed_ || closing_) {
    return;
  }
  switch (action) {
    case http1::ServerConnection::EofAction::kAbort:
      destroy();
      break;
    case http1::ServerConnection::EofAction::kClose:
      closeGracefully();
      break;
    case http1::ServerConnection::EofAction::kFinish:
      if (streams_.empty() && !in_dispatch_) {
        // Pipelined requests wait: answer them, then close.
        in_dispatch_ = true;
        bool ok = h1_->resumePipelined();
        in_dispatch_ = false;
        afterCodec(ok);
      }
      break;
  }
}

void ConnectionManager::onError(int) noexcept {
  destroy();
}

void ConnectionManager::onHighWatermark() noexcept {
  if (codec_ != nullptr) {
    codec_->onUnderlyingAboveHighWatermark();
  }
}

void ConnectionManager::onLowWatermark() noexcept {
  if (codec_ != nullptr) {
    codec_->onUnderlyingBelowLowWatermark();
  }
}

void ConnectionManager::onDrained() noexcept {
  ActiveStream* stream = h1Stream();
  if (stream != nullptr && stream->tunnel()) {
    maybeFinishTunnel();
  } else if (closing_ && close_when_drained_) {
    destroy();
  } else if (closing_ && timer_mode_ != TimerMode::kLinger) {
    armTimer(TimerMode::kLinger, kLingerMs);
  }
}

// ---- tunnels -----------------------------------------------------------------------------

void ConnectionManager::noteTunnelActivity() noexcept {
  armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
}

void ConnectionManager::maybeFinishTunnel() noexcept {
  ActiveStream* stream = h1Stream();
  if (stream == nullptr || !stream->tunnelEnded() || destroyed_) {
    return;
  }
  if (conn_->pendingBytes() == 0 && stream->upstreamPendingBytes() == 0) {
    destroy();
  } else if (timer_mode_ != TimerMode::kLinger) {
    armTimer(TimerMode::kLinger, kLingerMs * 5);  // backstop for a peer that stopped reading
  }
}

// ---- the end -----------------------------------------------------------------------------

void ConnectionManager::closeGracefully() noexcept {
  if (closing_ || destroyed_) {
    return;
  }
  closing_ = true;
  worker_.connectionClosing();
  // The client said this was its last request, sent it whole and nothing after it: nothing
  // more will come, so the connection closes once our bytes are out, without lingering for
  // its EOF (nginx's lingering_close decides so too; HAProxy closes likewise).
  close_when_drained_ = h1_ != nullptr && !h1_->clientKeepAlive() && h1_->requestComplete() &&
                        !h1_->inMessage() && !h1_->hasPendingInput();
  if (h1_ != nullptr) {
    h1_->setDiscarding();
  } else {
    conn_->readStop();  // HTTP/2 (or undecided): nothing more is read
  }
  if (close_when_drained_ && conn_->pendingBytes() == 0) {
    destroy();  // (the close sends the FIN: no shutdown first)
    return;
  }
  conn_->shutdownAfterFlush();
  // Linger after the last byte left so the client reads the response before our close; a
  // client that never reads is cut off by the idle timeout.
  if (conn_->pendingBytes() == 0) {
    armTimer(TimerMode::kLinger, kLingerMs);
  } else {
    armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
  }
}

void ConnectionManager::onDrain() noexcept {
  draining_ = true;
  if (codec_ != nullptr) {
    codec_->shutdownNotice();  // HTTP/2: GOAWAY
  }
  if (streams_.empty() && (h1_ == nullptr || !h1_->inMessage()) && !closing_) {
    // Idle: a request may already be on its way. It is answered (with connection: close) if it
    // comes within the drain grace; at the end of the grace the connection is closed.
    armIdleTimer();
  }
}

void ConnectionManager::closeNow() noexcept {
  scratch_ = streams_;
  for (ActiveStream* s : scratch_) {
    s->closeNow();
  }
  destroy();
}

void ConnectionManager::resetAllStreams() noexcept {
  // Each stream hears the reset, records itself and leaves streams_.
  scratch_ = streams_;
  for (ActiveStream* s : scratch_) {
    s->onResetStream(http::StreamResetReason::kConnectionTermination);
  }
}

void ConnectionManager::destroy() noexcept {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  if (codec_ != nullptr) {
    codec_->onConnectionClosed();  // open streams are reset: each records itself and goes
  }
  resetAllStreams();  // (those the codec had already let go of)
  if (closing_) {
    worker_.connectionClosed();
  }
  timer_.stop();
  conn_->close();
  retire(worker_, listener_->stats, runtime_, info_);
}

// ---- timers ------------------------------------------------------------------------------

void ConnectionManager::armTimer(TimerMode mode, uint64_t ms) noexcept {
  timer_mode_ = mode;
  timer_.start(ms);
}

void ConnectionManager::armIdleTimer() noexcept {
  uint64_t ms = listener_->idle_timeout_ms;
  if (draining_) {
    ms = std::min(ms, worker_.drainGraceLeftMs());
  }
  armTimer(TimerMode::kIdle, ms);
}

void ConnectionManager::onTimer() noexcept {
  switch (timer_mode_) {
    case TimerMode::kIdle:
      if (draining_ && !closing_ && (h1Stream() == nullptr || !h1Stream()->tunnel())) {
        closeGracefully();  // end of the drain grace: a last response may still be leaving
        break;
      }
      destroy();
      break;
    case TimerMode::kLinger:
      destroy();
      break;
    case TimerMode::kHeaderRead: {
      if (!streams_.empty()) {
        break;  // the head is complete: the stream's timers rule
      }
      // Slowloris guard: the head did not arrive in time (counted from the accept for the first
      // request). A client that sent nothing at all is closed without an answer, as nginx does
      // (an HTTP/2 client: no request within the time, whatever frames it sent).
      worker_.stats().add(listener_->stats.header_timeout);
      if (h1_ != nullptr && h1_->headInProgress()) {
        worker_.stats().add(listener_->stats.bad_request);
        http::ResponseEncoder& encoder = h1_->beginErrorExchange();
        http::ResponseHead head;
        head.status = 408;
        head.content_length = 0;
        head.headers.add("content-length", "0");
        head.headers.add("x-remora-reason", "request-timeout");
        encoder.encodeHeaders(head, true);
      }
      closeGracefully();
      break;
    }
  }
}

}  // namespace remora::sidecar
