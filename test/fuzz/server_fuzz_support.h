#pragma once
// What the server-codec fuzz targets share: a request decoder that counts what arrives (head,
// body, trailers) and calls respond() when the request is complete, so the answer paths run
// too; and the socket the codec writes to.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "common/event_loop.h"
#include "common/http/codec.h"
#include "common/tcp_connection.h"

namespace remora::fuzz {

class CountingDecoder : public http::RequestDecoder {
 public:
  void decodeHeaders(http::RequestHead& h, bool end_stream) noexcept override {
    bytes += h.method.size() + h.path.size() + h.headers.byteSize();
    onHead(h);
    if (end_stream) {
      respond();
    }
  }
  void decodeData(std::string_view d, bool end_stream) noexcept override {
    bytes += d.size();
    if (end_stream) {
      respond();
    }
  }
  void decodeTrailers(common::HeaderMap& t) noexcept override {
    bytes += t.byteSize();
    respond();
  }

  // Bytes of the request so far (the answer's size derives from it).
  size_t bytes = 0;

 protected:
  ~CountingDecoder() = default;
  // The head arrived (before respond(), when the head ends the request).
  virtual void onHead(http::RequestHead&) noexcept {}
  // The request is complete (called again for a second end: answer once).
  virtual void respond() noexcept = 0;
};

// The codec's socket: one end of a socketpair as a TcpConnection on a loop of its own (the fuzz
// target feeds dispatch() itself, so the socket's events are ignored); what the codec writes is
// read from the other end and dropped by drain().
class FuzzSocket {
 public:
  FuzzSocket() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
      return;
    }
    peer_ = fds[1];
    fcntl(peer_, F_SETFL, O_NONBLOCK);
    conn_ = std::make_unique<common::TcpConnection>(loop_, handler_);
    conn_->open(fds[0]);
  }
  // The codec on conn() must be gone by now.
  ~FuzzSocket() {
    conn_.reset();
    loop_.closeAll();
    if (peer_ >= 0) {
      close(peer_);
    }
  }
  FuzzSocket(const FuzzSocket&) = delete;
  FuzzSocket& operator=(const FuzzSocket&) = delete;

  bool ok() const noexcept { return conn_ != nullptr; }
  common::TcpConnection& conn() noexcept { return *conn_; }
  common::EventLoop& loop() noexcept { return loop_; }
  // Reads (and drops) what the codec wrote so far.
  void drain() noexcept {
    char buf[65536];
    while (read(peer_, buf, sizeof(buf)) > 0) {
    }
  }

 private:
  class NullHandler final : public common::TcpConnection::Handler {
   public:
    void onData(const char*, size_t) noexcept override {}
    void onEof() noexcept override {}
    void onError(int) noexcept override {}
  };

  common::EventLoop loop_;
  NullHandler handler_;
  std::unique_ptr<common::TcpConnection> conn_;
  int peer_ = -1;
};

}  // namespace remora::fuzz
