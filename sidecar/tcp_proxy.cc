#include "sidecar/tcp_proxy.h"

#include <spdlog/spdlog.h>

#include "sidecar/endpoint_picker.h"

namespace remora::sidecar {

namespace {
constexpr size_t kHigh = 256 * 1024;
constexpr size_t kLow = 64 * 1024;
}  // namespace

TcpProxy::TcpProxy(Worker& worker, std::shared_ptr<const Snapshot> snapshot,
                   const ListenerConfig& listener, ListenerRuntime& runtime,
                   std::unique_ptr<common::TcpConnection> downstream, const ConnectionInfo& info)
    : worker_(worker),
      listener_(listener),
      runtime_(runtime),
      snapshot_(std::move(snapshot)),
      info_(info),
      down_side_(*this, true),
      up_side_(*this, false),
      downstream_(std::move(downstream)),
      idle_timer_(worker.loop().uv(), [this] { onTimer(); }) {
  downstream_->setHandler(down_side_);
  downstream_->setWatermarks(kHigh, kLow);
  worker_.track(this);
  worker_.streamStarted();  // a drain waits for open TCP streams as for HTTP requests
  worker_.stats().add(listener_.stats.opaque_cx_total);
}

void TcpProxy::start(std::string_view initial) noexcept {
  countAs(worker_, listener_.stats, info_, CxProtocol::kTcp);
  // Which endpoint: the listener's TCP cluster, else the original destination.
  common::SocketAddress target;
  if (listener_.tcp_cluster >= 0) {
    cluster_ = &snapshot_->clusters[static_cast<size_t>(listener_.tcp_cluster)];
  } else {
    cluster_ = &snapshot_->clusters[snapshot_->passthrough_cluster];
  }
  if (!cluster_->original_dst && cluster_->endpoints.empty()) {
    // Mesh mode: the cluster's endpoints have not arrived (or are all gone).
    spdlog::warn("listener {}: opaque TCP connection from {}: cluster {} has no endpoints; closing",
                 listener_.name, downstream_->peerAddress().toString(), cluster_->name);
    destroy();
    return;
  }
  if (!cluster_->original_dst) {
    // The cluster's own balancer, health checks, ejections and panic routing, as for HTTP.
    const ClusterAvailability avail = clusterAvailability(*cluster_);
    filters::lb::PickContext pc;
    pc.now_ns = uv_hrtime();
    if (cluster_->hash_on == ClusterConfig::HashOn::kSourceIp) {
      pc.has_hash = true;
      pc.hash = filters::lb::hashKey(downstream_->peerAddress().host());
    }
    const int index = pickClusterEndpoint(*cluster_, worker_.index(), avail, pc);
    if (index < 0) {
      spdlog::warn(
          "listener {}: opaque TCP connection from {}: cluster {} has no healthy "
          "endpoint; closing",
          listener_.name, downstream_->peerAddress().toString(), cluster_->name);
      destroy();
      return;
    }
    endpoint_ = &cluster_->endpoints[static_cast<size_t>(index)];
    endpoint_->host->active_requests.fetch_add(1, std::memory_order_relaxed);
    target = endpoint_->address;
  } else if (info_.original_dst) {
    target = *info_.original_dst;
    if (listener_.inbound) {
      target = common::loopbackAddress(info_.original_dst->port());
    }
    if (worker_.ownPorts().isSelf(target)) {
      // Whatever the client dialled, it never reaches the admin API or a listener this way.
      worker_.stats().add(listener_.stats.own_port_refused_tcp);
      logOwnPortRefused(listener_.name, "tcp", downstream_->peerAddress(), *info_.original_dst,
                        uv_now(worker_.loop().uv()));
      destroy();
      return;
    }
  } else {
    spdlog::warn(
        "listener {}: opaque TCP connection from {} has no destination (no tcp_cluster "
        "and not redirected); closing",
        listener_.name, downstream_->peerAddress().toString());
    destroy();
    return;
  }
  early_.assign(initial);
  upstream_ = std::make_unique<common::TcpConnection>(worker_.loop(), up_side_);
  upstream_->setWatermarks(kHigh, kLow);
  worker_.stats().add(cluster_->stats.cx_total);
  worker_.stats().add(cluster_->stats.cx_active, 1);
  if (upstream_->connect(target) != 0) {
    worker_.stats().add(cluster_->stats.cx_connect_fail);
    destroy();
    return;
  }
  // Hold the client until the upstream answers the connect.
  downstream_->readStop();
  idle_timer_.start(cluster_->connect_timeout_ms);
}

void TcpProxy::Side::onConnected(int status) noexcept {
  TcpProxy& p = proxy_;
  if (status != 0) {
    p.worker_.stats().add(p.cluster_->stats.cx_connect_fail);
    p.recordConnectOutcome(filters::outlier::Outcome::kConnectFailure);
    p.destroy();
    return;
  }
  p.connected_ = true;
  p.recordConnectOutcome(filters::outlier::Outcome::kSuccess);
  p.idle_timer_.start(p.listener_.idle_timeout_ms);
  if (!p.early_.empty()) {
    p.upstream_->write(p.early_);
    std::string().swap(p.early_);
  }
  p.upstream_->readStart();
  p.downstream_->readStart();
}

void TcpProxy::Side::onData(const char* data, size_t len) noexcept {
  TcpProxy& p = proxy_;
  p.idle_timer_.start(p.listener_.idle_timeout_ms);
  p.other(downstream_).write({data, len});
}

void TcpProxy::Side::onEof() noexcept {
  TcpProxy& p = proxy_;
  (downstream_ ? p.down_eof_ : p.up_eof_) = true;
  p.other(downstream_).shutdownAfterFlush();
  p.maybeFinish();
}

void TcpProxy::Side::onDrained() noexcept {
  proxy_.maybeFinish();
}

void TcpProxy::maybeFinish() noexcept {
  if (!down_eof_ || !up_eof_) {
    return;
  }
  // Both peers are done sending; end once everything queued for them has left.
  if (downstream_->pendingBytes() == 0 && upstream_->pendingBytes() == 0) {
    destroy();
  } else {
    idle_timer_.start(10000);  // backstop for a peer that stopped reading
  }
}

void TcpProxy::Side::onError(int) noexcept {
  proxy_.destroy();
}

void TcpProxy::Side::onHighWatermark() noexcept {
  // Our write buffer is full: stop reading from the side that feeds it.
  proxy_.other(downstream_).readStop();
}

void TcpProxy::Side::onLowWatermark() noexcept {
  proxy_.other(downstream_).readStart();
}

void TcpProxy::onTimer() noexcept {
  if (upstream_ && !connected_) {
    recordConnectOutcome(filters::outlier::Outcome::kTimeout);  // connect_timeout passed
  }
  destroy();
}

void TcpProxy::recordConnectOutcome(filters::outlier::Outcome outcome) noexcept {
  if (endpoint_ != nullptr) {
    recordEndpointOutcome(*cluster_, *endpoint_, worker_.stats(), outcome,
                          outcome != filters::outlier::Outcome::kSuccess, uv_hrtime());
  }
}

void TcpProxy::destroy() noexcept {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  worker_.streamFinished();
  idle_timer_.stop();
  downstream_->close();
  if (upstream_) {
    upstream_->close();
    worker_.stats().add(cluster_->stats.cx_active, -1);
  }
  if (endpoint_ != nullptr) {
    endpoint_->host->active_requests.fetch_sub(1, std::memory_order_relaxed);
  }
  retire(worker_, listener_.stats, runtime_, info_);
}

}  // namespace remora::sidecar
