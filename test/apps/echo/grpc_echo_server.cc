#include "test/apps/echo/grpc_echo_server.h"

#include <spdlog/spdlog.h>

#include <random>

#include "common/http2/server_connection.h"
#include "common/tcp_connection.h"

namespace remora::echo {

// One downstream connection: socket events in, the HTTP/2 codec, and the calls of its streams.
class GrpcEchoServer::Conn final : public common::TcpConnection::Handler,
                                   public http::ServerConnectionCallbacks,
                                   public common::Deletable,
                                   public ConnectionSetMember<Conn> {
 public:
  explicit Conn(GrpcEchoServer& server)
      : ConnectionSetMember(server.conns_), server_(server), tcp_(server.loop_, *this) {}

  int start(uv_stream_t* listener) noexcept {
    int rc = tcp_.accept(listener);
    if (rc != 0) {
      return rc;
    }
    codec_ = std::make_unique<http2::ServerConnection>(tcp_, *this, http2::Settings{},
                                                       server_.stats_, server_.store_.shard(0));
    tcp_.readStart();
    return 0;
  }

  // Resets the open calls and closes the socket.
  void closeOnce() noexcept {
    if (codec_) {
      codec_->onConnectionClosed();
    }
    tcp_.close();
  }

  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override {
    auto call = std::make_unique<GrpcEchoCall>(server_.ctx_, encoder, [this](GrpcEchoCall& c) {
      auto it = calls_.find(&c);
      if (it != calls_.end()) {
        tcp_.loop().deferDelete(std::move(it->second));
        calls_.erase(it);
      }
    });
    GrpcEchoCall& raw = *call;
    encoder.setCallbacks(raw);
    calls_.emplace(&raw, std::move(call));
    return raw;
  }

  void onData(const char* data, size_t len) noexcept override {
    if (failed_ || codec_->dispatch(data, len)) {
      return;
    }
    // The GOAWAY is queued: close once it is written.
    spdlog::debug("grpc connection from {}: {}", tcp_.peerAddress().toString(),
                  codec_->errorDetail());
    failed_ = true;
    tcp_.readStop();
    codec_->onConnectionClosed();
    if (tcp_.pendingBytes() == 0) {
      closeNow();
    }
  }
  void onEof() noexcept override { closeNow(); }
  void onError(int err) noexcept override {
    spdlog::debug("grpc connection: {}", uv_strerror(err));
    closeNow();
  }
  void onHighWatermark() noexcept override {
    if (!failed_) {
      codec_->onUnderlyingAboveHighWatermark();
    }
  }
  void onLowWatermark() noexcept override {
    if (!failed_ && !closed()) {
      codec_->onUnderlyingBelowLowWatermark();
    }
  }
  void onDrained() noexcept override {
    if (failed_) {
      closeNow();
    }
  }

 private:
  GrpcEchoServer& server_;
  common::TcpConnection tcp_;
  std::unordered_map<GrpcEchoCall*, std::unique_ptr<GrpcEchoCall>> calls_;
  std::unique_ptr<http2::ServerConnection> codec_;  // after tcp_ and calls_: destroyed first
  bool failed_ = false;
};

GrpcEchoServer::GrpcEchoServer(common::EventLoop& loop, const GrpcEchoOptions& options)
    : loop_(loop),
      ctx_{loop,
           options.id,
           options.default_delay_ms,
           options.fail_rate,
           options.fail_status,
           kDefaultMaxMessageBytes,
           std::mt19937_64(options.seed != 0 ? options.seed : std::random_device{}()),
           {}},
      stats_(http2::Http2Stats::registerIn(store_)),
      conns_(loop, [this] { return std::make_unique<Conn>(*this); }) {}

GrpcEchoServer::~GrpcEchoServer() {
  close();
}

common::Status GrpcEchoServer::listen(std::string_view address, int backlog) {
  return conns_.listen(address, backlog);
}

void GrpcEchoServer::close() noexcept {
  conns_.close();
}

void GrpcEchoServer::logCounters() const {
  for (const auto& [status, n] : ctx_.ended) {
    if (status < 0) {
      spdlog::info("grpc calls reset before their end: {}", n);
    } else {
      spdlog::info("grpc calls ended with {} {}: {}", status >= 100 ? "HTTP" : "grpc-status",
                   status, n);
    }
  }
}

}  // namespace remora::echo
