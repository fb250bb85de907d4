#pragma once
// Router: what happens to one request between its filters and its response: the cluster's
// circuit breakers, the request / per-try / stream-idle timeouts, the endpoint pick, and the
// tries. Each try is a fresh UpstreamRequest on a pooled connection. Retries (by status, reset,
// connect failure or per-try timeout, within the policy, the retry budget and the breaker) and
// the keep-alive race replay send the same request again: the head is kept, and the body and
// trailers are kept message-level (de-framed) up to the retry buffer limit.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/timer.h"
#include "filters/outlier/outlier_detector.h"
#include "filters/retry/retry_policy.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class ActiveStream;
class UpstreamRequest;
class UpstreamConnection;
struct EndpointPool;

class Router {
 public:
  explicit Router(ActiveStream& stream) noexcept;
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The request goes to `cluster` (`route` may be null: a listener default or passthrough).
  // `head` stays the stream's; `end_stream`: nothing follows the head.
  void start(http::RequestHead& head, const ClusterConfig& cluster, const RouteEntry* route,
             bool end_stream) noexcept;
  bool started() const noexcept { return cluster_ != nullptr; }
  const ClusterConfig* cluster() const noexcept { return cluster_; }
  void decodeData(std::string_view data, bool end_stream) noexcept;
  void decodeTrailers(const common::HeaderMap& trailers) noexcept;
  // A downstream read is being parsed: the try's connection is corked until it has been.
  void onDispatchBegin() noexcept;
  // The downstream read that carried request bytes has been parsed: uncork the try.
  void onDispatchEnd() noexcept;
  // The downstream cannot take more response bytes / can again.
  void pauseResponse() noexcept;
  void resumeResponse() noexcept;
  // The stream answered itself or failed: the try's connection is closed (its corked bytes
  // never leave).
  void abandonUpstream() noexcept;
  // The response arrived complete: the connection goes back to the pool when the request was
  // complete too.
  void releaseUpstream() noexcept;
  // The exchange became a tunnel (101): slots and timers end here; the try's connection stays
  // until finish().
  void settle() noexcept;
  // The stream is over: counters, slots, timers and the try. Idempotent.
  void finish() noexcept;
  uint32_t retries() const noexcept { return retries_; }
  bool tried() const noexcept { return tries_ > 0; }
  uint64_t upstreamStartNs() const noexcept { return upstream_start_ns_; }
  size_t upstreamPendingBytes() const noexcept;
  // The response head (not 1xx) is in: it ends the current try's outcome; a status the policy
  // retries starts another try instead (true: the caller drops this response).
  bool onResponseHeaders(const http::ResponseHead& head, bool end_stream) noexcept;

  // ---- from the current try ----
  void onTryConnected(UpstreamRequest& t) noexcept;
  void onTry1xx(UpstreamRequest& t, http::ResponseHead& head) noexcept;
  void onTryHeaders(UpstreamRequest& t, http::ResponseHead& head, bool end_stream) noexcept;
  void onTryData(UpstreamRequest& t, std::string_view data, bool end_stream) noexcept;
  void onTryTrailers(UpstreamRequest& t, common::HeaderMap& trailers) noexcept;
  void onTryReset(UpstreamRequest& t, http::StreamResetReason reason, bool response_started,
                  bool reused) noexcept;
  void onTryReadEnd(UpstreamRequest& t) noexcept;
  void onTryDrained(UpstreamRequest& t) noexcept;
  void onTryWriteBlocked(UpstreamRequest& t, bool blocked) noexcept;

