#include "sidecar/http/router.h"

#include <charconv>

#include "common/grpc/grpc_status.h"
#include "filters/lb/load_balancer.h"
#include "sidecar/endpoint_picker.h"
#include "sidecar/http/active_stream.h"
#include "sidecar/http/connection_manager.h"
#include "sidecar/http/upstream_request.h"
#include "sidecar/own_ports.h"
#include "sidecar/upstream/http1_connection.h"
#include "sidecar/upstream/http2_connection.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

using common::Wk;
using filters::Reason;

namespace {

// Request bytes kept for a replay on a fresh connection when no retry policy sets a limit.
constexpr size_t kReplayLimit = 64 * 1024;

uint64_t nowNs() {
  return uv_hrtime();
}

}  // namespace

Router::Router(ActiveStream& stream) noexcept : stream_(stream) {}

Router::~Router() {
  finish();
}

// ---- the request -------------------------------------------------------------------------

void Router::start(http::RequestHead& head, const ClusterConfig& cluster, const RouteEntry* route,
                   bool end_stream) noexcept {
  head_ = &head;
  cluster_ = &cluster;
  route_ = route;
  request_ended_ = end_stream;
  Worker& worker = stream_.worker();
  filters::StreamInfo& info = stream_.info();
  ClusterRuntime* rt = cluster.runtime.get();
  // Circuit breaker: requests in flight to the cluster, across workers.
  if (rt != nullptr) {
    if (rt->active_requests.load(std::memory_order_relaxed) >= cluster.max_requests) {
      worker.stats().add(cluster.stats.rq_overflow);
      info.note("circuit breaker: max_requests " + std::to_string(cluster.max_requests) +
                " reached");
      stream_.replyLocally(Reason::kOverflow, "max_requests");
      return;
    }
    rt->active_requests.fetch_add(1, std::memory_order_relaxed);
    holds_request_slot_ = true;
  }

  // Timeout for the whole response (all tries).
  int64_t route_timeout = route != nullptr ? route->timeout_ms : -1;
  request_timeout_ms_ =
      route_timeout >= 0 ? static_cast<uint64_t>(route_timeout) : cluster.request_timeout_ms;
  if (stream_.grpc() && head.headers.has("grpc-timeout")) {
    // The client's deadline bounds the request too (the header goes on unchanged).
    std::optional<uint64_t> grpc_ms = grpc::parseTimeoutMs(head.headers.get("grpc-timeout"));
    if (grpc_ms && (request_timeout_ms_ == 0 || *grpc_ms < request_timeout_ms_)) {
      request_timeout_ms_ = *grpc_ms;
      info.note("grpc-timeout " + std::to_string(*grpc_ms) + "ms");
    }
  }
  uv_loop_t* loop = worker.loop().uv();
  request_deadline_ms_ = request_timeout_ms_ > 0 ? uv_now(loop) + request_timeout_ms_ : 0;
  if (route != nullptr && route->idle_timeout_ms > 0) {
    stream_idle_ms_ = static_cast<uint64_t>(route->idle_timeout_ms);
    idle_timer_ = std::make_unique<common::Timer>(loop, [this] { onStreamIdleTimer(); });
    noteActivity();
    idle_timer_->start(stream_idle_ms_);
  }

  // Retries: the route's policy, else the cluster's. Upgrades are never retried.
  retry_policy_ = route != nullptr && route->has_retry ? &route->retry : &cluster.retry;
  if (head.upgrade) {
    retry_policy_ = nullptr;
  }
  idempotent_ = head.idempotent();
  buffering_ = (retry_policy_ != nullptr && retry_policy_->enabled()) || idempotent_;
  buffer_limit_ = retry_policy_ != nullptr && retry_policy_->enabled()
                      ? retry_policy_->buffer_limit_bytes
                      : kReplayLimit;

  // The consistent-hash key, read before the head is changed for upstream.
  if (cluster.hash_on != ClusterConfig::HashOn::kNone) {
    hash_ = requestHash(head);
  }
  head.headers.remove(Wk::kXRemoraAttempt);  // ours to set, never the client's
  // An HTTP/1.0 client may omit Host; the upstream speaks HTTP/1.1 and needs one: each try
  // names its endpoint.
  host_per_try_ = !head.headers.has(Wk::kHost);
  startTry();
}

