#pragma once
// GrpcEchoServer: remora-echo's --grpc mode. The listener speaks HTTP/2 with prior knowledge
// (h2c) through the project's HTTP/2 server codec; each stream is one GrpcEchoCall of the
// remora.echo.v1.Echo service (echo.proto; behaviour in grpc_echo_call.h).
// A connection whose bytes are not valid HTTP/2 gets GOAWAY and is closed once it is sent.
// Call close() before EventLoop::closeAll().

#include <memory>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/http2/http2_stats.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/status.h"
#include "test/apps/echo/connection_set.h"
#include "test/apps/echo/grpc_echo_call.h"

namespace remora::echo {

struct GrpcEchoOptions {
  std::string id;
  uint64_t default_delay_ms = 0;
  double fail_rate = 0;
  uint32_t fail_status = static_cast<uint32_t>(grpc::Status::kUnavailable);
  uint64_t seed = 0;  // 0: from std::random_device
};

class GrpcEchoServer {
 public:
  GrpcEchoServer(common::EventLoop& loop, const GrpcEchoOptions& options);
  ~GrpcEchoServer();
  GrpcEchoServer(const GrpcEchoServer&) = delete;
  GrpcEchoServer& operator=(const GrpcEchoServer&) = delete;

  common::Status listen(std::string_view address, int backlog = 1024);
  const common::SocketAddress& boundAddress() const noexcept { return conns_.boundAddress(); }
  // The instance id (known once the port is: it may default to echo-<port>).
  void setId(std::string id) { ctx_.id = std::move(id); }
  // Stops listening and closes every connection (open calls are reset). Idempotent.
  void close() noexcept;
  // Logs how many calls ended with each grpc-status (info).
  void logCounters() const;

 private:
  class Conn;

  common::EventLoop& loop_;
  GrpcEchoContext ctx_;
  common::StatsStore store_{1};
  http2::Http2Stats stats_;
  ConnectionSet<Conn> conns_;  // last: its connections use the members above
};

}  // namespace remora::echo
