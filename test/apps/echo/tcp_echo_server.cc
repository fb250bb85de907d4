#include "test/apps/echo/tcp_echo_server.h"

#include <spdlog/spdlog.h>

#include "common/tcp_connection.h"

namespace remora::echo {

class TcpEchoServer::Conn final : public common::TcpConnection::Handler,
                                  public common::Deletable,
                                  public ConnectionSetMember<Conn> {
 public:
  explicit Conn(TcpEchoServer& server)
      : ConnectionSetMember(server.conns_), server_(server), tcp_(server.loop_, *this) {}

  int start(uv_stream_t* listener) noexcept {
    int rc = tcp_.accept(listener);
    if (rc != 0) {
      return rc;
    }
    if (server_.banner_) {
      tcp_.write(*server_.banner_, "\n");
    }
    tcp_.readStart();
    return 0;
  }

  void closeOnce() noexcept { tcp_.close(); }

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
    if (!eof_ && !closed()) {
      tcp_.readStart();
    }
  }
  void onDrained() noexcept override {
    if (eof_) {
      closeNow();
    }
  }

 private:
  TcpEchoServer& server_;
  common::TcpConnection tcp_;
  bool eof_ = false;
};

TcpEchoServer::TcpEchoServer(common::EventLoop& loop, std::optional<std::string> banner)
    : loop_(loop),
      banner_(std::move(banner)),
      conns_(loop, [this] { return std::make_unique<Conn>(*this); }) {}

TcpEchoServer::~TcpEchoServer() {
  close();
}

common::Status TcpEchoServer::listen(std::string_view address, int backlog) {
  return conns_.listen(address, backlog);
}

void TcpEchoServer::close() noexcept {
  conns_.close();
}

}  // namespace remora::echo