uint64_t Router::requestHash(const http::RequestHead& head) noexcept {
  std::string_view key;
  switch (cluster_->hash_on) {
    case ClusterConfig::HashOn::kHeader:
      if (!head.headers.has(cluster_->hash_name)) {
        return 0;
      }
      key = head.headers.get(cluster_->hash_name);
      break;
    case ClusterConfig::HashOn::kCookie: {
      std::string_view cookies = head.headers.get("cookie");
      const std::string& name = cluster_->hash_name;
      size_t pos = 0;
      while (pos < cookies.size()) {
        while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) {
          ++pos;
        }
        size_t end = cookies.find(';', pos);
        std::string_view pair =
            cookies.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
            pair[name.size()] == '=') {
          key = pair.substr(name.size() + 1);
          break;
        }
        pos = end == std::string_view::npos ? cookies.size() : end + 1;
      }
      if (key.empty()) {
        return 0;
      }
      break;
    }
    case ClusterConfig::HashOn::kSourceIp:
      key = stream_.downstreamHost();
      break;
    case ClusterConfig::HashOn::kNone:
      return 0;
  }
  has_hash_ = true;
  return filters::lb::hashKey(key);
}

void Router::keepBody(std::string_view data) noexcept {
  if (!buffering_) {
    return;
  }
  if (body_buffer_.size() + data.size() > buffer_limit_) {
    // Too big to send again: this request gets no retry and no replay.
    buffering_ = false;
    std::string().swap(body_buffer_);
    stream_.info().note("request body over the retry buffer: no retries");
    return;
  }
  body_buffer_.append(data);
}

void Router::decodeData(std::string_view data, bool end_stream) noexcept {
  if (finished_) {
    return;
  }
  if (!stream_.tunnel()) {
    keepBody(data);
  }
  if (end_stream) {
    request_ended_ = true;
  }
  if (upstream_ != nullptr) {
    noteActivity();
    upstream_->encoder().encodeData(data, end_stream);
  }
  if (end_stream) {
    armTimer();  // the body-read deadline no longer applies
  }
}

void Router::decodeTrailers(const common::HeaderMap& trailers) noexcept {
  if (finished_) {
    return;
  }
  request_ended_ = true;
  if (buffering_) {
    trailers_ = std::make_unique<common::HeaderMap>(trailers);
  }
  if (upstream_ != nullptr) {
    upstream_->encoder().encodeTrailers(trailers);
  }
  armTimer();
}

void Router::onDispatchBegin() noexcept {
  if (upstream_ != nullptr && upstream_->connection() != nullptr) {
    upstream_->connection()->cork();
  }
}

void Router::onDispatchEnd() noexcept {
  if (upstream_ != nullptr && upstream_->connection() != nullptr) {
    upstream_->connection()->uncork();  // the head and this read's body bytes, in one write
  }
}

void Router::pauseResponse() noexcept {
  response_paused_ = true;
  if (upstream_ != nullptr) {
    upstream_->encoder().readDisable(true);
  }
}

void Router::resumeResponse() noexcept {
  response_paused_ = false;
  if (upstream_ != nullptr) {
    upstream_->encoder().readDisable(false);
  }
}

size_t Router::upstreamPendingBytes() const noexcept {
  return upstream_ != nullptr && upstream_->connection() != nullptr
             ? upstream_->connection()->pendingBytes()
             : 0;
}

// ---- tries -------------------------------------------------------------------------------

