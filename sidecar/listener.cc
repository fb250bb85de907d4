#include "sidecar/listener.h"

#include <spdlog/spdlog.h>

#include "common/recycled.h"
#include "common/tcp_listener.h"

#include "sidecar/http/connection_manager.h"
#include "sidecar/log_limiter.h"
#include "sidecar/protocol_detection.h"
#include "sidecar/tcp_proxy.h"

namespace remora::sidecar {

namespace {

// Holds a fresh connection until its first bytes (or the timeout) tell what it speaks.
class ProtocolDetector final : public common::Recycled<ProtocolDetector>,
                               public DownstreamConnection,
                               public common::TcpConnection::Handler {
 public:
  ProtocolDetector(Worker& worker, std::shared_ptr<const Snapshot> snapshot,
                   const ListenerConfig& listener, ListenerRuntime& runtime,
                   std::unique_ptr<common::TcpConnection> conn, const ConnectionInfo& info)
      : worker_(worker),
        snapshot_(std::move(snapshot)),
        listener_(listener),
        runtime_(runtime),
        conn_(std::move(conn)),
        info_(info),
        timer_(worker.loop().uv(), [this] { onTimeout(); }) {
    conn_->setHandler(*this);
    worker_.track(this);
    timer_.start(listener.detect_timeout_ms);
    conn_->readStart();
  }

  void onData(const char* data, size_t len) noexcept override {
    if (buf_.empty()) {
      // The usual case: the first read decides, and its bytes go on without a copy.
      std::string_view first(data, len);
      Detection d = detectHttp(first);
      if (d.decision != Detect::kMaybe) {
        decide(d, first);
        return;
      }
    }
    buf_.append(data, len);
    Detection d = detectHttp(buf_);
    if (d.decision != Detect::kMaybe) {
      decide(d, buf_);
    }
  }
  void onEof() noexcept override { close(); }
  void onError(int) noexcept override { close(); }

  void onDrain() noexcept override {}
  void closeNow() noexcept override { close(); }

 private:
  // Bytes that may still become a request line at the timeout are HTTP: the HTTP connection's
  // header timeout bounds the rest of the head.
  void onTimeout() noexcept { decide(detectAtTimeout(buf_), buf_); }

  // `bytes`: what was read so far (held in buf_, or the first read's own buffer).
  void decide(Detection d, std::string_view bytes) noexcept {
    worker_.stats().add(listener_.stats.detect[static_cast<size_t>(d.reason)]);
    if (d.reason == DetectReason::kSilent) {
      worker_.stats().add(listener_.stats.detect_timeout);
    }
    if (d.decision == Detect::kHttp) {
      spdlog::debug("listener {}: {} ({}, {} first bytes)", listener_.name,
                    d.reason == DetectReason::kHttp2Preface ? "HTTP/2" : "HTTP/1",
                    detectReasonName(d.reason), bytes.size());
    } else {
      logOpaque(d.reason, bytes);
    }
    handOff(d.decision == Detect::kHttp, bytes);
  }

  void logOpaque(DetectReason reason, std::string_view bytes) noexcept {
    // One line per opaque decision, a few a second per worker at most: a scan of odd clients
    // must not flood the log (remora_protocol_detect_total counts every one).
    thread_local LogLimiter limiter(5, 1000);
    uint64_t suppressed = 0;
    if (!limiter.allow(uv_now(worker_.loop().uv()), suppressed)) {
      return;
    }
    uint16_t port = info_.original_dst ? info_.original_dst->port() : info_.listener_port;
    if (reason == DetectReason::kSilent) {
      spdlog::info(
          "listener {}: no client bytes within {}ms on port {} (server-speaks-first?): proxying "
          "as opaque TCP; add the port to opaque_ports to skip detection{}",
          listener_.name, listener_.detect_timeout_ms, port, LogLimiter::note(suppressed));
    } else {
      spdlog::info(
          "listener {}: proxying a connection from {} to port {} as opaque TCP: the first bytes "
          "cannot begin a request line (first byte 0x{:02x}){}",
          listener_.name, conn_->peerAddress().toString(), port,
          static_cast<unsigned>(static_cast<unsigned char>(bytes[0])),
          LogLimiter::note(suppressed));
    }
  }

  void handOff(bool http, std::string_view bytes) noexcept {
    if (done_) {
      return;
    }
    done_ = true;
    timer_.stop();
    worker_.untrack(this);
    if (http) {
      auto* c =
          new ConnectionManager(worker_, snapshot_, listener_, runtime_, std::move(conn_), info_);
      c->start(bytes);
    } else {
      auto* p = new TcpProxy(worker_, snapshot_, listener_, runtime_, std::move(conn_), info_);
      p->start(bytes);
    }
    worker_.loop().deferDelete(std::unique_ptr<common::Deletable>(this));
  }

  void close() noexcept {
    if (done_) {
      return;
    }
    done_ = true;
    timer_.stop();
    conn_->close();
    retire(worker_, listener_.stats, runtime_, info_);
  }

  Worker& worker_;
  std::shared_ptr<const Snapshot> snapshot_;  // keeps listener_ alive
  const ListenerConfig& listener_;
  ListenerRuntime& runtime_;
  std::unique_ptr<common::TcpConnection> conn_;
  ConnectionInfo info_;
  common::Timer timer_;
  std::string buf_;
  bool done_ = false;
};

}  // namespace

WorkerListener::WorkerListener(Worker& worker, size_t listener_index, ListenerRuntime& runtime)
    : worker_(worker), index_(listener_index), runtime_(runtime) {}

WorkerListener::~WorkerListener() {
  stop();
}

int WorkerListener::start(int fd) noexcept {
  handle_ = new uv_tcp_t;
  uv_tcp_init(worker_.loop().uv(), handle_);
  handle_->data = this;
  int rc = uv_tcp_open(handle_, fd);
  if (rc == 0) {
    int len = sizeof(bound_.storage);
    uv_tcp_getsockname(handle_, bound_.sa(), &len);
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle_), 4096, onConnection);
  }
  return rc;
}

