#include "sidecar/worker.h"

#include <spdlog/spdlog.h>

#include "sidecar/access_log.h"
#include "sidecar/listener.h"
#include "sidecar/upstream/http1_connection.h"
#include "sidecar/upstream/http2_connection.h"

namespace remora::sidecar {

Worker::Worker(uint32_t index, common::StatsStore& stats, size_t recent_capacity)
    : index_(index),
      shard_(stats.shard(index + 1)),  // shard 0 belongs to the main thread
      http2_stats_(http2::Http2Stats::registerIn(stats)),
      recent_(recent_capacity),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) << 32)) {}

Worker::~Worker() {
  stop();
}

void Worker::start(std::shared_ptr<const Snapshot> snapshot, std::vector<int> listener_fds,
                   std::vector<ListenerRuntime*> runtimes) {
  snapshot_ = std::move(snapshot);
  thread_ = std::thread([this, fds = std::move(listener_fds), rts = std::move(runtimes)]() mutable {
    run(std::move(fds), std::move(rts));
  });
}

void Worker::run(std::vector<int> fds, std::vector<ListenerRuntime*> runtimes) {
  for (size_t i = 0; i < fds.size(); ++i) {
    auto l = std::make_unique<WorkerListener>(*this, i, *runtimes[i]);
    int rc = l->start(fds[i]);
    if (rc != 0) {
      spdlog::error("worker {}: listener {} cannot listen: {}", index_,
                    snapshot_->listeners[i].name, uv_strerror(rc));
    }
    listeners_.push_back(std::move(l));
  }
  auto access_log = std::make_unique<WorkerAccessLog>(loop_.uv(), shard_);
  loop_.run();
  closeAllConnections();
  listeners_.clear();
  // Idle upstream connections close themselves when asked; collect them all.
  for (EndpointPool& p : pools_) {
    closePool(p);
  }
  for (auto& [addr, p] : dynamic_pools_) {
    closePool(p);
  }
  access_log.reset();  // hands every line over, the cut requests' too
  int rc = loop_.closeAll();
  if (rc != 0) {
    spdlog::warn("worker {}: event loop closed with handles left ({})", index_, uv_strerror(rc));
  }
}

void Worker::updateSnapshot(std::shared_ptr<const Snapshot> snapshot) {
  loop_.post([this, s = std::move(snapshot)]() mutable { snapshot_ = std::move(s); });
}

void Worker::beginDrain(uint64_t grace_ms) {
  loop_.post([this, grace_ms] {
    draining_ = true;
    drain_grace_end_ms_ = uv_now(loop_.uv()) + grace_ms;
    for (auto& l : listeners_) {
      l->stop();
    }
    // onDrain may close (and untrack) the connection: walk with the next pointer saved.
    for (DownstreamConnection* c = connections_; c != nullptr;) {
      DownstreamConnection* next = c->next_;
      c->onDrain();
      c = next;
    }
    for (EndpointPool& p : pools_) {
      while (!p.idle.empty()) {
        p.idle.back()->close();
      }
      // HTTP/2: no new stream; each connection closes when its last stream ends.
      std::vector<Http2UpstreamConnection*> h2 = p.h2;
      for (Http2UpstreamConnection* c : h2) {
        c->retire();
      }
    }
  });
}

void Worker::closePool(EndpointPool& p) noexcept {
  while (!p.idle.empty()) {
    p.idle.back()->close();
  }
  while (!p.h2.empty()) {
    p.h2.back()->close();  // (leaves the list)
  }
}

uint64_t Worker::drainGraceLeftMs() noexcept {
  uint64_t now = uv_now(loop_.uv());
  return draining_ && drain_grace_end_ms_ > now ? drain_grace_end_ms_ - now : 0;
}

void Worker::stop() {
  if (!thread_.joinable()) {
    return;
  }
  loop_.stop();
  thread_.join();
}

void Worker::closeAllConnections() {
  while (connections_ != nullptr) {
    DownstreamConnection* c = connections_;
    c->closeNow();
    if (connections_ == c) {
      untrack(c);  // a connection that did not untrack itself must not loop us forever
    }
  }
}

void DownstreamConnection::countAs(Worker& worker, const ListenerStats& stats, ConnectionInfo& info,
                                   CxProtocol p) noexcept {
  if (info.cx_protocol == p) {
    return;
  }
  worker.stats().add(stats.cx_active[static_cast<size_t>(info.cx_protocol)], -1);
  worker.stats().add(stats.cx_active[static_cast<size_t>(p)], 1);
  info.cx_protocol = p;
}

void DownstreamConnection::retire(Worker& worker, const ListenerStats& stats,
                                  ListenerRuntime& runtime, const ConnectionInfo& info) noexcept {
  worker.untrack(this);
  worker.stats().add(stats.cx_active[static_cast<size_t>(info.cx_protocol)], -1);
  runtime.connections.fetch_sub(1, std::memory_order_relaxed);
  if (runtime.budget != nullptr) {
    runtime.budget->open.fetch_sub(1, std::memory_order_relaxed);
  }
  worker.loop().deferDelete(std::unique_ptr<common::Deletable>(this));
}

std::unique_ptr<filters::StreamInfo> Worker::takeStreamInfo() {
  if (info_pool_.empty()) {
    return std::make_unique<filters::StreamInfo>();
  }
  std::unique_ptr<filters::StreamInfo> info = std::move(info_pool_.back());
  info_pool_.pop_back();
  return info;
}

void Worker::returnStreamInfo(std::unique_ptr<filters::StreamInfo> info) noexcept {
  constexpr size_t kKeep = 256;
  if (info == nullptr || info_pool_.size() >= kKeep) {
    return;
  }
  info->clear();
  info_pool_.push_back(std::move(info));
}

EndpointPool& Worker::pool(uint32_t pool_id) {
  while (pools_.size() <= pool_id) {
    pools_.emplace_back();
  }
  return pools_[pool_id];
}

EndpointPool& Worker::dynamicPool(const std::string& address_text) {
  return dynamic_pools_[address_text];
}

void Worker::track(DownstreamConnection* c) noexcept {
  c->prev_ = nullptr;
  c->next_ = connections_;
  if (connections_ != nullptr) {
    connections_->prev_ = c;
  }
  connections_ = c;
}

void Worker::untrack(DownstreamConnection* c) noexcept {
  if (c->prev_ != nullptr) {
    c->prev_->next_ = c->next_;
  } else if (connections_ == c) {
    connections_ = c->next_;
  }
  if (c->next_ != nullptr) {
    c->next_->prev_ = c->prev_;
  }
  c->prev_ = nullptr;
  c->next_ = nullptr;
}

}  // namespace remora::sidecar
