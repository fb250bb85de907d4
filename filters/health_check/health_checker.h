#pragma once
// Active health checks: the sidecar's main thread probes every endpoint of the clusters that ask
// for it (an HTTP GET or a TCP connect) and keeps HostState's kHostFailedHealthCheck flag in step
// with the result, so workers send nothing to an endpoint that fails its checks.
//
// HealthState is the pure threshold machine (unit-tested); HealthChecker runs the probes on a
// libuv loop. Every HealthChecker call happens on that loop's thread.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/http1/client_connection.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "filters/api/host.h"

namespace remora::filters::health_check {

struct HealthCheckConfig {
  enum class Kind : uint8_t { kHttp, kTcp } kind = Kind::kHttp;
  std::string path = "/healthz";
  std::string host;  // Host header; empty: the endpoint address
  std::vector<uint16_t> expected_statuses{200};
  uint64_t interval_ms = 5000, timeout_ms = 1000, jitter_ms = 0;
  // 0 counts as 1.
  uint32_t unhealthy_threshold = 3, healthy_threshold = 2;

  bool operator==(const HealthCheckConfig&) const = default;
};

// Threshold state machine. Starts unhealthy and unchecked; the first result decides at once
// (a pass makes it healthy, a fail keeps it unhealthy). After that it takes
// unhealthy_threshold fails in a row to go unhealthy and healthy_threshold passes in a row to go
// healthy again.
class HealthState {
 public:
  explicit HealthState(const HealthCheckConfig& config) noexcept;
  // Returns true when healthy() changed.
  bool onResult(bool passed) noexcept;
  bool healthy() const noexcept { return healthy_; }
  // True once a first result came in.
  bool checked() const noexcept { return checked_; }

 private:
  uint32_t unhealthy_threshold_;
  uint32_t healthy_threshold_;
  uint32_t streak_ = 0;  // results in a row that go against the current health
  bool healthy_ = false;
  bool checked_ = false;
};

// One probe of one address: a TCP connect, or for HTTP a GET and its status. Used by
// HealthChecker and by the sidecar's app-health endpoint (kubelet's rewritten probes).
struct ProbeRequest {
  common::SocketAddress address;
  bool http = true;
  std::string path = "/";
  std::string host;                                          // Host header (required for HTTP)
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::function<bool(int status)> passes;                    // HTTP: does this status pass?
  uint64_t timeout_ms = 1000;                                // the whole probe
};

// Runs one ProbeRequest on an EventLoop thread: HTTP/1.1 (the proxy's client codec,
// common/http1/client_connection.h) with Connection: close and User-Agent remora-health-check;
// interim 1xx answers are skipped; the body is read and dropped (memory stays bounded by the
// parser's header limits). Reports exactly once through `done` (passed, or
// a one-line reason: connect failure, status N, timeout after Nms, ...) unless cancel() comes
// first; then closes its connection and frees itself through EventLoop::deferDelete, so `done`
// may run inside start() and the pointer must not be used after `done` or cancel().
class Probe final : public common::Deletable,
                    public common::TcpConnection::Handler,
                    private http::ClientConnectionCallbacks,
                    private http::ResponseDecoder,
                    private http::StreamCallbacks {
 public:
  using Done = std::function<void(bool passed, const std::string& reason)>;

  Probe(common::EventLoop& loop, ProbeRequest request, Done done);
  void start() noexcept;
  // Ends the probe without a report.
  void cancel() noexcept;

  // TcpConnection::Handler
  void onConnected(int status) noexcept override;
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;

 private:
  // http::ClientConnectionCallbacks (Connection: close is asked for anyway)
  void onGoAway() noexcept override {}
  // http::ResponseDecoder: the status decides once the whole response is read.
  void decode1xxHeaders(http::ResponseHead&) noexcept override {}
  void decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view, bool end_stream) noexcept override;
  void decodeTrailers(http::HeaderMap&) noexcept override { responseComplete(); }
  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason reason) noexcept override;
  void onAboveWriteBufferHighWatermark() noexcept override {}
  void onBelowWriteBufferLowWatermark() noexcept override {}

  void responseComplete() noexcept;
  void complete(bool passed, const std::string& reason) noexcept;
  void release() noexcept;

  common::EventLoop& loop_;
  ProbeRequest request_;
  Done done_cb_;
  bool done_ = false;
  int status_ = 0;
  common::TcpConnection conn_;
  http1::ClientConnection codec_;
  common::Timer timer_;
};

