#include "test/apps/echo/tcp_echo_server.h"

#include "common/tcp_listener.h"

#include <spdlog/spdlog.h>

#include "common/tcp_connection.h"

namespace remora::echo {

class TcpEchoServer::Conn final : public common::TcpConnection::Handler, public common::Deletable {
 public:
  Conn(TcpEchoServer& server) : server_(&server), tcp_(server.loop_, *this) {}

  int start(uv_stream_t* listener) noexcept {
    int rc = tcp_.accept(listener);
    if (rc != 0) {
      return rc;
    }
    if (server_->banner_) {
      tcp_.write(*server_->banner_, "\n");
    }
    tcp_.readStart();
    return 0;
  }

  void detach() noexcept { server_ = nullptr; }

  void closeNow() noexcept {
    if (closed_) {
      return;
    }
    closed_ = true;
    tcp_.close();
    if (server_ != nullptr) {
      TcpEchoServer* s = server_;
      server_ = nullptr;
      s->release(this);
    }
  }

  void onData(const char* data, size_t len) noexcept override {
    tcp_.write(std::string_view(data, len));
  }
  void onEof() noexcept override {
    eof_ = true;
    if (tcp_.pendingBytes() == 0) {
      closeNow();
    }
  }
  void onError(int err) noexcept override {
    spdlog::debug("tcp echo: {}", uv_strerror(err));
    closeNow();
  }
  void onHighWatermark() noexcept override {
    if (!eof_) {
      tcp_.readStop();
    }
  }
  void onLowWatermark() noexcept override {
    if (!eof_ && !closed_) {
      tcp_.readStart();
    }
  }
  void onDrained() noexcept override {
    if (eof_) {
      closeNow();
    }
  }

 private:
  TcpEchoServer* server_;
  common::TcpConnection tcp_;
  bool eof_ = false;
  bool closed_ = false;
};

TcpEchoServer::TcpEchoServer(common::EventLoop& loop, std::optional<std::string> banner)
    : loop_(loop), banner_(std::move(banner)) {}

TcpEchoServer::~TcpEchoServer() {
  close();
}

common::Status TcpEchoServer::listen(std::string_view address, int backlog) {
  auto handle = common::listenTcp(loop_, address, backlog, onConnection, this, &bound_);
  if (!handle.isOk()) {
    return handle.status();
  }
  listener_ = handle.value();
  return common::Status::ok();
}

void TcpEchoServer::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpEchoServer*>(server->data);
  if (self == nullptr || status < 0) {
    return;
  }
  auto conn = std::make_unique<Conn>(*self);
  if (conn->start(server) != 0) {
    conn->detach();
    conn->closeNow();
    return;
  }
  Conn* raw = conn.get();
  self->conns_.emplace(raw, std::move(conn));
}

void TcpEchoServer::release(Conn* conn) noexcept {
  auto it = conns_.find(conn);
  if (it != conns_.end()) {
    loop_.deferDelete(std::move(it->second));
    conns_.erase(it);
  }
}

void TcpEchoServer::close() noexcept {
  common::closeListener(listener_);
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [raw, conn] : conns) {
    conn->detach();
    conn->closeNow();
    loop_.deferDelete(std::move(conn));
  }
}

}  // namespace remora::echo
