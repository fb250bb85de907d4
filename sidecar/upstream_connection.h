#pragma once
// UpstreamConnection: one HTTP/1.1 connection from a worker to an endpoint, reused for many
// requests (keep-alive). At most one client (a downstream stream) uses it at a time. Idle
// connections sit in the worker's EndpointPool with reading on, so an upstream close is noticed
// at once and the connection dropped; an idle timer closes them after the cluster's idle timeout.
//
// Ownership: the pool's connections are owned by the worker's loop. A connection is freed through
// EventLoop::deferDelete after close(), never directly.

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/http1_parser.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class Worker;
struct EndpointPool;

enum class UpstreamFailure : uint8_t {
  kConnectFailure,  // refused, unreachable, or connect timeout
  kReset,           // closed or reset before the response was complete
  kProtocolError,   // the upstream sent bytes that are not HTTP/1
};

class UpstreamConnection final : public common::TcpConnection::Handler,
                                 public common::Http1Parser::Callbacks,
                                 public common::Deletable {
 public:
  // Events for the stream that uses the connection.
  class Client {
   public:
    virtual void onUpstreamConnected() noexcept = 0;
    // Response head (1xx heads too). May be modified and forwarded.
    virtual void onUpstreamHeaders(common::MessageHead& head) noexcept = 0;
    virtual void onUpstreamBody(std::string_view data) noexcept = 0;
    virtual void onUpstreamComplete() noexcept = 0;
    // Every event of one read has been delivered (flush what was corked for it).
    virtual void onUpstreamReadEnd() noexcept = 0;
    // 101 Switching Protocols was received; `rest` are the first tunnel bytes. Further upstream
    // bytes arrive through onUpstreamTunnelData, EOF through onUpstreamTunnelEof.
    virtual void onUpstreamUpgrade(std::string_view rest) noexcept = 0;
    virtual void onUpstreamTunnelData(std::string_view data) noexcept = 0;
    virtual void onUpstreamTunnelEof() noexcept = 0;
    // The exchange failed. `response_started`: some response byte was already received.
    virtual void onUpstreamFailure(UpstreamFailure f, bool response_started) noexcept = 0;
    // Flow control of the request direction.
    virtual void onUpstreamWriteBlocked() noexcept = 0;
    virtual void onUpstreamWriteUnblocked() noexcept = 0;
    // Every byte queued towards the upstream has been handed to the kernel.
    virtual void onUpstreamDrained() noexcept = 0;

   protected:
    ~Client() = default;
  };

  // Starts connecting to `address` for `cluster`. Counts the connection in `pool`, which must
  // outlive it (worker pools live as long as the worker).
  UpstreamConnection(Worker& worker, const ClusterConfig& cluster,
                     const common::SocketAddress& address, EndpointPool& pool);
  ~UpstreamConnection() override;

  // Takes an idle or new connection for a request.
  void attach(Client& client) noexcept;
  // The stream is done with the connection. If `reusable`, it goes back to the pool (when the
  // pool has room), else it is closed at once and bytes still corked are never sent.
  void release(bool reusable) noexcept;
  // Closes the connection and schedules its deletion. Safe to call more than once.
  void close() noexcept;

  void write(std::string_view data) noexcept { conn_.write(data); }
  void write(std::string_view a, std::string_view b) noexcept { conn_.write(a, b); }
  void write(std::string_view a, std::string_view b, std::string_view c) noexcept {
    conn_.write(a, b, c);
  }
  size_t pendingBytes() const noexcept { return conn_.pendingBytes(); }
  void shutdownWrite() noexcept { conn_.shutdownAfterFlush(); }
  // Queue writes without syscalls until uncork() (see TcpConnection::cork).
  void cork() noexcept { conn_.cork(); }
  void uncork() noexcept { conn_.uncork(); }
  // The downstream cannot take more response bytes for now / again. The pause holds until
  // resumeReading() or the next attach().
  void pauseReading() noexcept;
  void resumeReading() noexcept;
  void expectHeadResponse(bool v) noexcept { parser_.expectHeadResponse(v); }
  // The trailer fields of the response being completed (valid inside onUpstreamComplete).
  const common::HeaderMap& trailers() const noexcept { return parser_.trailers(); }

  bool connected() const noexcept { return connected_; }
  // True when this connection already carried a request before the current one.
  bool reused() const noexcept { return requests_ > 1; }
  const common::SocketAddress& address() const noexcept { return address_; }

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onConnected(int status) noexcept override;
  void onHighWatermark() noexcept override;
  void onLowWatermark() noexcept override;
  void onDrained() noexcept override;

  // Http1Parser::Callbacks
  common::HeadAction onHeaders(common::MessageHead& head) noexcept override;
  void onBody(std::string_view data) noexcept override;
  bool onMessageComplete() noexcept override;

 private:
  void fail(UpstreamFailure f) noexcept;
  void removeFromIdle() noexcept;
  // Puts the connection in its pool's idle list (or closes it when it cannot be reused).
  void goIdle() noexcept;

  Worker& worker_;
  common::TcpConnection conn_;
  common::Http1Parser parser_;
  common::Timer timer_;  // connect timeout while connecting, idle timeout while pooled
  ClusterStats stats_;
  std::shared_ptr<ClusterRuntime> runtime_;  // counts the cluster's connections (breaker)
  common::SocketAddress address_;
  EndpointPool& pool_;
  uint32_t max_idle_;
  uint64_t idle_timeout_ms_;
  Client* client_ = nullptr;
  uint32_t requests_ = 0;
  bool connected_ = false;
  bool idle_ = false;
  bool closed_ = false;
  bool tunnel_ = false;
  bool keep_alive_ = true;
  bool read_paused_ = false;
  // Inside parser_.feed(): a release() then only marks the connection reusable, so that no
  // stream can take it while its own parser callback is still on the stack.
  bool in_parse_ = false;
  bool release_pending_ = false;
  bool response_started_ = false;
  bool response_done_ = false;
};

}  // namespace remora::sidecar
