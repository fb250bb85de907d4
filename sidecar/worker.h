#pragma once
// Worker: one thread, one event loop, its own listeners (SO_REUSEPORT sockets), upstream
// connection pools, stats shard and recent-request ring. A connection and its streams never
// leave their worker. Everything here is used on the worker's thread only, except the methods
// marked thread-safe, which the main thread calls.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/event_loop.h"
#include "common/http2/http2_stats.h"
#include "common/stats.h"
#include "filters/api/stream_info.h"
#include "sidecar/own_ports.h"
#include "sidecar/recent_requests.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class Http1UpstreamConnection;
class Http2UpstreamConnection;
class WorkerListener;

class Worker;

// Open downstream connections over every listener, and their process-wide limit: set at start
// below RLIMIT_NOFILE so that the admin port, probes and upstream connections always find a free
// file descriptor (docs/operations.md, "File descriptors").
struct ConnectionBudget {
  std::atomic<uint32_t> open{0};
  uint32_t limit = UINT32_MAX;
};

// Process-wide state of one listener shared by every worker.
struct ListenerRuntime {
  std::atomic<uint32_t> connections{0};
  ConnectionBudget* budget = nullptr;  // outlives the workers; null in tests without one
};

// Per-endpoint upstream connections of one worker.
struct EndpointPool {
  std::vector<Http1UpstreamConnection*> idle;  // most recently used last
  std::vector<Http2UpstreamConnection*> h2;    // multiplexed, oldest first, until GOAWAY
  uint32_t open = 0;                           // connecting + active + idle, both protocols
};

// A downstream connection in any phase (detection, HTTP, TCP proxy). The worker keeps them in a
// list to drain and to close them at shutdown.
class DownstreamConnection : public common::Deletable {
 public:
  // The process started draining: finish what is in flight, accept no new work.
  virtual void onDrain() noexcept = 0;
  // Close at once (shutdown / drain deadline).
  virtual void closeNow() noexcept = 0;

  DownstreamConnection* prev_ = nullptr;
  DownstreamConnection* next_ = nullptr;

 protected:
  // The connection is over: untrack it, give its listener slot back (cx_active, the
  // max_connections count) and delete it after this loop iteration.
  void retire(Worker& worker, const ListenerStats& stats, ListenerRuntime& runtime,
              const ConnectionInfo& info) noexcept;
  // The connection now speaks `p`: it moves to that protocol in remora_downstream_cx_active.
  static void countAs(Worker& worker, const ListenerStats& stats, ConnectionInfo& info,
                      CxProtocol p) noexcept;
};

class Worker {
 public:
  Worker(uint32_t index, common::StatsStore& stats, size_t recent_capacity);
  ~Worker();

  // Thread-safe. Starts the thread with these listening sockets (one per listener, in the order
  // of the snapshot's listeners). `started` is called on the worker thread once listening.
  void start(std::shared_ptr<const Snapshot> snapshot, std::vector<int> listener_fds,
             std::vector<ListenerRuntime*> runtimes);
  // Before start(): the sidecar's own ports, which no connection may be forwarded to.
  void setOwnPorts(std::shared_ptr<const OwnPorts> own_ports) { own_ports_ = std::move(own_ports); }
  // Thread-safe: installs a new snapshot for new streams.
  void updateSnapshot(std::shared_ptr<const Snapshot> snapshot);
  // Thread-safe: stop accepting, tell connections to drain. Idle keep-alive connections stay
  // open for `grace_ms` (requests already on the wire are answered with connection: close).
  void beginDrain(uint64_t grace_ms);
  // Thread-safe: close everything and join the thread.
  void stop();
  // Thread-safe: requests in flight on this worker (drain waits for 0).
  uint64_t activeStreams() const noexcept {
    return active_streams_.load(std::memory_order_relaxed);
  }
  // Thread-safe.
  const RecentRequests& recent() const noexcept { return recent_; }
  // Thread-safe: connections in their lingering close (answered, told to go, waiting for the
  // client's close); a drain need not wait for them.
  uint64_t closingConnections() const noexcept {
    return closing_connections_.load(std::memory_order_relaxed);
  }

  // Worker thread only.
  uint32_t index() const noexcept { return index_; }
  common::EventLoop& loop() noexcept { return loop_; }
  common::StatsShard& stats() noexcept { return shard_; }
  // The HTTP/2 codec's counters (registered once per store; bumped on this worker's shard).
  const http2::Http2Stats& http2Stats() const noexcept { return http2_stats_; }
  const std::shared_ptr<const Snapshot>& snapshot() const noexcept { return snapshot_; }
  const OwnPorts& ownPorts() const noexcept { return *own_ports_; }
  RecentRequests& recentRequests() noexcept { return recent_; }
  // The pool of a configured endpoint (stable id from PoolIds).
  EndpointPool& pool(uint32_t pool_id);
  // The pool of an address known only at run time (original destination).
  EndpointPool& dynamicPool(const std::string& address_text);
  uint64_t random() noexcept { return rng_(); }
  // A cleared StreamInfo for a new stream, and its return when the stream is gone: the pool
  // keeps their strings' and vectors' capacity, so a request's bookkeeping allocates nothing
  // once warm.
  std::unique_ptr<filters::StreamInfo> takeStreamInfo();
  void returnStreamInfo(std::unique_ptr<filters::StreamInfo> info) noexcept;
  bool draining() const noexcept { return draining_; }
  // Draining: what is left of the grace for idle connections (0 once over, or not draining).
  uint64_t drainGraceLeftMs() noexcept;

  void track(DownstreamConnection* c) noexcept;
  void untrack(DownstreamConnection* c) noexcept;
  void streamStarted() noexcept { active_streams_.fetch_add(1, std::memory_order_relaxed); }
  void streamFinished() noexcept { active_streams_.fetch_sub(1, std::memory_order_relaxed); }
  void connectionClosing() noexcept {
    closing_connections_.fetch_add(1, std::memory_order_relaxed);
  }
  void connectionClosed() noexcept { closing_connections_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  void run(std::vector<int> fds, std::vector<ListenerRuntime*> runtimes);
  void closeAllConnections();
  // Closes the pool's idle HTTP/1 and every HTTP/2 connection (shutdown).
  void closePool(EndpointPool& p) noexcept;

  uint32_t index_;
  common::EventLoop loop_;
  common::StatsShard& shard_;
  http2::Http2Stats http2_stats_;
  RecentRequests recent_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const OwnPorts> own_ports_ = std::make_shared<const OwnPorts>();
  std::vector<std::unique_ptr<WorkerListener>> listeners_;
  std::deque<EndpointPool> pools_;  // deque: references stay valid as it grows
  std::unordered_map<std::string, EndpointPool> dynamic_pools_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<filters::StreamInfo>> info_pool_;
  DownstreamConnection* connections_ = nullptr;
  bool draining_ = false;
  uint64_t drain_grace_end_ms_ = 0;  // loop time
  std::atomic<uint64_t> active_streams_{0};
  std::atomic<uint64_t> closing_connections_{0};
  std::thread thread_;
};

}  // namespace remora::sidecar
