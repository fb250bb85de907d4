#include "sidecar/http/connection_manager.h"

#include <algorithm>

#include "sidecar/http/active_stream.h"

namespace remora::sidecar {

namespace {

constexpr size_t kWriteHighWatermark = 256 * 1024;
constexpr size_t kWriteLowWatermark = 64 * 1024;
// Bytes of pipelined input held while a response is outstanding; reading stops beyond it.
constexpr size_t kMaxPendingInput = 64 * 1024;
constexpr uint64_t kLingerMs = 2000;

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
      codec_(std::make_unique<http1::ServerConnection>(*conn_, *this, listener.limits,
                                                       kMaxPendingInput)),
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
  if (worker_.draining()) {
    draining_ = true;
    codec_->shutdownNotice();
  }
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
  dispatch(data, len);
}

void ConnectionManager::dispatch(const char* data, size_t len) noexcept {
  if (stream_ != nullptr) {
    stream_->onDispatchBegin();
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
  if (stream_ != nullptr) {
    stream_->onDispatchEnd();  // the request head and this read's body bytes, in one write
  }
  if (codec_->aborted()) {
    destroy();
    return;
  }
  if (codec_->closeRequested() && stream_ == nullptr) {
    closeGracefully();
    return;
  }
  // A request head that did not arrive whole must arrive within the header timeout.
  if (stream_ == nullptr && codec_->headInProgress() && timer_mode_ != TimerMode::kHeaderRead) {
    armTimer(TimerMode::kHeaderRead, listener_->header_read_timeout_ms);
  }
}

void ConnectionManager::onCodecError() noexcept {
  if (stream_ != nullptr) {
    // The request went bad after its head (a bad chunk, an invalid Transfer-Encoding): what this
    // read produced for the upstream never leaves (the try's connection is closed corked).
    stream_->replyCodecError(codec_->error(), codec_->errorDetail(), nullptr);
    return;
  }
  http::ResponseEncoder& encoder = codec_->beginErrorExchange();
  auto* stream = new ActiveStream(*this, encoder);
  stream_ = stream;
  stream->replyCodecError(codec_->error(), codec_->errorDetail(), &codec_->partialHead());
}

http::RequestDecoder& ConnectionManager::newStream(http::ResponseEncoder& encoder) noexcept {
  auto* stream = new ActiveStream(*this, encoder);
  stream_ = stream;
  if (timer_mode_ != TimerMode::kLinger) {
    timer_.stop();  // the stream's own timers rule while it is open
  }
  return *stream;
}

void ConnectionManager::onStreamDone(ActiveStream& stream) noexcept {
  if (&stream == stream_) {
    stream_ = nullptr;
  }
  worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(&stream));
  if (destroyed_ || closing_) {
    return;
  }
  if (codec_->aborted()) {
    destroy();
    return;
  }
  if (codec_->closeRequested()) {
    closeGracefully();
    return;
  }
  // Keep-alive. Draining: the client was told keep-alive before the drain began; it may send
  // again, so the connection waits out the drain grace (see armIdleTimer).
  armIdleTimer();
  if (!in_dispatch_) {
    in_dispatch_ = true;
    bool ok = codec_->resumePipelined();
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
  http1::ServerConnection::EofAction action = codec_->onEof();
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
      if (stream_ == nullptr && !in_dispatch_) {
        // Pipelined requests wait: answer them, then close.
        in_dispatch_ = true;
        bool ok = codec_->resumePipelined();
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
  codec_->onUnderlyingAboveHighWatermark();
}

void ConnectionManager::onLowWatermark() noexcept {
  codec_->onUnderlyingBelowLowWatermark();
}

void ConnectionManager::onDrained() noexcept {
  if (stream_ != nullptr && stream_->tunnel()) {
    maybeFinishTunnel();
  } else if (closing_ && timer_mode_ != TimerMode::kLinger) {
    armTimer(TimerMode::kLinger, kLingerMs);
  }
}

// ---- tunnels -----------------------------------------------------------------------------

void ConnectionManager::noteTunnelActivity() noexcept {
  armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
}

void ConnectionManager::maybeFinishTunnel() noexcept {
  if (stream_ == nullptr || !stream_->tunnelEnded() || destroyed_) {
    return;
  }
  if (conn_->pendingBytes() == 0 && stream_->upstreamPendingBytes() == 0) {
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
  codec_->setDiscarding();
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
  codec_->shutdownNotice();
  if (stream_ == nullptr && !codec_->inMessage() && !closing_) {
    // Idle: a request may already be on its way. It is answered (with connection: close) if it
    // comes within the drain grace; at the end of the grace the connection is closed.
    armIdleTimer();
  }
}

void ConnectionManager::closeNow() noexcept {
  if (stream_ != nullptr) {
    stream_->closeNow();
  }
  destroy();
}

void ConnectionManager::destroy() noexcept {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  codec_->onConnectionClosed();  // an open stream is reset: it records itself and goes
  if (stream_ != nullptr) {
    stream_->onResetStream(http::StreamResetReason::kConnectionTermination);
  }
  if (closing_) {
    worker_.connectionClosed();
  }
  timer_.stop();
  conn_->close();
  retire(worker_, listener_->stats, runtime_);
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
      if (draining_ && !closing_ && (stream_ == nullptr || !stream_->tunnel())) {
        closeGracefully();  // end of the drain grace: a last response may still be leaving
        break;
      }
      destroy();
      break;
    case TimerMode::kLinger:
      destroy();
      break;
    case TimerMode::kHeaderRead: {
      if (stream_ != nullptr) {
        break;  // the head is complete: the stream's timers rule
      }
      // Slowloris guard: the head did not arrive in time (counted from the accept for the first
      // request). A client that sent nothing at all is closed without an answer, as nginx does.
      worker_.stats().add(listener_->stats.header_timeout);
      if (codec_->headInProgress()) {
        worker_.stats().add(listener_->stats.bad_request);
        http::ResponseEncoder& encoder = codec_->beginErrorExchange();
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
