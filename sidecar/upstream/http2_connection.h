#pragma once
// Http2UpstreamConnection: one multiplexed HTTP/2 (h2c, prior knowledge) connection from a
// worker to an endpoint: the socket, the HTTP/2 client codec (common/http2/client_connection.h)
// and its place in the worker's EndpointPool (EndpointPool::h2). Many tries use it at once, one
// stream each, up to the peer's SETTINGS_MAX_CONCURRENT_STREAMS; the pool opens another
// connection only when every one it has is full.
//
// It stays in the pool until the peer sends GOAWAY, the socket ends, or it has carried no
// stream for the cluster's idle timeout; a connection that can take no new stream closes once
// its last stream ends. Failures reach each try through its stream's
// StreamCallbacks::onResetStream: kConnectionFailure (refused, unreachable, connect timeout),
// kConnectionTermination (the socket ended under the stream), kRemoteRefused (GOAWAY or
// REFUSED_STREAM: never processed, safe to retry), kRemoteReset, kProtocolError.
//
// Ownership: the worker's loop owns every connection; it frees itself through
// EventLoop::deferDelete after close(), never directly.

#include <cstdint>
#include <memory>
#include <vector>

#include "common/http2/client_connection.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/snapshot.h"
#include "sidecar/upstream/pool_slot.h"
#include "sidecar/upstream/upstream_connection.h"

namespace remora::sidecar {

class Worker;
struct EndpointPool;

class Http2UpstreamConnection final : public UpstreamConnection,
                                      public common::TcpConnection::Handler,
                                      public http::ClientConnectionCallbacks,
                                      public common::Deletable {
 public:
  // Starts connecting to `address` for `cluster` and joins `pool` (which must outlive it).
  Http2UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                          const common::SocketAddress& address, EndpointPool& pool);
  ~Http2UpstreamConnection() override;

  // It can take another stream now.
  bool available() const noexcept;
  // Closes the socket (open streams are reset) and schedules its deletion. Idempotent.
  void close() noexcept;
  // Takes no new stream; closes once the open ones end (drain).
  void retire() noexcept;

  // UpstreamConnection
  http::RequestEncoder& attach(User& user, http::ResponseDecoder& decoder) noexcept override;
  void release(User& user, bool reusable) noexcept override;
  void forget(User& user) noexcept override;
  void cork() noexcept override { conn_.cork(); }
  void uncork() noexcept override { conn_.uncork(); }
  size_t pendingBytes() const noexcept override { return conn_.pendingBytes(); }
  bool reused() const noexcept override { return streams_total_ > 1; }
  bool responseStarted() const noexcept override { return false; }

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onConnected(int status) noexcept override;
  void onHighWatermark() noexcept override;
  void onLowWatermark() noexcept override;
  void onDrained() noexcept override;

  // http::ClientConnectionCallbacks
  void onGoAway() noexcept override;

 private:
  // The socket ended: every open stream hears `reason`, then the connection closes.
  void fail(http::StreamResetReason reason) noexcept;
  struct Attached {
    User* user;
    http::RequestEncoder* encoder;
  };
  std::vector<Attached>::iterator findUser(User& user) noexcept;
  void removeUser(std::vector<Attached>::iterator it) noexcept;
  // Calls `fn` for every user; users that leave meanwhile are skipped.
  template <typename Fn>
  void notifyUsers(Fn fn) noexcept;
  void onTimer() noexcept;
  // No stream left: close if it can take no more, else start the idle timer.
  void onLastStreamGone() noexcept;
  void leavePool() noexcept;

  Worker& worker_;
  common::TcpConnection conn_;
  std::unique_ptr<http2::ClientConnection> codec_;
  common::Timer timer_;  // connect timeout while connecting, idle timeout with no stream
  PoolSlot slot_;  // what the connection counts for (pool, breaker, metrics)
  EndpointPool& pool_;
  uint64_t idle_timeout_ms_;
  std::vector<Attached> users_;  // the tries with a stream on it (user null: left during a walk)
  uint64_t streams_total_ = 0;
  bool connected_ = false;
  bool in_pool_ = true;
  bool retired_ = false;  // GOAWAY received, or draining: no new stream
  bool closed_ = false;
  bool idle_timing_ = false;
  bool notifying_ = false;
};

}  // namespace remora::sidecar
