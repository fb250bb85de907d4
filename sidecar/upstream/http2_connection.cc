#include "sidecar/upstream/http2_connection.h"

#include <algorithm>

#include "sidecar/worker.h"

namespace remora::sidecar {

namespace {

// Bytes queued on the socket past which every stream hears "above high watermark".
constexpr size_t kWriteHighWatermark = 1024 * 1024;
constexpr size_t kWriteLowWatermark = 256 * 1024;

}  // namespace

Http2UpstreamConnection::Http2UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                                                 const common::SocketAddress& address,
                                                 EndpointPool& pool)
    : worker_(worker),
      conn_(worker.loop(), *this),
      timer_(worker.loop().uv(), [this] { onTimer(); }),
      slot_(worker.stats(), cluster, pool),
      pool_(pool),
      idle_timeout_ms_(cluster.idle_timeout_ms) {
  pool_.h2.push_back(this);
  conn_.setWatermarks(kWriteHighWatermark, kWriteLowWatermark);
  int rc = conn_.connect(address);
  // The preface and SETTINGS queue until the connect completes.
  codec_ = std::make_unique<http2::ClientConnection>(conn_, *this, http2::Settings{},
                                                     worker_.http2Stats(), worker_.stats());
  if (rc != 0) {
    timer_.start(0);  // reported like an asynchronous failure, on the next loop turn
  } else {
    timer_.start(cluster.connect_timeout_ms);
  }
}

Http2UpstreamConnection::~Http2UpstreamConnection() {
  close();
}

bool Http2UpstreamConnection::available() const noexcept {
  return !closed_ && !retired_ && codec_->streamsAvailable() > 0;
}

http::RequestEncoder& Http2UpstreamConnection::attach(User& user,
                                                      http::ResponseDecoder& decoder) noexcept {
  streams_total_++;
  if (idle_timing_) {
    idle_timing_ = false;
    timer_.stop();
  }
  http::RequestEncoder& encoder = codec_->newStream(decoder);
  users_.push_back(Attached{&user, &encoder});
  return encoder;
}

void Http2UpstreamConnection::release(User& user, bool reusable) noexcept {
  auto it = findUser(user);
  if (it == users_.end()) {
    return;
  }
  // An abandoned try whose stream is still open: RST_STREAM CANCEL. (A stream complete both
  // ways is gone already.)
  if (!reusable && codec_->isOpen(*it->encoder)) {
    it->encoder->resetStream(http::StreamResetReason::kLocalReset);
  }
  removeUser(it);
}

void Http2UpstreamConnection::forget(User& user) noexcept {
  auto it = findUser(user);
  if (it != users_.end()) {
    removeUser(it);
  }
}

std::vector<Http2UpstreamConnection::Attached>::iterator Http2UpstreamConnection::findUser(
    User& user) noexcept {
  return std::find_if(users_.begin(), users_.end(),
                      [&](const Attached& a) { return a.user == &user; });
}

void Http2UpstreamConnection::removeUser(std::vector<Attached>::iterator it) noexcept {
  if (notifying_) {
    it->user = nullptr;  // compacted when the walk ends
    return;
  }
  *it = users_.back();
  users_.pop_back();
  if (users_.empty()) {
    onLastStreamGone();
  }
}

template <typename Fn>
void Http2UpstreamConnection::notifyUsers(Fn fn) noexcept {
  notifying_ = true;
  for (size_t i = 0; i < users_.size(); ++i) {  // (users attached meanwhile are told too)
    if (users_[i].user != nullptr) {
      fn(*users_[i].user);
    }
  }
  notifying_ = false;
  users_.erase(std::remove_if(users_.begin(), users_.end(),
                              [](const Attached& a) { return a.user == nullptr; }),
               users_.end());
  if (users_.empty()) {
    onLastStreamGone();
  }
}

void Http2UpstreamConnection::onLastStreamGone() noexcept {
  if (closed_) {
    return;
  }
  if (retired_ || worker_.draining()) {
    close();
    return;
  }
  if (connected_) {
    idle_timing_ = true;
    timer_.start(idle_timeout_ms_);
  }
}

void Http2UpstreamConnection::onTimer() noexcept {
  if (!connected_) {
    fail(http::StreamResetReason::kConnectionFailure);  // connect timeout
    return;
  }
  close();  // idle: no stream for the cluster's idle timeout
}

void Http2UpstreamConnection::retire() noexcept {
  retired_ = true;
  leavePool();
  if (users_.empty()) {
    close();
  }
}

void Http2UpstreamConnection::leavePool() noexcept {
  if (!in_pool_) {
    return;
  }
  in_pool_ = false;
  auto& list = pool_.h2;
  auto it = std::find(list.begin(), list.end(), this);
  if (it != list.end()) {
    list.erase(it);
  }
}

void Http2UpstreamConnection::close() noexcept {
  if (closed_) {
    return;
  }
  closed_ = true;
  leavePool();
  timer_.stop();
  // Streams still open hear the end (each try forgets this connection as it does).
  codec_->onConnectionClosed();
  users_.clear();
  conn_.close();
  slot_.release();
  worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(this));
}

void Http2UpstreamConnection::fail(http::StreamResetReason reason) noexcept {
  if (closed_) {
    return;
  }
  if (!connected_) {
    slot_.countConnectFailure();
    reason = http::StreamResetReason::kConnectionFailure;
  }
  retired_ = true;
  leavePool();  // a retry never picks it again
  codec_->onConnectionClosed(reason);
  close();
}

void Http2UpstreamConnection::onConnected(int status) noexcept {
  timer_.stop();
  if (status != 0) {
    fail(http::StreamResetReason::kConnectionFailure);
    return;
  }
  connected_ = true;
  conn_.readStart();
  // (With no user left, every try went away while connecting: it waits for the next ones.)
  notifyUsers([](User& u) { u.onUpstreamConnected(); });
}

void Http2UpstreamConnection::onData(const char* data, size_t len) noexcept {
  if (!codec_->dispatch(data, len)) {
    // A connection error: the codec sent GOAWAY; the streams end with the socket.
    fail(http::StreamResetReason::kProtocolError);
    return;
  }
  if (closed_ || users_.empty()) {
    return;
  }
  // Each try flushes what it corked downstream for this read.
  notifyUsers([](User& u) { u.onUpstreamReadEnd(); });
}

void Http2UpstreamConnection::onEof() noexcept {
  fail(http::StreamResetReason::kConnectionTermination);
}

void Http2UpstreamConnection::onError(int) noexcept {
  fail(http::StreamResetReason::kConnectionTermination);
}

void Http2UpstreamConnection::onHighWatermark() noexcept {
  codec_->onUnderlyingAboveHighWatermark();
}

void Http2UpstreamConnection::onLowWatermark() noexcept {
  codec_->onUnderlyingBelowLowWatermark();
}

void Http2UpstreamConnection::onDrained() noexcept {}

void Http2UpstreamConnection::onGoAway() noexcept {
  // Streams up to the peer's last stream id go on; the rest end kRemoteRefused (the codec).
  retire();
}

}  // namespace remora::sidecar