bool Router::pickEndpoint(uint64_t now_ns) noexcept {
  Worker& worker = stream_.worker();
  filters::StreamInfo& info = stream_.info();
  const ListenerConfig& listener = stream_.listener();
  const ConnectionInfo& conn_info = stream_.connection().info();
  if (cluster_->original_dst) {
    if (!conn_info.original_dst) {
      info.note("original destination unknown (connection was not redirected)");
      stream_.replyLocally(Reason::kNoHealthyUpstream);
      return false;
    }
    endpoint_ = *conn_info.original_dst;
    if (listener.inbound) {
      // Inbound passthrough goes to the app on this host, on the port the client dialled.
      endpoint_ = common::loopbackAddress(conn_info.original_dst->port());
    }
    if (worker.ownPorts().isSelf(endpoint_)) {
      // Whatever the client dialled, it never reaches the admin API or a listener this way.
      worker.stats().add(listener.stats.own_port_refused_http);
      logOwnPortRefused(listener.name, "http", stream_.connection().peerAddress(),
                        *conn_info.original_dst, uv_now(worker.loop().uv()));
      info.note("original destination " + conn_info.original_dst->toString() +
                " is a port of this sidecar: refused");
      stream_.replyLocally(Reason::kSidecarPort);
      return false;
    }
    endpoint_pool_ = &worker.dynamicPool(endpoint_.toString());
    endpoint_cfg_ = nullptr;
    endpoint_index_ = -1;
    return true;
  }
  // Health: below the panic threshold every endpoint is used whatever its health; with none
  // healthy, the fallback response answers instead when one is configured.
  const ClusterAvailability avail = clusterAvailability(*cluster_);
  filters::lb::PickContext pc;
  pc.now_ns = now_ns;
  pc.has_hash = has_hash_;
  pc.hash = hash_;
  pc.avoid = last_failed_endpoint_;
  if (avail.healthy == 0 && cluster_->has_fallback) {
    worker.stats().add(cluster_->stats.fallback_responses);
    info.note("no healthy endpoint: fallback response");
    filters::LocalReply reply;
    reply.reason = Reason::kNoHealthyUpstream;
    reply.status = cluster_->fallback_status;
    reply.has_body = true;
    reply.body = cluster_->fallback_body;
    for (const auto& [k, v] : cluster_->fallback_headers) {
      reply.headers.emplace_back(k, v);
    }
    stream_.replyLocally(reply);
    return false;
  }
  if (avail.total == 0) {
    // Mesh mode: a cluster whose endpoints have not arrived (or are all gone).
    info.note("cluster has no endpoints");
    stream_.replyLocally(Reason::kNoHealthyUpstream);
    return false;
  }
  if (avail.panic) {
    info.note("panic: " + std::to_string(avail.healthy) + "/" + std::to_string(avail.total) +
              " endpoints healthy, health ignored");
  }
  int index = pickClusterEndpoint(*cluster_, worker.index(), avail, pc);
  if (index < 0) {
    info.note("no healthy endpoint");
    stream_.replyLocally(Reason::kNoHealthyUpstream);
    return false;
  }
  const EndpointConfig& ep = cluster_->endpoints[static_cast<size_t>(index)];
  endpoint_index_ = index;
  endpoint_ = ep.address;
  endpoint_pool_ = &worker.pool(ep.pool_id);
  endpoint_cfg_ = &ep;
  return true;
}

bool Router::startTry() noexcept {
  waiting_retry_ = false;
  // One clock read serves the pick (latency-aware balancers), the try and the upstream start.
  uint64_t now = nowNs();
  if (!pickEndpoint(now)) {
    return false;
  }
  if (endpoint_cfg_ != nullptr) {
    endpoint_cfg_->host->active_requests.fetch_add(1, std::memory_order_relaxed);
  }
  try_active_ = true;
  try_answered_ = false;
  try_outcome_ = filters::outlier::Outcome::kSuccess;
  try_start_ns_ = now;
  ++tries_;
  if (!connectAndSend(false)) {
    return false;
  }
  try_deadline_ms_ = retry_policy_ != nullptr && retry_policy_->per_try_timeout_ms > 0
                         ? uv_now(stream_.worker().loop().uv()) + retry_policy_->per_try_timeout_ms
                         : 0;
  armTimer();
  return true;
}

UpstreamConnection* Router::pooledConnection(EndpointPool& pool, bool h2) noexcept {
  if (!h2) {
    return pool.idle.empty() ? nullptr : pool.idle.back();
  }
  for (Http2UpstreamConnection* c : pool.h2) {
    if (c->available()) {
      return c;
    }
  }
  return nullptr;
}

bool Router::upstreamHttp2() const noexcept {
  if (head_->upgrade) {
    return false;  // a tunnel after 101 exists only in HTTP/1
  }
  switch (cluster_->protocol) {
    case ClusterConfig::Protocol::kHttp2:
      return true;
    case ClusterConfig::Protocol::kUseDownstream:
      if (stream_.downstreamSpeaksHttp2()) {
        return true;
      }
      break;
    case ClusterConfig::Protocol::kHttp1:
      break;
  }
  // Between two sidecars HTTP/1 requests are multiplexed over HTTP/2 too (sendRequest marks
  // them so that the far side restores HTTP/1).
  return endpoint_cfg_ != nullptr && endpoint_cfg_->has_sidecar;
}

