#pragma once
// HttpConnection: the HTTP/1 connection manager for one downstream connection.
//
// It parses requests with llhttp, routes each one, streams it to an upstream connection from
// the worker's pool and streams the response back. One request is in flight at a time: after a
// request is complete the parser pauses, so pipelined requests are answered strictly in order
// and their bytes wait in a bounded buffer. Bodies are never buffered whole: each direction
// stops reading its source when the destination's write buffer passes its high watermark.
//
// Proxy-generated responses carry x-remora-reason (see filters/api/stream_info.h). After an
// upgrade (101) both sockets become a byte tunnel.

#include <memory>
#include <string>
#include <string_view>

#include "common/http1_parser.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "filters/api/filter_chain.h"
#include "filters/api/http_filter.h"
#include "filters/api/stream_info.h"
#include "filters/outlier/outlier_detector.h"
#include "sidecar/connection_info.h"
#include "sidecar/upstream_connection.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

class HttpConnection final : public DownstreamConnection,
                             public common::TcpConnection::Handler,
                             public common::Http1Parser::Callbacks,
                             public UpstreamConnection::Client,
                             public filters::StreamCtx {
 public:
  // Takes over `conn` (already accepted, reading) and handles `initial` (bytes read during
  // protocol detection) first.
  // `listener` belongs to `listener_snapshot`, which the connection keeps alive.
  HttpConnection(Worker& worker, std::shared_ptr<const Snapshot> listener_snapshot,
                 const ListenerConfig& listener, ListenerRuntime& runtime,
                 std::unique_ptr<common::TcpConnection> conn, const ConnectionInfo& info);
  ~HttpConnection() override;
  void start(std::string_view initial) noexcept;

  // DownstreamConnection
  void onDrain() noexcept override;
  void closeNow() noexcept override;

  // TcpConnection::Handler (downstream socket)
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onHighWatermark() noexcept override;
  void onLowWatermark() noexcept override;
  void onDrained() noexcept override;

  // Http1Parser::Callbacks (requests)
  common::HeadAction onHeaders(common::MessageHead& head) noexcept override;
  void onBody(std::string_view data) noexcept override;
  bool onMessageComplete() noexcept override;

  // UpstreamConnection::Client
  void onUpstreamConnected() noexcept override;
  void onUpstreamHeaders(common::MessageHead& head) noexcept override;
  void onUpstreamBody(std::string_view data) noexcept override;
  void onUpstreamComplete() noexcept override;
  void onUpstreamReadEnd() noexcept override;
  void onUpstreamUpgrade(std::string_view rest) noexcept override;
  void onUpstreamTunnelData(std::string_view data) noexcept override;
  void onUpstreamTunnelEof() noexcept override;
  void onUpstreamFailure(UpstreamFailure f, bool response_started) noexcept override;
  void onUpstreamWriteBlocked() noexcept override;
  void onUpstreamWriteUnblocked() noexcept override;
  void onUpstreamDrained() noexcept override;

  // filters::StreamCtx
  void sendLocalReply(filters::Reason reason, std::string_view detail = {},
                      uint16_t status = 0) noexcept override;
  void sendLocalReply(const filters::LocalReply& reply) noexcept override;
  void resume() noexcept override;
  std::string_view downstreamHost() noexcept override;
  filters::StreamInfo& info() noexcept override { return info_stream_; }
  uv_loop_t* loop() noexcept override { return worker_.loop().uv(); }
  common::StatsShard& stats() noexcept override { return worker_.stats(); }
  uint64_t random() noexcept override { return worker_.random(); }

 private:
  enum class TimerMode : uint8_t { kIdle, kHeaderRead, kRequest, kLinger };
  // How the response body is framed towards the client.
  enum class Framing : uint8_t { kNone, kLength, kChunked, kUntilClose };

  // Feeds bytes to the parser once; what a pause leaves over goes to pending_input_.
  void feed(const char* data, size_t len) noexcept;
  // Goes on with buffered input while no stream is active (pipelined requests).
  void pump() noexcept;
  void updateReading() noexcept;
  void armTimer(TimerMode mode, uint64_t ms) noexcept;
  // The idle timer: the listener's idle timeout, or while draining what is left of the grace.
  void armIdleTimer() noexcept;
  void onTimer() noexcept;
  // True when the client has sent no request body byte for body_read_timeout while we read.
  bool bodyStalled(uint64_t now) noexcept;
  // 408, and the upstream connection freed.
  void onBodyTimeout() noexcept;

  // Routing: authority, request id, route match, then the route's filters.
  void routeRequest(common::MessageHead& head) noexcept;
  // After the filters: circuit breaker, timeouts, upstream head, then the first try.
  void forwardRequest(common::MessageHead& head) noexcept;
  void forwardBody(std::string_view data) noexcept;
  // The last chunk of a chunked request body, with the trailer fields that may be forwarded.
  void endChunkedBody() noexcept;
  // One try: pick an endpoint (avoiding the last one), connect, send the head and what is
  // buffered of the body. False when the stream was answered instead.
  bool startTry() noexcept;
  // The endpoint for the next try, or an answer (fallback / 503) and false.
  bool pickEndpoint() noexcept;
  bool connectUpstream(bool fresh) noexcept;
  void sendTryHead() noexcept;
  // The current try is over: endpoint counters and (when `observed`: the endpoint's answer or
  // failure is known) outlier detection.
  void endTry(bool observed, filters::outlier::Outcome outcome, bool errored) noexcept;
  // Retries after a failed try when the policy, the budget and the breaker allow; true when a
  // retry was scheduled (the caller must not answer).
  bool maybeRetry(const char* why) noexcept;
  // The request timer: the request's deadline or the current try's, whichever comes first.
  void armRequestTimer() noexcept;
  void onPerTryTimeout() noexcept;
  void onBackoffTimer() noexcept;
  void onStreamIdleTimer() noexcept;
  void noteActivity() noexcept;
  void releaseSlots() noexcept;
  uint64_t requestHash(const common::MessageHead& head) noexcept;
  void writeUpstream(std::string_view a, std::string_view b = {},
                     std::string_view c = {}) noexcept;
  // Answers the current request from the proxy (status from the reason unless given).
  void replyLocally(filters::Reason reason, std::string_view detail = {},
                    uint16_t status = 0) noexcept;
  void replyLocally(const filters::LocalReply& reply) noexcept;
  void sendParseError() noexcept;
  void failStream(filters::Reason reason) noexcept;
  void finishStream() noexcept;
  void recordStream() noexcept;
  void closeGracefully() noexcept;
  void destroy() noexcept;
  void releaseUpstream(bool reusable) noexcept;
  // Tunnels end once both sides sent EOF and every byte was delivered.
  void maybeFinishTunnel() noexcept;

  Worker& worker_;
  std::shared_ptr<const Snapshot> listener_snapshot_;  // the snapshot the connection was accepted on
  // This connection's listener: from listener_snapshot_ until the first stream, then from each
  // stream's snapshot (looked up by index at the stream's start, so that its route table and
  // cluster indexes are those of the same snapshot).
  const ListenerConfig* listener_;
  ListenerRuntime& runtime_;
  std::shared_ptr<const Snapshot> snapshot_;  // pinned per stream
  std::unique_ptr<common::TcpConnection> conn_;
  ConnectionInfo info_;
  std::string peer_host_;  // for x-forwarded-for, computed once
  common::Http1Parser parser_;
  common::Timer timer_;
  TimerMode timer_mode_ = TimerMode::kIdle;

  // Unparsed downstream bytes (pipelined requests, tunnel bytes before the 101).
  std::string pending_input_;
  bool parser_paused_ = false;
  bool parser_upgrade_ = false;
  bool upstream_blocked_ = false;
  bool in_parser_ = false;

  // The current stream.
  bool stream_active_ = false;
  bool request_complete_ = false;
  bool response_head_sent_ = false;
  bool response_complete_ = false;
  bool close_after_response_ = false;
  bool client_http10_ = false;
  bool client_keep_alive_ = true;
  bool head_request_ = false;
  bool idempotent_ = false;
  bool upgrade_request_ = false;
  bool request_chunked_ = false;
  bool request_has_body_ = false;
  Framing response_framing_ = Framing::kNone;
  const ClusterConfig* cluster_ = nullptr;
  const RouteEntry* route_ = nullptr;
  filters::FilterChain filters_;
  bool waiting_filters_ = false;  // a filter holds the request (it will resume() or answer)
  std::string held_body_;         // request body that arrived while the filters held it
  const EndpointConfig* endpoint_cfg_ = nullptr;  // null for original-destination endpoints
  int endpoint_index_ = -1;                       // in cluster_->endpoints, -1: none
  common::SocketAddress endpoint_;
  EndpointPool* endpoint_pool_ = nullptr;
  UpstreamConnection* upstream_ = nullptr;
  // Tries and retries. The upstream head is kept without its final CRLF so each try can add
  // its own x-remora-attempt; the body bytes sent upstream (framed) are kept while a retry or a
  // keep-alive-race replay may need them, up to the policy's limit.
  const filters::retry::RetryPolicy* retry_policy_ = nullptr;
  std::string head_bytes_;
  std::string body_buffer_;
  bool buffering_ = false;
  bool host_per_try_ = false;  // the client sent no Host: each try names its endpoint
  bool race_replayed_ = false;
  bool try_active_ = false;          // an endpoint is counted for the current try
  bool holds_request_slot_ = false;  // counted in the cluster's active requests
  bool holds_pending_slot_ = false;  // counted as pending (waiting for a new connection)
  bool holds_retry_slot_ = false;    // counted in the cluster's active retries
  bool waiting_retry_ = false;       // between two tries (backoff)
  uint32_t tries_ = 0;
  uint32_t retries_ = 0;
  int last_failed_endpoint_ = -1;
  bool has_hash_ = false;
  uint64_t hash_ = 0;
  common::Timer backoff_timer_;  // the wait before a retry
  uint64_t request_deadline_ms_ = 0;  // loop time; 0: none
  uint64_t try_deadline_ms_ = 0;      // loop time; 0: none
  uint64_t try_start_ns_ = 0;
  // What the current try's response head said (recorded when the try ends).
  bool try_answered_ = false;
  filters::outlier::Outcome try_outcome_ = filters::outlier::Outcome::kSuccess;
  // The route's stream idle timeout (created only for routes that set one).
  std::unique_ptr<common::Timer> stream_idle_timer_;
  uint64_t stream_idle_ms_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t last_input_ms_ = 0;  // loop time of the last client bytes (or of a read resumed)
  uint64_t upstream_start_ns_ = 0;
  uint64_t request_timeout_ms_ = 0;
  filters::StreamInfo info_stream_;
  std::string scratch_;  // response head / chunk headers being built

  // The connection.
  bool tunnel_ = false;
  bool down_eof_ = false;
  bool up_eof_ = false;
  bool closing_ = false;
  bool destroyed_ = false;
  bool draining_ = false;
};

}  // namespace remora::sidecar
