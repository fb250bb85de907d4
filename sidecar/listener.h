#pragma once
// WorkerListener: one worker's SO_REUSEPORT socket for one configured listener. It accepts,
// enforces the listener's connection limit, reads the original destination, and runs protocol
// detection: opaque ports go straight to the TCP proxy; otherwise the first bytes decide between
// HTTP/1 and opaque TCP (sidecar/protocol_detection.h: HTTP for anything that is or may still
// become a request line). A client that sends nothing within the detection timeout is treated as
// a server-speaks-first protocol (MySQL, SMTP...): proxied as opaque TCP so it never stalls
// silently. Every decision is counted with its reason; opaque ones are logged (rate-limited).

#include <uv.h>

#include <memory>
#include <string>

#include "common/socket_address.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/connection_info.h"
#include "sidecar/log_limiter.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

class WorkerListener {
 public:
  WorkerListener(Worker& worker, size_t listener_index, ListenerRuntime& runtime);
  ~WorkerListener();
  // Takes a bound socket fd and starts accepting. Returns a libuv error code or 0.
  int start(int fd) noexcept;
  // Stops accepting (drain). Safe to call twice.
  void stop() noexcept;

 private:
  static constexpr uint64_t kRefusalLogMs = 10000;

  static void onConnection(uv_stream_t* server, int status);
  void accept() noexcept;
  // accept(2) failed with `uv_err`: counted and logged (rate-limited).
  void acceptFailed(int uv_err) noexcept;
  // A connection was refused or lost at accept: a log line at most every kRefusalLogMs (per
  // listener and worker), saying how many were held back.
  void noteRefusal(const ListenerConfig& lc, const char* why) noexcept;

  Worker& worker_;
  size_t index_;
  ListenerRuntime& runtime_;
  uv_tcp_t* handle_ = nullptr;
  common::SocketAddress bound_;  // the listening socket's own address
  LogLimiter refusal_log_{1, kRefusalLogMs};
};

}  // namespace remora::sidecar