bool Router::carriedForHttp1() const noexcept {
  return cluster_->protocol == ClusterConfig::Protocol::kHttp1 ||
         (cluster_->protocol == ClusterConfig::Protocol::kUseDownstream &&
          !stream_.downstreamSpeaksHttp2());
}

bool Router::connectAndSend(bool fresh) noexcept {
  Worker& worker = stream_.worker();
  filters::StreamInfo& info = stream_.info();
  EndpointPool& pool = *endpoint_pool_;
  ClusterRuntime* rt = cluster_->runtime.get();
  const bool h2 = upstreamHttp2();
  UpstreamConnection* c = fresh ? nullptr : pooledConnection(pool, h2);
  if (c != nullptr) {
    // An idle HTTP/1 connection, or an HTTP/2 one with room for another stream.
  } else if (pool.open >= cluster_->max_connections_per_endpoint ||
             (rt != nullptr &&
              rt->connections.load(std::memory_order_relaxed) >= cluster_->max_connections)) {
    worker.stats().add(cluster_->stats.rq_overflow);
    info.note("circuit breaker: connection limit reached");
    endTry(false, filters::outlier::Outcome::kSuccess, false);  // not the endpoint's doing
    stream_.replyLocally(Reason::kOverflow, "max_connections");
    return false;
  } else if (rt != nullptr && rt->pending_requests.load(std::memory_order_relaxed) >=
                                  cluster_->max_pending_requests) {
    worker.stats().add(cluster_->stats.rq_pending_overflow);
    info.note("circuit breaker: max_pending_requests reached");
    endTry(false, filters::outlier::Outcome::kSuccess, false);
    stream_.replyLocally(Reason::kOverflow, "max_pending_requests");
    return false;
  } else {
    if (h2) {
      c = new Http2UpstreamConnection(worker, *cluster_, endpoint_, pool);
    } else {
      c = new Http1UpstreamConnection(worker, *cluster_, endpoint_, pool);
    }
    if (rt != nullptr) {
      rt->pending_requests.fetch_add(1, std::memory_order_relaxed);
      holds_pending_slot_ = true;
    }
  }
  if (stream_.connection().inDispatch()) {
    c->cork();  // nothing leaves before the read that carried the request has parsed
  }
  upstream_ = new UpstreamRequest(*this, *c);
  if (response_paused_ || stream_.downstreamBlocked()) {
    upstream_->encoder().readDisable(true);  // the client has not read the last response yet
  }
  if (upstream_start_ns_ == 0) {
    upstream_start_ns_ = try_start_ns_;  // (the first try's start, read just now)
  }
  filters::Attempt a;
  // (The configured endpoint's text is precomputed: formatting an address costs more than the
  // rest of the try's bookkeeping.)
  a.endpoint = endpoint_cfg_ != nullptr ? endpoint_cfg_->address_text : endpoint_.toString();
  a.reused_connection = upstream_->reusedConnection();
  info.attempts.push_back(std::move(a));
  sendRequest();
  return true;
}

