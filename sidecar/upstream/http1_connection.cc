#include "sidecar/upstream/http1_connection.h"

#include <algorithm>

#include "sidecar/worker.h"

namespace remora::sidecar {

Http1UpstreamConnection::Http1UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                                                 const common::SocketAddress& address,
                                                 EndpointPool& pool)
    : worker_(worker),
      conn_(worker.loop(), *this),
      codec_(conn_, *this),
      timer_(worker.loop().uv(), [this] { fail(http::StreamResetReason::kConnectionFailure); }),
      slot_(worker.stats(), cluster, pool),
      address_(address),
      pool_(pool),
      max_idle_(cluster.max_idle_per_endpoint),
      idle_timeout_ms_(cluster.idle_timeout_ms) {
  int rc = conn_.connect(address_);
  if (rc != 0) {
    // Reported through the same path as an asynchronous failure, on the next loop turn.
    timer_.start(0);
  } else {
    timer_.start(cluster.connect_timeout_ms);
  }
}

Http1UpstreamConnection::~Http1UpstreamConnection() {
  close();
}

http::RequestEncoder& Http1UpstreamConnection::attach(User& user,
                                                      http::ResponseDecoder& decoder) noexcept {
  user_ = &user;
  exchanges_++;
  if (idle_) {
    removeFromIdle();
    timer_.stop();
  }
  conn_.readStart();
  return codec_.newStream(decoder);
}

void Http1UpstreamConnection::removeFromIdle() noexcept {
  if (!idle_) {
    return;
  }
  idle_ = false;
  auto& idle = pool_.idle;
  auto it = std::find(idle.begin(), idle.end(), this);
  if (it != idle.end()) {
    idle.erase(it);
  }
}

void Http1UpstreamConnection::release(User&, bool reusable) noexcept {
  releaseExchange(reusable);
}

void Http1UpstreamConnection::releaseExchange(bool reusable) noexcept {
  user_ = nullptr;
  if (!reusable || codec_.busy()) {
    // Corked bytes stay unsent: they belong to a request the try gave up on, and the
    // connection is closed anyway.
    if (codec_.busy()) {
      codec_.resetStream(http::StreamResetReason::kLocalReset);
    }
    close();
    return;
  }
  conn_.uncork();
  if (!codec_.reusable() || closed_ || !connected_ || pool_.idle.size() >= max_idle_ ||
      worker_.draining() || conn_.pendingBytes() > 0) {
    close();
    return;
  }
  if (in_dispatch_) {
    release_pending_ = true;  // goIdle() once the codec has returned
    return;
  }
  goIdle();
}

void Http1UpstreamConnection::goIdle() noexcept {
  release_pending_ = false;
  idle_ = true;
  pool_.idle.push_back(this);
  conn_.readStart();
  timer_.start(idle_timeout_ms_);
}

void Http1UpstreamConnection::close() noexcept {
  if (closed_) {
    return;
  }
  closed_ = true;
  removeFromIdle();
  user_ = nullptr;
  timer_.stop();
  conn_.close();
  slot_.release();
  worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(this));
}

void Http1UpstreamConnection::fail(http::StreamResetReason reason) noexcept {
  if (closed_) {
    return;
  }
  if (!connected_) {
    reason = http::StreamResetReason::kConnectionFailure;
    slot_.countConnectFailure();
  }
  // The connection is closed before the try hears of it: a retry never picks it again.
  bool was_connected = connected_;
  user_ = nullptr;
  close();
  if (was_connected && !codec_.tunnel()) {
    codec_.onConnectionClosed();  // completes a response delimited by the connection's end
  } else {
    codec_.failStream(reason);
  }
}

void Http1UpstreamConnection::onConnected(int status) noexcept {
  timer_.stop();
  if (status != 0) {
    fail(http::StreamResetReason::kConnectionFailure);
    return;
  }
  connected_ = true;
  if (!codec_.readDisabled()) {
    conn_.readStart();
  }
  if (user_ != nullptr) {
    user_->onUpstreamConnected();
  } else {
    // The try went away while connecting: keep the connection for the next one.
    releaseExchange(true);
  }
}

void Http1UpstreamConnection::onData(const char* data, size_t len) noexcept {
  if (idle_ || release_pending_ || !codec_.busy()) {
    // Bytes on an idle keep-alive connection: the upstream is confused or closing. Drop it.
    close();
    return;
  }
  in_dispatch_ = true;
  bool ok = codec_.dispatch(data, len);
  in_dispatch_ = false;
  if (!ok) {
    // Not HTTP/1 (the codec reset the exchange), or bytes after a complete response.
    close();
    return;
  }
  if (closed_) {
    return;
  }
  if (release_pending_) {
    if (codec_.reusable()) {
      goIdle();
    } else {
      close();  // the response said the upstream closes after it
    }
    return;
  }
  if (user_ != nullptr) {
    user_->onUpstreamReadEnd();
  }
}

void Http1UpstreamConnection::onEof() noexcept {
  if (codec_.busy() && codec_.tunnel()) {
    codec_.onConnectionClosed();  // the tunnel's upstream half ends; our side may still write
    return;
  }
  fail(http::StreamResetReason::kConnectionTermination);
}

void Http1UpstreamConnection::onError(int) noexcept {
  fail(http::StreamResetReason::kConnectionTermination);
}

void Http1UpstreamConnection::onHighWatermark() noexcept {
  codec_.onUnderlyingAboveHighWatermark();
}

void Http1UpstreamConnection::onLowWatermark() noexcept {
  codec_.onUnderlyingBelowLowWatermark();
}

void Http1UpstreamConnection::onDrained() noexcept {
  if (user_ != nullptr) {
    user_->onUpstreamDrained();
  }
}

}  // namespace remora::sidecar
