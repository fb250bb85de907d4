#pragma once
// Http1UpstreamConnection: one pooled HTTP/1.1 connection from a worker to an endpoint: the
// socket, its client codec (common/http1/client_connection.h) and its place in the worker's
// EndpointPool. One try uses it at a time; between tries it sits idle in the pool with reading
// on, so an upstream close is noticed at once and the connection dropped, and an idle timer
// closes it after the cluster's idle timeout.
//
// Failures reach the try through the codec's StreamCallbacks::onResetStream:
// kConnectionFailure (refused, unreachable, connect timeout), kConnectionTermination (closed or
// reset before the response was complete), kProtocolError (not HTTP/1).
//
// Ownership: the worker's loop owns every connection; it frees itself through
// EventLoop::deferDelete after close(), never directly.

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/http1/client_connection.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/snapshot.h"
#include "sidecar/upstream/pool_slot.h"
#include "sidecar/upstream/upstream_connection.h"

namespace remora::sidecar {

class Worker;
struct EndpointPool;

class Http1UpstreamConnection final : public UpstreamConnection,
                                      public common::TcpConnection::Handler,
                                      public http::ClientConnectionCallbacks,
                                      public common::Deletable {
 public:
  // Starts connecting to `address` for `cluster`. Counts the connection in `pool`, which must
  // outlive it (worker pools live as long as the worker).
  Http1UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                          const common::SocketAddress& address, EndpointPool& pool);
  ~Http1UpstreamConnection() override;

  // UpstreamConnection. attach() takes this (idle or new) connection for one exchange.
  // release(): if `reusable` (and the exchange left it reusable), it goes back to the pool when
  // the pool has room; else it is closed at once, and bytes still corked are never sent.
  http::RequestEncoder& attach(User& user, http::ResponseDecoder& decoder) noexcept override;
  void release(User& user, bool reusable) noexcept override;
  void forget(User& user) noexcept override {
    if (user_ == &user) {
      user_ = nullptr;
    }
  }
  void cork() noexcept override { conn_.cork(); }
  void uncork() noexcept override { conn_.uncork(); }
  size_t pendingBytes() const noexcept override { return conn_.pendingBytes(); }
  bool reused() const noexcept override { return exchanges_ > 1; }
  bool responseStarted() const noexcept override { return codec_.responseStarted(); }
  // Closes the connection and schedules its deletion. Safe to call more than once.
  void close() noexcept;

  bool connected() const noexcept { return connected_; }

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onConnected(int status) noexcept override;
  void onHighWatermark() noexcept override;
  void onLowWatermark() noexcept override;
  void onDrained() noexcept override;

  // http::ClientConnectionCallbacks
  void onGoAway() noexcept override {}

 private:
  // The socket ended (EOF, error, connect failure or timeout): the exchange hears `reason`
  // unless its response completed, then the connection closes.
  void fail(http::StreamResetReason reason) noexcept;
  void releaseExchange(bool reusable) noexcept;
  void removeFromIdle() noexcept;
  // Puts the connection in its pool's idle list.
  void goIdle() noexcept;

  Worker& worker_;
  common::TcpConnection conn_;
  http1::ClientConnection codec_;
  common::Timer timer_;  // connect timeout while connecting, idle timeout while pooled
  PoolSlot slot_;  // what the connection counts for (pool, breaker, metrics)
  common::SocketAddress address_;
  EndpointPool& pool_;
  uint32_t max_idle_;
  uint64_t idle_timeout_ms_;
  User* user_ = nullptr;
  uint32_t exchanges_ = 0;
  bool connected_ = false;
  bool idle_ = false;
  bool closed_ = false;
  // Inside codec_.dispatch(): a release() then only marks the connection reusable, so that no
  // try can take it while its own decoder call is still on the stack.
  bool in_dispatch_ = false;
  bool release_pending_ = false;
};

}  // namespace remora::sidecar