void Router::sendRequest() noexcept {
  http::RequestHead& head = *head_;
  if (host_per_try_) {
    head.headers.set("host",
                     endpoint_cfg_ != nullptr ? endpoint_cfg_->address_text : endpoint_.toString());
  }
  char digits[12];
  auto r = std::to_chars(digits, digits + sizeof digits, tries_);
  head.headers.set("x-remora-attempt",
                   std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
  if (upstream_->encoder().protocol() == http::Protocol::kHttp2 && carriedForHttp1()) {
    head.headers.set(kOrigProtoHeader, "HTTP/1.1");  // a sidecar's endpoint: see active_stream.h
  } else if (tries_ > 1) {
    head.headers.remove(kOrigProtoHeader);  // (an earlier try's)
  }
  bool has_trailers = trailers_ != nullptr;
  bool complete = request_ended_;
  http::RequestEncoder& enc = upstream_->encoder();
  bool head_only = complete && body_buffer_.empty() && !has_trailers;
  enc.encodeHeaders(head, head_only);
  if (head_only || upstream_ == nullptr) {
    return;
  }
  if (!body_buffer_.empty()) {
    enc.encodeData(body_buffer_, complete && !has_trailers);
  } else if (complete && !has_trailers) {
    enc.encodeData({}, true);
  }
  if (complete && has_trailers && upstream_ != nullptr) {
    enc.encodeTrailers(*trailers_);
  }
}

void Router::endTry(bool observed, filters::outlier::Outcome outcome, bool errored) noexcept {
  if (holds_pending_slot_) {
    holds_pending_slot_ = false;
    cluster_->runtime->pending_requests.fetch_sub(1, std::memory_order_relaxed);
  }
  if (!try_active_) {
    return;
  }
  try_active_ = false;
  if (holds_retry_slot_) {
    holds_retry_slot_ = false;
    cluster_->runtime->active_retries.fetch_sub(1, std::memory_order_relaxed);
  }
  if (endpoint_cfg_ == nullptr) {
    return;
  }
  endpoint_cfg_->host->active_requests.fetch_sub(1, std::memory_order_relaxed);
  // (An answered try's clock reading is from its response head: ejection times are in seconds.)
  if (observed && recordEndpointOutcome(*cluster_, *endpoint_cfg_, stream_.worker().stats(),
                                        outcome, errored, try_answered_ ? answered_ns_ : nowNs())) {
    stream_.info().note("outlier detection ejected " + endpoint_cfg_->address_text);
  }
}

bool Router::maybeRetry(const char* why) noexcept {
  const filters::retry::RetryPolicy* p = retry_policy_;
  if (p == nullptr || retries_ >= p->num_retries || !buffering_ || stream_.responseStarted() ||
      finished_) {
    return false;
  }
  Worker& worker = stream_.worker();
  filters::StreamInfo& info = stream_.info();
  ClusterRuntime& rt = *cluster_->runtime;
  if (rt.active_retries.load(std::memory_order_relaxed) >= cluster_->max_retries) {
    worker.stats().add(cluster_->stats.rq_retry_overflow);
    info.note("retry refused: circuit breaker max_retries");
    return false;
  }
  if (!rt.retry_budget.tryAcquire(*p, nowNs(), rt.active_requests.load(std::memory_order_relaxed),
                                  rt.active_retries.load(std::memory_order_relaxed))) {
    worker.stats().add(cluster_->stats.rq_retry_overflow);
    info.note("retry refused: retry budget exhausted");
    return false;
  }
  rt.active_retries.fetch_add(1, std::memory_order_relaxed);
  holds_retry_slot_ = true;
  ++retries_;
  worker.stats().add(cluster_->stats.rq_retry);
  last_failed_endpoint_ = endpoint_index_;
  uint64_t backoff = filters::retry::backoffMs(*p, retries_, worker.random());
  info.note(std::string("retry ") + std::to_string(retries_) + " after " + why + " in " +
            std::to_string(backoff) + "ms");
  waiting_retry_ = true;
  if (!backoff_timer_) {
    backoff_timer_ =
        std::make_unique<common::Timer>(worker.loop().uv(), [this] { onBackoffTimer(); });
  }
  backoff_timer_->start(backoff);
  return true;
}

void Router::onBackoffTimer() noexcept {
  if (finished_ || !waiting_retry_) {
    return;
  }
  // The retry slot moves on to the new try (released when it ends).
  bool slot = holds_retry_slot_;
  holds_retry_slot_ = false;
  if (startTry()) {
    holds_retry_slot_ = slot;
    if (upstream_ != nullptr && upstream_->connection() != nullptr) {
      upstream_->connection()->uncork();
    }
  } else if (slot) {
    cluster_->runtime->active_retries.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Router::dropTry(bool reusable) noexcept {
  UpstreamRequest* t = upstream_;
  if (t == nullptr) {
    return;
  }
  upstream_ = nullptr;
  t->detach(reusable);
  stream_.worker().loop().deferDelete(std::unique_ptr<common::Deletable>(t));
  if (reusable) {
    stream_.flushDownstream();
  }
}

void Router::abandonUpstream() noexcept {
  dropTry(false);
}

void Router::releaseUpstream() noexcept {
  dropTry(stream_.requestComplete());
}

// ---- timers ------------------------------------------------------------------------------

void Router::armTimer() noexcept {
  if (finished_ || cluster_ == nullptr) {
    return;
  }
  // The earlier of the request's deadline and, while the try waits for its response head, the
  // try's.
  uint64_t deadline = request_deadline_ms_;
  if (try_active_ && !try_answered_ && try_deadline_ms_ != 0 &&
      (deadline == 0 || try_deadline_ms_ < deadline)) {
    deadline = try_deadline_ms_;
  }
  // While the client owes body bytes: the body_read_timeout after the last one.
  const ListenerConfig& listener = stream_.listener();
  if (listener.body_read_timeout_ms > 0 && !stream_.requestComplete() && stream_.requestHasBody() &&
      !stream_.responseStarted()) {
    uint64_t body = stream_.lastInputMs() + listener.body_read_timeout_ms;
    if (deadline == 0 || body < deadline) {
      deadline = body;
    }
  }
  if (deadline == armed_deadline_ms_) {
    return;  // (the usual case once the response head is in: the request deadline stays)
  }
  armed_deadline_ms_ = deadline;
  if (deadline == 0) {
    if (timer_) {
      timer_->stop();
    }
    return;
  }
  uv_loop_t* loop = stream_.worker().loop().uv();
  if (!timer_) {
    timer_.emplace(loop, [this] { onTimer(); });
  }
  uint64_t now = uv_now(loop);
  timer_->start(deadline > now ? deadline - now : 0);
}

void Router::onTimer() noexcept {
  armed_deadline_ms_ = 0;  // it fired: nothing is armed now
  if (finished_) {
    return;
  }
  Worker& worker = stream_.worker();
  filters::StreamInfo& info = stream_.info();
  uint64_t now = uv_now(worker.loop().uv());
  const ListenerConfig& listener = stream_.listener();
  // A stalled body: only while the client owes body bytes and nothing of the response went out.
  if (listener.body_read_timeout_ms > 0 && !stream_.requestComplete() && stream_.requestHasBody() &&
      !stream_.responseStarted() && !stream_.tunnel()) {
    if (!stream_.downstreamReading()) {
      stream_.restartInputClock();  // not the client's stall: we are not reading
    } else if (now - stream_.lastInputMs() >= listener.body_read_timeout_ms) {
      onBodyTimeout();
      return;
    }
  }
  if (request_deadline_ms_ == 0 || now < request_deadline_ms_) {
    if (try_active_ && !try_answered_ && try_deadline_ms_ != 0 && now >= try_deadline_ms_) {
      onPerTryTimeout();
    } else {
      armTimer();  // a per-try deadline that no longer matters, or a body deadline moved on
    }
    return;
  }
  worker.stats().add(cluster_->stats.rq_timeout);
  info.note("request timeout " + std::to_string(request_timeout_ms_) + "ms");
  if (!info.attempts.empty() && info.attempts.back().outcome.empty()) {
    info.attempts.back().outcome = "timeout";
  }
  if (try_active_ && !try_answered_) {
    endTry(true, filters::outlier::Outcome::kTimeout, true);
  }
  stream_.failStream(Reason::kUpstreamTimeout);
}

void Router::onBodyTimeout() noexcept {
  // A stalled body holds an upstream connection (and a slot of max_connections_per_endpoint):
  // give it back and tell the client.
  filters::StreamInfo& info = stream_.info();
  const ListenerConfig& listener = stream_.listener();
  stream_.worker().stats().add(listener.stats.body_timeout);
  info.note("request body stalled for " + std::to_string(listener.body_read_timeout_ms) +
            "ms (body_read_timeout)");
  if (!info.attempts.empty() && info.attempts.back().outcome.empty()) {
    info.attempts.back().outcome = "request-body-timeout";
  }
  dropTry(false);
  endTry(false, filters::outlier::Outcome::kSuccess, false);  // not the endpoint's doing
  stream_.replyLocally(Reason::kRequestTimeout, "request body stalled");
}

void Router::onPerTryTimeout() noexcept {
  // Per-try timeout: this try is abandoned; another may be made.
  filters::StreamInfo& info = stream_.info();
  info.note("per-try timeout " + std::to_string(retry_policy_->per_try_timeout_ms) + "ms");
  if (!info.attempts.empty()) {
    info.attempts.back().outcome = "per-try-timeout";
  }
  dropTry(false);
  endTry(true, filters::outlier::Outcome::kTimeout, true);
  if (retry_policy_->retriesFailure(filters::retry::TryFailure::kTimeout) &&
      maybeRetry("per-try timeout")) {
    return;
  }
  stream_.worker().stats().add(cluster_->stats.rq_timeout);
  if (retries_ > 0) {
    stream_.replyLocally(Reason::kRetriesExhausted, "last try: per-try timeout", 504);
    return;
  }
  stream_.failStream(Reason::kUpstreamTimeout);
}

void Router::noteActivity() noexcept {
  if (stream_idle_ms_ > 0) {
    last_activity_ms_ = uv_now(stream_.worker().loop().uv());
  }
}

void Router::onStreamIdleTimer() noexcept {
  if (finished_ || stream_idle_ms_ == 0 || stream_.responseComplete()) {
    return;
  }
  uint64_t now = uv_now(stream_.worker().loop().uv());
  uint64_t idle = now - last_activity_ms_;
  if (idle < stream_idle_ms_) {
    idle_timer_->start(stream_idle_ms_ - idle);
    return;
  }
  stream_.info().note("stream idle timeout " + std::to_string(stream_idle_ms_) + "ms");
  stream_.worker().stats().add(cluster_->stats.rq_timeout);
  dropTry(false);
  endTry(true, filters::outlier::Outcome::kTimeout, true);
  stream_.failStream(Reason::kUpstreamTimeout);
}

void Router::releaseSlots() noexcept {
  if (cluster_ == nullptr) {
    return;
  }
  // A try still open here ended with its response (or the client went away: not observed).
  endTry(try_answered_, try_outcome_, try_outcome_ != filters::outlier::Outcome::kSuccess);
  waiting_retry_ = false;
  if (holds_retry_slot_) {
    holds_retry_slot_ = false;
    cluster_->runtime->active_retries.fetch_sub(1, std::memory_order_relaxed);
  }
  if (holds_request_slot_) {
    holds_request_slot_ = false;
    cluster_->runtime->active_requests.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Router::settle() noexcept {
  releaseSlots();
  timer_.reset();
  armed_deadline_ms_ = 0;
  backoff_timer_.reset();
  idle_timer_.reset();
  endpoint_cfg_ = nullptr;
}

void Router::finish() noexcept {
  if (finished_) {
    return;
  }
  settle();
  finished_ = true;
  dropTry(false);
}

// ---- the response ------------------------------------------------------------------------

void Router::onTryConnected(UpstreamRequest& t) noexcept {
  if (&t != upstream_) {
    return;
  }
  if (holds_pending_slot_) {
    holds_pending_slot_ = false;
    cluster_->runtime->pending_requests.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Router::onTry1xx(UpstreamRequest& t, http::ResponseHead& head) noexcept {
  if (&t != upstream_) {
    return;
  }
  stream_.encode1xx(head);
}

bool Router::onResponseHeaders(const http::ResponseHead& head, bool end_stream) noexcept {
  const uint16_t status = head.status;
  filters::StreamInfo& info = stream_.info();
  if (!info.attempts.empty()) {
    info.attempts.back().outcome = std::to_string(status);
  }
  if (!try_active_) {
    return false;
  }
  try_answered_ = true;
  try_outcome_ = filters::outlier::classifyStatus(status);
  if (endpoint_cfg_ != nullptr) {
    answered_ns_ = nowNs();
    endpoint_cfg_->host->observeLatency(static_cast<double>(answered_ns_ - try_start_ns_) / 1000.0,
                                        answered_ns_, cluster_->ewma_decay_ns);
  }
  if (retry_policy_ != nullptr && retry_policy_->enabled() &&
      retry_policy_->retriesStatus(status) && retries_ < retry_policy_->num_retries) {
    // Drop this response (and its connection) and try again, if allowed.
    endTry(true, try_outcome_, true);
    std::string why = "status " + std::to_string(status);
    if (maybeRetry(why.c_str())) {
      dropTry(false);
      return true;
    }
    // No retry after all: this response goes to the client.
  }
  if (stream_.grpc() && end_stream && retry_policy_ != nullptr && retry_policy_->enabled() &&
      retries_ < retry_policy_->num_retries) {
    // A trailers-only gRPC response: its grpc-status may be one the policy retries.
    std::optional<uint32_t> grpc_status = grpc::parseStatus(head.headers.get("grpc-status"));
    if (grpc_status && retry_policy_->retriesGrpcStatus(*grpc_status)) {
      if (*grpc_status == static_cast<uint32_t>(grpc::Status::kUnavailable)) {
        try_outcome_ = filters::outlier::classifyStatus(503);  // the endpoint failed
      }
      if (!info.attempts.empty()) {
        info.attempts.back().outcome += " grpc-status " + std::to_string(*grpc_status);
      }
      endTry(true, try_outcome_, try_outcome_ != filters::outlier::Outcome::kSuccess);
      std::string why = "grpc-status " + std::to_string(*grpc_status);
      if (maybeRetry(why.c_str())) {
        dropTry(false);
        return true;
      }
    }
  }
  return false;
}

void Router::onTryHeaders(UpstreamRequest& t, http::ResponseHead& head, bool end_stream) noexcept {
  if (&t != upstream_ || stream_.responseComplete()) {
    return;
  }
  noteActivity();
  if (onResponseHeaders(head, end_stream)) {
    return;
  }
  armTimer();  // the per-try deadline no longer applies
  stream_.encodeUpstreamHeaders(head, end_stream);
}

void Router::onTryData(UpstreamRequest& t, std::string_view data, bool end_stream) noexcept {
  if (&t != upstream_) {
    return;
  }
  noteActivity();
  stream_.encodeUpstreamData(data, end_stream);
}

void Router::onTryTrailers(UpstreamRequest& t, common::HeaderMap& trailers) noexcept {
  if (&t != upstream_) {
    return;
  }
  stream_.encodeUpstreamTrailers(trailers);
}

void Router::onTryReadEnd(UpstreamRequest& t) noexcept {
  if (&t == upstream_) {
    stream_.flushDownstream();
  }
}

void Router::onTryDrained(UpstreamRequest& t) noexcept {
  if (&t == upstream_) {
    stream_.onUpstreamDrained();
  }
}

void Router::onTryWriteBlocked(UpstreamRequest& t, bool blocked) noexcept {
  if (&t == upstream_) {
    stream_.setUpstreamBlocked(blocked);
  }
}

void Router::onTryReset(UpstreamRequest& t, http::StreamResetReason reason, bool response_started,
                        bool reused) noexcept {
  if (&t != upstream_) {
    return;
  }
  upstream_ = nullptr;
  stream_.worker().loop().deferDelete(std::unique_ptr<common::Deletable>(&t));
  stream_.setUpstreamBlocked(false);
  if (stream_.tunnel()) {
    stream_.abort();
    return;
  }
  filters::StreamInfo& info = stream_.info();
  bool connect = reason == http::StreamResetReason::kConnectionFailure;
  const char* what = connect                                             ? "connect-failure"
                     : reason == http::StreamResetReason::kProtocolError ? "upstream-protocol-error"
                                                                         : "upstream-reset";
  if (!info.attempts.empty()) {
    info.attempts.back().outcome = what;
  }
  // The keep-alive race: a pooled connection the upstream had already closed. Nothing of the
  // response came back, so the request was not processed; replay it once on a new connection
  // to the same endpoint. Not a retry: no budget, no outlier verdict.
  if (reason == http::StreamResetReason::kConnectionTermination && reused && !response_started &&
      !stream_.responseStarted() && buffering_ && idempotent_ && !race_replayed_) {
    race_replayed_ = true;
    info.note("reused connection closed before any response byte: replaying once");
    if (connectAndSend(true) && upstream_ != nullptr && upstream_->connection() != nullptr) {
      upstream_->connection()->uncork();
    }
    return;
  }
  filters::outlier::Outcome outcome =
      connect ? filters::outlier::Outcome::kConnectFailure : filters::outlier::Outcome::kReset;
  endTry(true, outcome, true);
  filters::retry::TryFailure tf =
      connect ? filters::retry::TryFailure::kConnectFailure : filters::retry::TryFailure::kReset;
  if (!response_started && retry_policy_ != nullptr && retry_policy_->retriesFailure(tf) &&
      maybeRetry(what)) {
    return;
  }
  if (retries_ > 0 && !stream_.responseStarted()) {
    stream_.replyLocally(Reason::kRetriesExhausted, std::string("last try: ") + what, 502);
    return;
  }
  stream_.failStream(connect ? Reason::kConnectFailure : Reason::kUpstreamReset);
}

}  // namespace remora::sidecar
