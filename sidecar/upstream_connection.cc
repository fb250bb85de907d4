#include "sidecar/upstream_connection.h"

#include <algorithm>

#include "sidecar/worker.h"

namespace remora::sidecar {

UpstreamConnection::UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                                       const common::SocketAddress& address, EndpointPool& pool)
    : worker_(worker),
      conn_(worker.loop(), *this),
      parser_(common::Http1Parser::Kind::kResponse, *this),
      timer_(worker.loop().uv(), [this] { fail(UpstreamFailure::kConnectFailure); }),
      stats_(cluster.stats),
      runtime_(cluster.runtime),
      address_(address),
      pool_(pool),
      max_idle_(cluster.max_idle_per_endpoint),
      idle_timeout_ms_(cluster.idle_timeout_ms) {
  pool_.open++;
  if (runtime_) {
    runtime_->connections.fetch_add(1, std::memory_order_relaxed);
  }
  worker_.stats().add(stats_.cx_total);
  worker_.stats().add(stats_.cx_active, 1);
  int rc = conn_.connect(address_);
  if (rc != 0) {
    // Reported through the same path as an asynchronous failure, on the next loop turn.
    timer_.start(0);
  } else {
    timer_.start(cluster.connect_timeout_ms);
  }
}

UpstreamConnection::~UpstreamConnection() { close(); }

void UpstreamConnection::attach(Client& client) noexcept {
  client_ = &client;
  requests_++;
  parser_.resume();  // it pauses after each response
  response_started_ = false;
  response_done_ = false;
  read_paused_ = false;
  parser_.expectHeadResponse(false);
  if (idle_) {
    removeFromIdle();
    timer_.stop();
  }
  conn_.readStart();
}

void UpstreamConnection::pauseReading() noexcept {
  read_paused_ = true;
  conn_.readStop();
}

void UpstreamConnection::removeFromIdle() noexcept {
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

void UpstreamConnection::release(bool reusable) noexcept {
  client_ = nullptr;
  if (!reusable) {
    // Corked bytes stay unsent: they belong to a request the stream gave up on (see
    // HttpConnection::feed), and the connection is closed anyway.
    close();
    return;
  }
  conn_.uncork();
  if (!keep_alive_ || closed_ || tunnel_ || !connected_ || pool_.idle.size() >= max_idle_ ||
      worker_.draining() || conn_.pendingBytes() > 0) {
    close();
    return;
  }
  if (in_parse_) {
    release_pending_ = true;  // goIdle() once the parser has returned
    return;
  }
  goIdle();
}

void UpstreamConnection::goIdle() noexcept {
  release_pending_ = false;
  idle_ = true;
  read_paused_ = false;
  pool_.idle.push_back(this);
  conn_.readStart();
  timer_.start(idle_timeout_ms_);
}

void UpstreamConnection::close() noexcept {
  if (closed_) {
    return;
  }
  closed_ = true;
  removeFromIdle();
  client_ = nullptr;
  timer_.stop();
  conn_.close();
  pool_.open--;
  if (runtime_) {
    runtime_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  worker_.stats().add(stats_.cx_active, -1);
  worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(this));
}

void UpstreamConnection::resumeReading() noexcept {
  read_paused_ = false;
  if (!closed_) {
    conn_.readStart();
  }
}

void UpstreamConnection::fail(UpstreamFailure f) noexcept {
  if (closed_) {
    return;
  }
  if (!connected_) {
    f = UpstreamFailure::kConnectFailure;
    worker_.stats().add(stats_.cx_connect_fail);
  }
  Client* c = client_;
  bool started = response_started_;
  close();
  if (c != nullptr) {
    c->onUpstreamFailure(f, started);
  }
}

void UpstreamConnection::onConnected(int status) noexcept {
  timer_.stop();
  if (status != 0) {
    fail(UpstreamFailure::kConnectFailure);
    return;
  }
  connected_ = true;
  if (!read_paused_) {
    conn_.readStart();
  }
  if (client_ != nullptr) {
    client_->onUpstreamConnected();
  } else {
    // The stream went away while connecting: keep the connection for the next one.
    release(true);
  }
}

void UpstreamConnection::onData(const char* data, size_t len) noexcept {
  if (idle_ || client_ == nullptr || release_pending_) {
    // Bytes on an idle keep-alive connection: the upstream is confused or closing. Drop it.
    close();
    return;
  }
  if (tunnel_) {
    client_->onUpstreamTunnelData({data, len});
    return;
  }
  response_started_ = true;
  in_parse_ = true;
  auto r = parser_.feed(data, len);
  in_parse_ = false;
  if (closed_) {
    return;
  }
  switch (r.status) {
    case common::Http1Parser::Status::kOk:
      break;
    case common::Http1Parser::Status::kPaused:
      // We pause after a complete response: bytes after it are a protocol error.
      if (r.consumed < len) {
        fail(UpstreamFailure::kProtocolError);
        return;
      }
      break;
    case common::Http1Parser::Status::kUpgrade:
      tunnel_ = true;
      if (client_ != nullptr) {
        client_->onUpstreamUpgrade({data + r.consumed, len - r.consumed});
      }
      break;
    case common::Http1Parser::Status::kError:
      fail(UpstreamFailure::kProtocolError);
      return;
  }
  if (release_pending_) {
    goIdle();
    return;
  }
  if (!closed_ && client_ != nullptr) {
    client_->onUpstreamReadEnd();
  }
}

void UpstreamConnection::onEof() noexcept {
  if (tunnel_ && client_ != nullptr) {
    client_->onUpstreamTunnelEof();
    return;
  }
  if (client_ != nullptr && parser_.inMessage() && parser_.headDone()) {
    // A response delimited by the connection's end completes here.
    if (parser_.finish() == common::Http1Parser::Status::kOk && response_done_) {
      close();
      return;
    }
  }
  fail(UpstreamFailure::kReset);
}

void UpstreamConnection::onError(int) noexcept { fail(UpstreamFailure::kReset); }

void UpstreamConnection::onHighWatermark() noexcept {
  if (client_ != nullptr) {
    client_->onUpstreamWriteBlocked();
  }
}

void UpstreamConnection::onLowWatermark() noexcept {
  if (client_ != nullptr) {
    client_->onUpstreamWriteUnblocked();
  }
}

void UpstreamConnection::onDrained() noexcept {
  if (client_ != nullptr) {
    client_->onUpstreamDrained();
  }
}

common::HeadAction UpstreamConnection::onHeaders(common::MessageHead& head) noexcept {
  if (client_ != nullptr) {
    client_->onUpstreamHeaders(head);
  }
  return common::HeadAction::kContinue;
}

void UpstreamConnection::onBody(std::string_view data) noexcept {
  if (client_ != nullptr) {
    client_->onUpstreamBody(data);
  }
}

bool UpstreamConnection::onMessageComplete() noexcept {
  const common::MessageHead& head = parser_.head();
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    return false;  // an interim response; the final one follows
  }
  if (head.status == 101) {
    return false;  // llhttp pauses for the upgrade itself
  }
  response_done_ = true;
  bool keep_alive = parser_.shouldKeepAlive();
  Client* c = client_;
  if (!keep_alive) {
    keep_alive_ = false;  // the upstream will close: never reuse
  }
  if (c != nullptr) {
    c->onUpstreamComplete();
  }
  return true;
}

}  // namespace remora::sidecar