 private:
  // One try: pick an endpoint (avoiding the last failed one), take a connection, send the head
  // and what is kept of the body. False when the stream was answered instead.
  bool startTry() noexcept;
  // The endpoint for the next try, or an answer (fallback / 503) and false.
  bool pickEndpoint(uint64_t now_ns) noexcept;
  // A pooled or new connection for the try (breakers permitting), and the request sent on it.
  bool connectAndSend(bool fresh) noexcept;
  // The try goes out over HTTP/2 (the cluster's protocol, or a sidecar at the endpoint).
  bool upstreamHttp2() const noexcept;
  // The cluster means HTTP/1 for this request: a try over HTTP/2 (to a sidecar) is marked.
  bool carriedForHttp1() const noexcept;
  // A connection of the pool that can take the try now, or null.
  static UpstreamConnection* pooledConnection(EndpointPool& pool, bool h2) noexcept;
  void sendRequest() noexcept;
  // The current try is over: endpoint counters and (when `observed`) outlier detection.
  void endTry(bool observed, filters::outlier::Outcome outcome, bool errored) noexcept;
  // Retries after a failed try when the policy, the budget and the breaker allow; true when a
  // retry was scheduled (the caller must not answer).
  bool maybeRetry(const char* why) noexcept;
  // The request timer: the earliest of the request's deadline, the current try's, and the
  // body-read deadline while the client owes body bytes.
  void armTimer() noexcept;
  void onTimer() noexcept;
  void onPerTryTimeout() noexcept;
  void onBodyTimeout() noexcept;
  void onBackoffTimer() noexcept;
  void onStreamIdleTimer() noexcept;
  void noteActivity() noexcept;
  void releaseSlots() noexcept;
  // The try's connection goes back to the pool (`reusable`) or is closed; the try is freed
  // after this loop iteration.
  void dropTry(bool reusable) noexcept;
  uint64_t requestHash(const http::RequestHead& head) noexcept;
  // Keeps request body bytes for a later try while the buffer limit allows.
  void keepBody(std::string_view data) noexcept;

  ActiveStream& stream_;
  http::RequestHead* head_ = nullptr;
  const ClusterConfig* cluster_ = nullptr;
  const RouteEntry* route_ = nullptr;
  const filters::retry::RetryPolicy* retry_policy_ = nullptr;
  UpstreamRequest* upstream_ = nullptr;  // the current try, or null between tries
  // The endpoint of the current (or last) try.
  const EndpointConfig* endpoint_cfg_ = nullptr;  // null for original-destination endpoints
  int endpoint_index_ = -1;
  common::SocketAddress endpoint_;
  EndpointPool* endpoint_pool_ = nullptr;
  // What is kept for another try.
  std::string body_buffer_;
  std::unique_ptr<common::HeaderMap> trailers_;
  size_t buffer_limit_ = 0;
  bool buffering_ = false;
  bool request_ended_ = false;  // the request's end (end_stream or trailers) has been seen
  bool idempotent_ = false;
  bool host_per_try_ = false;  // the client sent no Host: each try names its endpoint
  bool race_replayed_ = false;
  bool try_active_ = false;    // an endpoint is counted for the current try
  bool try_answered_ = false;  // the current try's response head arrived
  filters::outlier::Outcome try_outcome_ = filters::outlier::Outcome::kSuccess;
  bool holds_request_slot_ = false;  // counted in the cluster's active requests
  bool holds_pending_slot_ = false;  // counted as pending (waiting for a new connection)
  bool holds_retry_slot_ = false;    // counted in the cluster's active retries
  bool waiting_retry_ = false;       // between two tries (backoff)
  bool response_paused_ = false;
  bool finished_ = false;
  uint32_t tries_ = 0;
  uint32_t retries_ = 0;
  int last_failed_endpoint_ = -1;
  bool has_hash_ = false;
  uint64_t hash_ = 0;
  std::optional<common::Timer> timer_;  // request / per-try / body-read deadlines
  uint64_t answered_ns_ = 0;  // when the current try's response head came (with try_answered_)
  uint64_t armed_deadline_ms_ = 0;                // the loop time timer_ runs to; 0: stopped
  std::unique_ptr<common::Timer> backoff_timer_;  // the wait before a retry
  std::unique_ptr<common::Timer> idle_timer_;     // the route's stream idle timeout
  uint64_t request_timeout_ms_ = 0;
  uint64_t request_deadline_ms_ = 0;  // loop time; 0: none
  uint64_t try_deadline_ms_ = 0;      // loop time; 0: none
  uint64_t try_start_ns_ = 0;
  uint64_t stream_idle_ms_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t upstream_start_ns_ = 0;
};

}  // namespace remora::sidecar