struct HealthCheckTarget {
  std::string cluster;
  std::string address_text;  // "IP:PORT"
  common::SocketAddress address;
  std::shared_ptr<const HealthCheckConfig> config;
  std::shared_ptr<HostState> host;  // flag kHostFailedHealthCheck is set while unhealthy
  std::shared_ptr<ClusterHealth> health;
  common::Counter failures;  // remora_health_check_failure_total{cluster}, +1 per failed check
};

// Runs every target's checks on one loop (the sidecar's main thread): an HTTP GET of `path`
// (HTTP/1.1, Connection: close, Host, User-Agent remora-health-check) whose status must be one
// of expected_statuses (the whole response is read), or a TCP connect; each within timeout_ms;
// the next one interval_ms (+ a random 0..jitter_ms) after the previous ended. One check at a
// time per target. A target starts with kHostFailedHealthCheck set (nothing is sent to it before
// its first check passes) and its first check starts on the next loop iteration.
// Health changes are logged at info level, each failed check at debug level.
class HealthChecker {
 public:
  // `loop` must belong to a common::EventLoop (its uv()): connections are TcpConnections and
  // finished probes are freed through EventLoop::deferDelete. Failed checks are counted in
  // `stats` (the loop thread's shard). `seed` drives the jitter.
  HealthChecker(uv_loop_t* loop, common::StatsShard& stats, uint64_t seed);
  // Stops everything; safe while checks are in flight (their connections are closed). Leaves
  // the hosts' flags as they are.
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Replaces the targets. A target with the same cluster, address and equal config (by value)
  // keeps its state and schedule (it takes the new entry's host, health and counter; a different
  // host object gets the flag that matches the kept health). New targets start as above.
  // Removed ones stop at once (their connection closed) and their host's kHostFailedHealthCheck
  // is cleared: an endpoint that is no longer checked is not held back by an old result.
  // Entries with a null config, host or health are ignored; of entries with the same cluster and
  // address, the last one counts.
  void update(std::vector<HealthCheckTarget> targets);

  // True once every current target's first check has finished (pass, fail or timeout); true
  // when there are no targets.
  bool initialRoundDone() const noexcept { return first_pending_ == 0; }
  // Called (once per time it becomes true) when initialRoundDone() turns from false to true,
  // from a check's completion or from update() (when it removes the last targets pending).
  // Not called when update() leaves it true: check initialRoundDone() after update().
  void setInitialRoundCallback(std::function<void()> cb) { initial_round_cb_ = std::move(cb); }

  // Health by "cluster/address" (e.g. "orders/10.0.0.7:8080") for tests and /clusters: false
  // while unhealthy (including before the first check passes) and for unknown targets.
  bool healthy(std::string_view cluster_and_address) const noexcept;
  size_t targetCount() const noexcept { return targets_.size(); }

 private:
  struct Target;

  void startCheck(Target& t);
  // A check ended: `passed`, else `reason` says why.
  void finishCheck(Target& t, bool passed, const std::string& reason);
  void scheduleNext(Target& t);
  // Stops the target's probe and timer (its connection closed).
  void stop(Target& t);
  void maybeInitialRoundDone(bool was_done);

  common::EventLoop& loop_;
  common::StatsShard& stats_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<Target>, std::less<>> targets_;  // by "cluster/address"
  size_t first_pending_ = 0;  // targets whose first check has not finished
  std::function<void()> initial_round_cb_;
};

}  // namespace remora::filters::health_check
