#pragma once
// TcpEchoServer: remora-echo's --tcp mode. Not HTTP: every byte received is sent back. With a
// banner, the server speaks first (like MySQL or SMTP): "<banner>\n" right after accept.
// When the peer half-closes, the echo is flushed and the connection closed. A peer that does
// not read is not read from either (watermarks), so memory stays bounded.
// Call close() before EventLoop::closeAll().

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/socket_address.h"
#include "common/status.h"
#include "test/apps/echo/connection_set.h"

namespace remora::echo {

class TcpEchoServer {
 public:
  TcpEchoServer(common::EventLoop& loop, std::optional<std::string> banner);
  ~TcpEchoServer();
  TcpEchoServer(const TcpEchoServer&) = delete;
  TcpEchoServer& operator=(const TcpEchoServer&) = delete;

  common::Status listen(std::string_view address, int backlog = 1024);
  const common::SocketAddress& boundAddress() const noexcept { return conns_.boundAddress(); }
  // Stops listening and closes every connection. Idempotent.
  void close() noexcept;

 private:
  class Conn;

  common::EventLoop& loop_;
  std::optional<std::string> banner_;
  ConnectionSet<Conn> conns_;
};

}  // namespace remora::echo
