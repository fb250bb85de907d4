#pragma once
// TcpProxy: an opaque byte stream between a downstream connection and one upstream endpoint
// (configured opaque ports, non-HTTP bytes, or server-speaks-first protocols). The endpoint is
// picked as for HTTP (sidecar/endpoint_picker.h: the cluster's balancer, health checks, outlier
// ejections, panic routing; RING_HASH / MAGLEV hash the client address when the cluster hashes
// on `source_ip`); an open connection counts as a request in flight on its endpoint, and the
// connect's outcome (success, failure, connect_timeout) feeds outlier detection. Each direction
// pauses its source at the destination's high watermark; an EOF on one side half-closes the
// other; the proxy ends when both directions are done or either side fails. A connection whose
// original destination is one of the sidecar's own ports (Worker::ownPorts) is closed, counted
// and logged instead.

#include <memory>
#include <string>
#include <string_view>

#include "common/tcp_connection.h"
#include "common/timer.h"
#include "sidecar/connection_info.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

class TcpProxy final : public DownstreamConnection {
 public:
  // `listener` belongs to `snapshot`, which the proxy keeps alive.
  TcpProxy(Worker& worker, std::shared_ptr<const Snapshot> snapshot, const ListenerConfig& listener,
           ListenerRuntime& runtime, std::unique_ptr<common::TcpConnection> downstream,
           const ConnectionInfo& info);
  // Connects upstream; `initial` are bytes already read from the client (sent first).
  void start(std::string_view initial) noexcept;

  void onDrain() noexcept override {}
  void closeNow() noexcept override { destroy(); }

 private:
  // One direction's handler: events of `from` drive writes into `to`.
  class Side final : public common::TcpConnection::Handler {
   public:
    Side(TcpProxy& proxy, bool downstream) : proxy_(proxy), downstream_(downstream) {}
    void onData(const char* data, size_t len) noexcept override;
    void onEof() noexcept override;
    void onError(int uv_err) noexcept override;
    void onConnected(int status) noexcept override;
    void onHighWatermark() noexcept override;
    void onLowWatermark() noexcept override;
    void onDrained() noexcept override;

   private:
    TcpProxy& proxy_;
    bool downstream_;
  };

  common::TcpConnection& other(bool downstream) { return downstream ? *upstream_ : *downstream_; }
  void maybeFinish() noexcept;
  // The idle timer: connect_timeout before the upstream connected, idle_timeout after.
  void onTimer() noexcept;
  void recordConnectOutcome(filters::outlier::Outcome outcome) noexcept;
  void destroy() noexcept;

  Worker& worker_;
  const ListenerConfig& listener_;
  ListenerRuntime& runtime_;
  std::shared_ptr<const Snapshot> snapshot_;
  ConnectionInfo info_;
  Side down_side_;
  Side up_side_;
  std::unique_ptr<common::TcpConnection> downstream_;
  std::unique_ptr<common::TcpConnection> upstream_;
  common::Timer idle_timer_;
  const ClusterConfig* cluster_ = nullptr;
  const EndpointConfig* endpoint_ = nullptr;  // null: original destination
  bool connected_ = false;
  bool down_eof_ = false;
  bool up_eof_ = false;
  bool destroyed_ = false;
  std::string early_;  // client bytes that arrived before the upstream connected
};

}  // namespace remora::sidecar