void WorkerListener::stop() noexcept {
  common::closeListener(handle_);
}

void WorkerListener::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<WorkerListener*>(server->data);
  if (self == nullptr) {
    return;
  }
  if (status < 0) {
    self->acceptFailed(status);
    return;
  }
  self->accept();
}

void WorkerListener::acceptFailed(int uv_err) noexcept {
  // EMFILE / ENFILE (libuv then drops the pending connection), ENOBUFS, ENOMEM...
  const ListenerConfig& lc = worker_.snapshot()->listeners[index_];
  worker_.stats().add(lc.stats.accept_error);
  noteRefusal(lc, uv_strerror(uv_err));
}

void WorkerListener::noteRefusal(const ListenerConfig& lc, const char* why) noexcept {
  uint64_t suppressed = 0;
  if (refusal_log_.allow(uv_now(worker_.loop().uv()), suppressed)) {
    spdlog::warn("listener {}: connection refused: {}{}", lc.name, why,
                 LogLimiter::note(suppressed));
  }
}

void WorkerListener::accept() noexcept {
  std::shared_ptr<const Snapshot> snap = worker_.snapshot();
  const ListenerConfig& lc = snap->listeners[index_];
  auto conn = std::make_unique<common::TcpConnection>(worker_.loop());
  if (int rc = conn->accept(reinterpret_cast<uv_stream_t*>(handle_)); rc != 0) {
    worker_.stats().add(lc.stats.accept_error);
    noteRefusal(lc, uv_strerror(rc));
    return;
  }
  worker_.stats().add(lc.stats.cx_total);
  // The listener's own limit, then the process-wide one (which keeps file descriptors for the
  // admin port and probes).
  const char* over = nullptr;
  if (runtime_.connections.fetch_add(1, std::memory_order_relaxed) >= lc.max_connections) {
    over = "the listener's max_connections reached";
  } else if (ConnectionBudget* b = runtime_.budget;
             b != nullptr && b->open.fetch_add(1, std::memory_order_relaxed) >= b->limit) {
    b->open.fetch_sub(1, std::memory_order_relaxed);
    over = "max_downstream_connections reached (the process-wide limit below the fd limit)";
  }
  if (over != nullptr) {
    runtime_.connections.fetch_sub(1, std::memory_order_relaxed);
    worker_.stats().add(lc.stats.cx_overflow);
    conn->close(true);
    noteRefusal(lc, over);
    return;
  }
  ConnectionInfo info;
  info.listener_port = bound_.port();
  info.original_dst = originalDestination(conn->fd(), bound_);
  info.accepted_ms = uv_now(worker_.loop().uv());
  uint16_t dst_port = info.original_dst ? info.original_dst->port() : info.listener_port;
  worker_.stats().add(lc.stats.cx_active[static_cast<size_t>(info.cx_protocol)], 1);
  if (lc.opaque || lc.opaque_ports.test(dst_port)) {
    auto* p = new TcpProxy(worker_, snap, lc, runtime_, std::move(conn), info);
    p->start({});
    return;
  }
  if (lc.http_only) {
    auto* h = new ConnectionManager(worker_, snap, lc, runtime_, std::move(conn), info);
    h->start({});
    return;
  }
  new ProtocolDetector(worker_, std::move(snap), lc, runtime_, std::move(conn), info);
}

}  // namespace remora::sidecar
