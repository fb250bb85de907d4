#include "sidecar/http_connection.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "filters/lb/load_balancer.h"
#include "filters/retry/retry_policy.h"
#include "sidecar/access_log.h"
#include "sidecar/endpoint_picker.h"

namespace remora::sidecar {

using common::Wk;
using filters::Reason;

namespace {

constexpr size_t kWriteHighWatermark = 256 * 1024;
constexpr size_t kWriteLowWatermark = 64 * 1024;
// Bytes of pipelined input held while a response is outstanding; reading stops beyond it.
constexpr size_t kMaxPendingInput = 64 * 1024;
// Request bytes kept for a replay on a fresh connection (the retry buffer default, 64 KiB, plus framing).
constexpr size_t kReplayLimit = 64 * 1024 + 16 * 1024;
constexpr uint64_t kLingerMs = 2000;
// Request body bytes held while a filter holds the request (e.g. a fault delay).
constexpr size_t kMaxHeldBody = 64 * 1024;
// How much of an unknown method a 501 answer names.
constexpr size_t kMaxEchoedMethod = 64;
const filters::FilterFactories kNoFilters;

uint64_t nowNs() { return uv_hrtime(); }

// RFC 9110 9.2.2: the methods a client may expect to be retried.
bool isIdempotent(llhttp_method_t m) {
  switch (m) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
    case HTTP_PUT:
    case HTTP_DELETE:
      return true;
    default:
      return false;
  }
}

// A random UUID (version 4 layout) from two random words, without printf.
void formatRequestId(uint64_t a, uint64_t b, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10xx
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  char buf[36];
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) {
      buf[pos++] = '-';
    }
    uint64_t word = i < 16 ? a : b;
    int shift = 60 - 4 * (i % 16);
    buf[pos++] = kHex[(word >> shift) & 0xf];
  }
  out.assign(buf, sizeof(buf));
}

void appendHex(std::string& out, size_t n) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), n, 16);
  out.append(buf, r.ptr);
}

// Removes the headers a proxy must not forward (RFC 9110 7.6.1), including the ones the
// Connection header names.
void stripHopByHop(common::HeaderMap& h, bool keep_upgrade) {
  if (h.has(Wk::kConnection)) {
    // (remove() only marks entries: the value being read stays in place.)
    common::forEachListElement(h.get(Wk::kConnection), [&](std::string_view tok) {
      if (!common::equalsIgnoreCase(tok, "close") && !common::equalsIgnoreCase(tok, "keep-alive") &&
          !common::equalsIgnoreCase(tok, "upgrade") && common::classifyHeader(tok) == Wk::kNone) {
        h.remove(tok);
      }
    });
    h.remove(Wk::kConnection);
  }
  h.remove(Wk::kKeepAlive);
  h.remove(Wk::kProxyConnection);
  h.remove(Wk::kTe);
  h.remove(Wk::kTrailer);
  h.remove(Wk::kTransferEncoding);
  if (!keep_upgrade) {
    h.remove(Wk::kUpgrade);
  }
}

}  // namespace

HttpConnection::HttpConnection(Worker& worker, std::shared_ptr<const Snapshot> listener_snapshot,
                               const ListenerConfig& listener, ListenerRuntime& runtime,
                               std::unique_ptr<common::TcpConnection> conn,
                               const ConnectionInfo& info)
    : worker_(worker),
      listener_snapshot_(std::move(listener_snapshot)),
      listener_(&listener),
      runtime_(runtime),
      snapshot_(worker.snapshot()),
      conn_(std::move(conn)),
      info_(info),
      parser_(common::Http1Parser::Kind::kRequest, *this, listener.limits),
      timer_(worker.loop().uv(), [this] { onTimer(); }),
      backoff_timer_(worker.loop().uv(), [this] { onBackoffTimer(); }) {
  conn_->setHandler(*this);
  conn_->setWatermarks(kWriteHighWatermark, kWriteLowWatermark);
  worker_.track(this);
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::start(std::string_view initial) noexcept {
  // The first request head is timed from the accept (protocol detection included): a client
  // that sends nothing, or too little, is not held until the idle timeout.
  uint64_t now = uv_now(worker_.loop().uv());
  uint64_t waited = info_.accepted_ms != 0 && now > info_.accepted_ms ? now - info_.accepted_ms : 0;
  uint64_t limit = listener_->header_read_timeout_ms;
  armTimer(TimerMode::kHeaderRead, limit > waited ? limit - waited : 0);
  last_input_ms_ = now;
  conn_->readStart();
  if (worker_.draining()) {
    draining_ = true;
  }
  if (!initial.empty()) {
    onData(initial.data(), initial.size());
  }
}

// ---- downstream input ------------------------------------------------------------------

void HttpConnection::onData(const char* data, size_t len) noexcept {
  if (destroyed_) {
    return;
  }
  if (closing_) {
    return;  // lingering close: discard what the client still sends
  }
  last_input_ms_ = uv_now(worker_.loop().uv());  // body_read_timeout measures the gaps
  if (tunnel_) {
    if (upstream_ != nullptr) {
      upstream_->write({data, len});
    }
    armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
    return;
  }
  if (parser_paused_ || parser_upgrade_) {
    pending_input_.append(data, len);
    updateReading();
    return;
  }
  feed(data, len);
  pump();
}

void HttpConnection::feed(const char* data, size_t len) noexcept {
  // Whatever this read produces for the upstream (a head, body pieces, a last chunk) stays
  // corked until the whole read has parsed: llhttp finds some errors only after the head was
  // routed (an invalid Transfer-Encoding) or mid-body, and nothing of a request the proxy
  // rejects may leave (sendParseError closes the connection with its corked bytes unsent).
  in_parser_ = true;
  if (upstream_ != nullptr) {
    upstream_->cork();
  }
  auto r = parser_.feed(data, len);
  in_parser_ = false;
  if (destroyed_ || closing_) {
    return;
  }
  if (r.status == common::Http1Parser::Status::kError) {
    sendParseError();
    return;
  }
  if (upstream_ != nullptr) {
    upstream_->uncork();  // the request head and the body bytes of this read, in one write
  }
  switch (r.status) {
    case common::Http1Parser::Status::kOk:
      break;
    case common::Http1Parser::Status::kPaused:
      parser_paused_ = true;
      pending_input_.append(data + r.consumed, len - r.consumed);
      break;
    case common::Http1Parser::Status::kUpgrade:
      parser_upgrade_ = true;
      pending_input_.append(data + r.consumed, len - r.consumed);
      break;
    case common::Http1Parser::Status::kError:
      return;  // handled above
  }
  // A request head that did not arrive whole must arrive within the header timeout.
  if (parser_.inMessage() && !parser_.headDone() && timer_mode_ != TimerMode::kHeaderRead) {
    armTimer(TimerMode::kHeaderRead, listener_->header_read_timeout_ms);
  }
}

void HttpConnection::pump() noexcept {
  while (!destroyed_ && !closing_ && !stream_active_ && parser_paused_) {
    parser_paused_ = false;
    parser_.resume();
    if (pending_input_.empty()) {
      break;
    }
    std::string input;
    input.swap(pending_input_);
    feed(input.data(), input.size());
    if (pending_input_.empty()) {
      input.clear();
      pending_input_.swap(input);  // keep the capacity
    }
  }
  updateReading();
}

void HttpConnection::updateReading() noexcept {
  if (destroyed_) {
    return;
  }
  bool want =
      !down_eof_ && (closing_ || (!upstream_blocked_ && pending_input_.size() < kMaxPendingInput &&
                                  held_body_.size() < kMaxHeldBody));
  if (want != conn_->reading()) {
    if (want) {
      last_input_ms_ = uv_now(worker_.loop().uv());  // a pause of ours is no client stall
      conn_->readStart();
    } else {
      conn_->readStop();
    }
  }
}

void HttpConnection::onEof() noexcept {
  if (tunnel_ && !closing_) {
    down_eof_ = true;
    if (upstream_ != nullptr) {
      upstream_->shutdownWrite();
    }
    maybeFinishTunnel();
    return;
  }
  down_eof_ = true;
  if (closing_) {
    // Lingering close: done once our last bytes left (else onDrained arms the linger).
    if (conn_->pendingBytes() == 0) {
      destroy();
    }
    return;
  }
  if (stream_active_ ? !request_complete_ || upgrade_request_ : parser_.inMessage()) {
    // A client that goes away mid-request aborts it: its request can never be complete. (An
    // upgrade it no longer sends on has nothing to tunnel.)
    destroy();
    return;
  }
  // The client half-closed after complete requests (shutdown(SHUT_WR), `nc -N`): answer them,
  // then close. With no request in flight and none pipelined, there is nothing to answer.
  if (!stream_active_ && pending_input_.empty()) {
    closeGracefully();
    return;
  }
  if (stream_active_ && pending_input_.empty()) {
    close_after_response_ = true;  // the response says so if its head has not left yet
  }
}

void HttpConnection::onError(int) noexcept { destroy(); }

void HttpConnection::onHighWatermark() noexcept {
  if (upstream_ != nullptr) {
    upstream_->pauseReading();
  }
}

void HttpConnection::onLowWatermark() noexcept {
  if (upstream_ != nullptr) {
    upstream_->resumeReading();
  }
}

void HttpConnection::onDrained() noexcept {
  if (tunnel_) {
    maybeFinishTunnel();
  } else if (closing_ && timer_mode_ != TimerMode::kLinger) {
    armTimer(TimerMode::kLinger, kLingerMs);
  }
}

void HttpConnection::onUpstreamDrained() noexcept {
  if (tunnel_) {
    maybeFinishTunnel();
  }
}

void HttpConnection::maybeFinishTunnel() noexcept {
  if (!down_eof_ || !up_eof_) {
    return;
  }
  if (conn_->pendingBytes() == 0 && (upstream_ == nullptr || upstream_->pendingBytes() == 0)) {
    destroy();
  } else if (timer_mode_ != TimerMode::kLinger) {
    armTimer(TimerMode::kLinger, kLingerMs * 5);  // backstop for a peer that stopped reading
  }
}

// ---- request parsing -------------------------------------------------------------------

common::HeadAction HttpConnection::onHeaders(common::MessageHead& head) noexcept {
  stream_active_ = true;
  worker_.streamStarted();
  // The listener of this stream's snapshot: its route table and cluster indexes belong to it.
  // Read the index first: listener_ points into the previous stream's snapshot, which the
  // assignment below may free.
  const uint32_t listener_index = listener_->index;
  snapshot_ = worker_.snapshot();
  if (listener_index >= snapshot_->listeners.size()) {
    snapshot_ = listener_snapshot_;  // cannot happen: listeners never change position
  }
  listener_ = &snapshot_->listeners[listener_index];
  upstream_blocked_ = false;
  request_complete_ = false;
  response_head_sent_ = false;
  response_complete_ = false;
  response_framing_ = Framing::kNone;
  cluster_ = nullptr;
  route_ = nullptr;
  endpoint_cfg_ = nullptr;
  endpoint_index_ = -1;
  endpoint_pool_ = nullptr;
  retry_policy_ = nullptr;
  body_buffer_.clear();
  buffering_ = false;
  race_replayed_ = false;
  waiting_retry_ = false;
  tries_ = 0;
  retries_ = 0;
  last_failed_endpoint_ = -1;
  has_hash_ = false;
  stream_idle_ms_ = 0;
  request_deadline_ms_ = 0;
  try_deadline_ms_ = 0;
  waiting_filters_ = false;
  held_body_.clear();
  upstream_start_ns_ = 0;

  info_stream_.clear();
  info_stream_.start_ns = nowNs();
  info_stream_.listener = listener_->name;
  info_stream_.method = head.method;
  client_http10_ = head.http10();
  client_keep_alive_ = head.keep_alive;
  head_request_ = head.isHead();
  idempotent_ = isIdempotent(head.method_id);
  upgrade_request_ = head.upgrade;
  request_chunked_ = head.chunked;
  request_has_body_ = head.chunked || head.content_length > 0;
  close_after_response_ = !client_keep_alive_ || draining_;
  routeRequest(head);
  return common::HeadAction::kContinue;
}

void HttpConnection::onBody(std::string_view data) noexcept {
  info_stream_.bytes_received += data.size();
  if (waiting_filters_) {
    held_body_.append(data);  // updateReading() stops reading past kMaxHeldBody
    return;
  }
  if (response_complete_) {
    return;  // answered locally: the body is read and dropped
  }
  if (upstream_ == nullptr) {
    if (buffering_ && (waiting_retry_ || holds_request_slot_)) {
      forwardBody(data);  // between tries: kept for the next one
    }
    return;
  }
  noteActivity();
  forwardBody(data);
}

void HttpConnection::forwardBody(std::string_view data) noexcept {
  if (request_chunked_) {
    scratch_.clear();
    appendHex(scratch_, data.size());
    scratch_.append("\r\n");
    writeUpstream(scratch_, data, "\r\n");
  } else {
    writeUpstream(data);
  }
}

void HttpConnection::endChunkedBody() noexcept {
  const common::HeaderMap& trailers = parser_.trailers();
  if (trailers.size() == 0) {
    writeUpstream("0\r\n\r\n");
    return;
  }
  scratch_.clear();
  common::appendLastChunk(trailers, scratch_);
  writeUpstream(scratch_);
}

bool HttpConnection::onMessageComplete() noexcept {
  request_complete_ = true;
  if ((upstream_ != nullptr || waiting_retry_) && !response_complete_ && request_chunked_ &&
      !waiting_filters_) {
    endChunkedBody();
  }
  bool upgrade = upgrade_request_;
  if (response_complete_) {
    finishStream();
  }
  // Upgrade requests make llhttp stop by itself (kUpgrade); others pause here so the next
  // pipelined request waits for this response.
  return !upgrade;
}

void HttpConnection::sendParseError() noexcept {
  worker_.stats().add(listener_->stats.bad_request);
  Reason reason = Reason::kBadRequest;
  std::string_view detail = parser_.errorReason();
  switch (parser_.error()) {
    case common::Http1Parser::Error::kHeadersTooLarge:
      reason = Reason::kHeaderTooLarge;
      break;
    case common::Http1Parser::Error::kUnknownMethod:
      // llhttp cannot parse this method, so its request cannot be framed: name it and close.
      reason = Reason::kMethodNotImplemented;
      detail = parser_.head().method;
      break;
    default:
      break;
  }
  if (stream_active_ && response_head_sent_) {
    // The body went bad after the response began: nothing sensible to say; drop the connection.
    info_stream_.reason = reason;
    destroy();
    return;
  }
  if (!stream_active_) {
    stream_active_ = true;
    worker_.streamStarted();
    info_stream_.clear();
    info_stream_.start_ns = nowNs();
    info_stream_.listener = listener_->name;
    info_stream_.method = parser_.head().method;
    info_stream_.path = parser_.head().url;
  }
  info_stream_.note(std::string("parse error: ") + parser_.errorReason());
  close_after_response_ = true;
  replyLocally(reason, detail.substr(0, kMaxEchoedMethod));
}

// ---- routing and the upstream request ---------------------------------------------------

void HttpConnection::routeRequest(common::MessageHead& head) noexcept {
  // Absolute-form ("http://orders:8080/x", forward-proxy style): the authority comes from the URI
  // and the upstream gets the origin-form path.
  std::string_view url = head.url;
  if (url.size() > 7 && (url.substr(0, 7) == "http://" || url.substr(0, 7) == "HTTP://")) {
    std::string_view rest = url.substr(7);
    size_t slash = rest.find_first_of("/?");
    std::string authority(rest.substr(0, slash));
    std::string path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (path.front() == '?') {
      path.insert(path.begin(), '/');
    }
    head.headers.set("host", authority);
    head.url = std::move(path);
  } else if (head.method_id == HTTP_CONNECT) {
    info_stream_.path = head.url;
    replyLocally(Reason::kBadRequest, "CONNECT is not supported");
    return;
  }
  info_stream_.authority = std::string(head.headers.get(Wk::kHost));
  info_stream_.path = head.url;
  if (!client_http10_ && !head.headers.has(Wk::kHost)) {
    replyLocally(Reason::kBadRequest, "HTTP/1.1 request without Host");
    return;
  }
  if (head.headers.count(Wk::kHost) > 1) {
    // Which one would the upstream believe? RFC 9112 3.2: reject.
    replyLocally(Reason::kBadRequest, "more than one Host header");
    return;
  }

  // Request id: keep the client's, or make one (UUID v4 form).
  if (head.headers.has(Wk::kXRequestId)) {
    info_stream_.request_id = std::string(head.headers.get(Wk::kXRequestId));
  } else {
    formatRequestId(worker_.random(), worker_.random(), info_stream_.request_id);
    head.headers.add("x-request-id", info_stream_.request_id);
  }

  // Route: by authority, then (redirected connections) by the original destination, then
  // passthrough to the original destination.
  const Snapshot& snap = *snapshot_;
  const RouteEntry* route = nullptr;
  if (listener_->route_table >= 0) {
    const RouteTable& table = snap.route_tables[static_cast<size_t>(listener_->route_table)];
    RouteRequest rr{info_stream_.authority, head.url, head.method, &head.headers};
    route = table.match(rr);
    if (route == nullptr && info_.original_dst) {
      std::string dst = info_.original_dst->toString();
      rr.authority = dst;
      route = table.match(rr);
    }
  }
  if (route != nullptr) {
    uint32_t cluster_index = route->cluster;
    size_t position = 0;
    if (route->weighted.size() > 1) {
      // A weighted split (canary): one backend per request, by weight.
      uint64_t ticket = worker_.random() % route->total_weight;
      for (size_t i = 0; i < route->weighted.size(); ++i) {
        if (ticket < route->weighted[i].second) {
          cluster_index = route->weighted[i].first;
          position = i;
          break;
        }
      }
    }
    info_stream_.route = route->name;
    info_stream_.note(route->trail_note);
    if (cluster_index == RouteEntry::kMissingCluster) {
      // Mesh mode: the control plane named a cluster this snapshot does not have (yet).
      const std::string& name = route->missing_clusters[position];
      info_stream_.cluster = name;
      info_stream_.note("cluster " + name + " not found");
      replyLocally(Reason::kNoHealthyUpstream);
      return;
    }
    cluster_ = &snap.clusters[cluster_index];
  } else if (listener_->route_table < 0 && listener_->tcp_cluster >= 0) {
    cluster_ = &snap.clusters[static_cast<size_t>(listener_->tcp_cluster)];
    info_stream_.note("listener default cluster");
  } else if (info_.original_dst) {
    cluster_ = &snap.clusters[snap.passthrough_cluster];
    info_stream_.note("passthrough to original destination");
  } else {
    if (!listener_->missing_route_config.empty()) {
      info_stream_.note("route configuration " + listener_->missing_route_config + " not found");
    }
    info_stream_.note("no route for authority '" + info_stream_.authority + "'");
    replyLocally(Reason::kNoRoute);
    return;
  }
  info_stream_.cluster = cluster_->name;
  route_ = route;

  // The route's filters (fault, ...) see the request before an endpoint is picked. One may
  // answer it, or hold it and resume() later; request body bytes wait in held_body_ meanwhile.
  filters_.start(route != nullptr ? route->filters : kNoFilters);
  if (!filters_.runRequest(head, *this)) {
    waiting_filters_ = !response_complete_;
    updateReading();
    return;
  }
  forwardRequest(head);
}

void HttpConnection::resume() noexcept {
  if (!waiting_filters_ || destroyed_ || closing_) {
    return;
  }
  waiting_filters_ = false;
  common::MessageHead& head = parser_.head();  // still this request's: the parser is past it
  if (!filters_.runRequest(head, *this)) {
    waiting_filters_ = !response_complete_;
    return;
  }
  forwardRequest(head);
  if (upstream_ != nullptr && !held_body_.empty()) {
    std::string body;
    body.swap(held_body_);
    forwardBody(body);
  }
  if (upstream_ != nullptr && request_complete_ && request_chunked_) {
    endChunkedBody();
  }
  if (upstream_ != nullptr) {
    upstream_->uncork();  // forwardRequest corked it; no read of ours is in progress to do it
  }
  updateReading();
}

void HttpConnection::sendLocalReply(Reason reason, std::string_view detail,
                                    uint16_t status) noexcept {
  replyLocally(reason, detail, status);
}

void HttpConnection::forwardRequest(common::MessageHead& head) noexcept {
  const RouteEntry* route = route_;
  ClusterRuntime* rt = cluster_->runtime.get();
  // Circuit breaker: requests in flight to the cluster, across workers.
  if (rt != nullptr) {
    if (rt->active_requests.load(std::memory_order_relaxed) >= cluster_->max_requests) {
      worker_.stats().add(cluster_->stats.rq_overflow);
      info_stream_.note("circuit breaker: max_requests " + std::to_string(cluster_->max_requests) +
                        " reached");
      replyLocally(Reason::kOverflow, "max_requests");
      return;
    }
    rt->active_requests.fetch_add(1, std::memory_order_relaxed);
    holds_request_slot_ = true;
  }

  // Timeout for the whole response (all tries).
  int64_t route_timeout = route != nullptr ? route->timeout_ms : -1;
  request_timeout_ms_ =
      route_timeout >= 0 ? static_cast<uint64_t>(route_timeout) : cluster_->request_timeout_ms;
  // One timer serves the request and per-try timeouts (armed by each try, see armRequestTimer).
  timer_.stop();
  timer_mode_ = TimerMode::kRequest;
  request_deadline_ms_ =
      request_timeout_ms_ > 0 ? uv_now(worker_.loop().uv()) + request_timeout_ms_ : 0;
  if (route != nullptr && route->idle_timeout_ms > 0) {
    stream_idle_ms_ = static_cast<uint64_t>(route->idle_timeout_ms);
    if (!stream_idle_timer_) {
      stream_idle_timer_ =
          std::make_unique<common::Timer>(worker_.loop().uv(), [this] { onStreamIdleTimer(); });
    }
    noteActivity();
    stream_idle_timer_->start(stream_idle_ms_);
  }

  // Retries: the route's policy, else the cluster's. Upgrades are never retried.
  retry_policy_ = route != nullptr && route->has_retry ? &route->retry : &cluster_->retry;
  if (upgrade_request_) {
    retry_policy_ = nullptr;
  }
  buffering_ = (retry_policy_ != nullptr && retry_policy_->enabled()) || idempotent_;

  // The consistent-hash key, read before the head is changed for upstream.
  if (cluster_->hash_on != ClusterConfig::HashOn::kNone) {
    hash_ = requestHash(head);
  }

  // The upstream request head. The body is de-chunked and re-chunked, but codings applied
  // before chunked (`gzip, chunked`) stay on the bytes: the upstream is told the whole list.
  std::string codings;  // empty (no allocation) unless the client sent such codings
  bool coded = request_chunked_ && common::appendTransferCodings(head.headers, codings);
  stripHopByHop(head.headers, upgrade_request_);
  head.headers.remove("x-remora-attempt");  // ours to set, never the client's
  if (coded) {
    codings.append(", chunked");
    head.headers.add("transfer-encoding", codings);
  } else if (request_chunked_) {
    head.headers.add("transfer-encoding", "chunked");
  }
  if (upgrade_request_) {
    head.headers.add("connection", "upgrade");
  }
  if (listener_->inbound) {
    downstreamHost();  // fills peer_host_
    if (head.headers.has(Wk::kXForwardedFor)) {
      std::string xff(head.headers.get(Wk::kXForwardedFor));
      xff.append(", ").append(peer_host_);
      head.headers.set("x-forwarded-for", xff);
    } else {
      head.headers.add("x-forwarded-for", peer_host_);
    }
    head.headers.set("x-forwarded-proto", "http");
  }
  // An HTTP/1.0 client may omit Host; the upstream speaks HTTP/1.1 and needs one: each try
  // names its endpoint (see sendTryHead).
  host_per_try_ = !head.headers.has(Wk::kHost);
  uint8_t minor = head.version_minor;
  head.version_minor = 1;  // upstream connections always speak HTTP/1.1
  head_bytes_.clear();
  common::serializeRequestHead(head, head_bytes_);
  head_bytes_.resize(head_bytes_.size() - 2);  // the final CRLF comes after x-remora-attempt
  head.version_minor = minor;

  if (startTry()) {
    upstream_->cork();  // uncorked once this read's body bytes are queued too (see feed())
  }
}

uint64_t HttpConnection::requestHash(const common::MessageHead& head) noexcept {
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
        std::string_view pair = cookies.substr(pos, end == std::string_view::npos ? end : end - pos);
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
      key = downstreamHost();
      break;
    case ClusterConfig::HashOn::kNone:
      return 0;
  }
  has_hash_ = true;
  return filters::lb::hashKey(key);
}

bool HttpConnection::pickEndpoint() noexcept {
  if (cluster_->original_dst) {
    if (!info_.original_dst) {
      info_stream_.note("original destination unknown (connection was not redirected)");
      replyLocally(Reason::kNoHealthyUpstream);
      return false;
    }
    endpoint_ = *info_.original_dst;
    if (listener_->inbound) {
      // Inbound passthrough goes to the app on this host, on the port the client dialled.
      endpoint_ = common::loopbackAddress(info_.original_dst->port());
    }
    if (worker_.ownPorts().isSelf(endpoint_)) {
      // Whatever the client dialled, it never reaches the admin API or a listener this way.
      worker_.stats().add(listener_->stats.own_port_refused_http);
      logOwnPortRefused(listener_->name, "http", conn_->peerAddress(), *info_.original_dst,
                        uv_now(worker_.loop().uv()));
      info_stream_.note("original destination " + info_.original_dst->toString() +
                        " is a port of this sidecar: refused");
      replyLocally(Reason::kSidecarPort);
      return false;
    }
    endpoint_pool_ = &worker_.dynamicPool(endpoint_.toString());
    endpoint_cfg_ = nullptr;
    endpoint_index_ = -1;
    return true;
  }
  // Health: below the panic threshold every endpoint is used whatever its health; with none
  // healthy, the fallback response answers instead when one is configured.
  const ClusterAvailability avail = clusterAvailability(*cluster_);
  filters::lb::PickContext pc;
  pc.now_ns = nowNs();
  pc.has_hash = has_hash_;
  pc.hash = hash_;
  pc.avoid = last_failed_endpoint_;
  if (avail.healthy == 0 && cluster_->has_fallback) {
    worker_.stats().add(cluster_->stats.fallback_responses);
    info_stream_.note("no healthy endpoint: fallback response");
    filters::LocalReply reply;
    reply.reason = Reason::kNoHealthyUpstream;
    reply.status = cluster_->fallback_status;
    reply.has_body = true;
    reply.body = cluster_->fallback_body;
    for (const auto& [k, v] : cluster_->fallback_headers) {
      reply.headers.emplace_back(k, v);
    }
    replyLocally(reply);
    return false;
  }
  if (avail.total == 0) {
    // Mesh mode: a cluster whose endpoints have not arrived (or are all gone).
    info_stream_.note("cluster has no endpoints");
    replyLocally(Reason::kNoHealthyUpstream);
    return false;
  }
  if (avail.panic) {
    info_stream_.note("panic: " + std::to_string(avail.healthy) + "/" +
                      std::to_string(avail.total) + " endpoints healthy, health ignored");
  }
  int index = pickClusterEndpoint(*cluster_, worker_.index(), avail, pc);
  if (index < 0) {
    info_stream_.note("no healthy endpoint");
    replyLocally(Reason::kNoHealthyUpstream);
    return false;
  }
  const EndpointConfig& ep = cluster_->endpoints[static_cast<size_t>(index)];
  endpoint_index_ = index;
  endpoint_ = ep.address;
  endpoint_pool_ = &worker_.pool(ep.pool_id);
  endpoint_cfg_ = &ep;
  return true;
}

bool HttpConnection::startTry() noexcept {
  waiting_retry_ = false;
  if (!pickEndpoint()) {
    return false;
  }
  if (endpoint_cfg_ != nullptr) {
    endpoint_cfg_->host->active_requests.fetch_add(1, std::memory_order_relaxed);
  }
  try_active_ = true;
  try_answered_ = false;
  try_start_ns_ = nowNs();
  ++tries_;
  if (!connectUpstream(false)) {
    return false;
  }
  try_deadline_ms_ = retry_policy_ != nullptr && retry_policy_->per_try_timeout_ms > 0
                        ? uv_now(worker_.loop().uv()) + retry_policy_->per_try_timeout_ms
                        : 0;
  armRequestTimer();
  sendTryHead();
  return true;
}

void HttpConnection::sendTryHead() noexcept {
  // The per-try end of the head (no printf: this runs for every request).
  scratch_.clear();
  if (host_per_try_) {
    scratch_.append("host: ")
        .append(endpoint_cfg_ != nullptr ? endpoint_cfg_->address_text : endpoint_.toString())
        .append("\r\n");
  }
  char digits[12];
  auto r = std::to_chars(digits, digits + sizeof digits, tries_);
  scratch_.append("x-remora-attempt: ").append(digits, r.ptr).append("\r\n\r\n");
  upstream_->write(head_bytes_, scratch_, body_buffer_);
}

bool HttpConnection::connectUpstream(bool fresh) noexcept {
  EndpointPool& pool = *endpoint_pool_;
  ClusterRuntime* rt = cluster_->runtime.get();
  UpstreamConnection* c = nullptr;
  bool reused = false;
  if (!fresh && !pool.idle.empty()) {
    c = pool.idle.back();
    reused = true;
  } else if (pool.open >= cluster_->max_connections_per_endpoint ||
             (rt != nullptr &&
              rt->connections.load(std::memory_order_relaxed) >= cluster_->max_connections)) {
    worker_.stats().add(cluster_->stats.rq_overflow);
    info_stream_.note("circuit breaker: connection limit reached");
    endTry(false, filters::outlier::Outcome::kSuccess, false);  // not the endpoint's doing
    replyLocally(Reason::kOverflow, "max_connections");
    return false;
  } else if (rt != nullptr &&
             rt->pending_requests.load(std::memory_order_relaxed) >= cluster_->max_pending_requests) {
    worker_.stats().add(cluster_->stats.rq_pending_overflow);
    info_stream_.note("circuit breaker: max_pending_requests reached");
    endTry(false, filters::outlier::Outcome::kSuccess, false);
    replyLocally(Reason::kOverflow, "max_pending_requests");
    return false;
  } else {
    c = new UpstreamConnection(worker_, *cluster_, endpoint_, pool);
    if (rt != nullptr) {
      rt->pending_requests.fetch_add(1, std::memory_order_relaxed);
      holds_pending_slot_ = true;
    }
  }
  c->attach(*this);
  if (in_parser_) {
    c->cork();  // see feed(): nothing leaves before the read that carried the head has parsed
  }
  c->expectHeadResponse(head_request_);
  if (conn_->aboveHighWatermark()) {
    c->pauseReading();  // the client has not read the last response yet
  }
  upstream_ = c;
  if (upstream_start_ns_ == 0) {
    upstream_start_ns_ = nowNs();
  }
  filters::Attempt a;
  // (The configured endpoint's text is precomputed: formatting an address costs more than the
  // rest of the try's bookkeeping.)
  a.endpoint = endpoint_cfg_ != nullptr ? endpoint_cfg_->address_text : endpoint_.toString();
  a.reused_connection = reused;
  info_stream_.attempts.push_back(std::move(a));
  return true;
}

void HttpConnection::writeUpstream(std::string_view a, std::string_view b,
                                  std::string_view c) noexcept {
  if (upstream_ != nullptr) {
    upstream_->write(a, b, c);
  }
  if (!buffering_) {
    return;
  }
  size_t limit = retry_policy_ != nullptr && retry_policy_->enabled()
                     ? retry_policy_->buffer_limit_bytes
                     : kReplayLimit;
  if (body_buffer_.size() + a.size() + b.size() + c.size() > limit) {
    // Too big to send again: this request gets no retry and no replay.
    buffering_ = false;
    std::string().swap(body_buffer_);
    info_stream_.note("request body over the retry buffer: no retries");
    return;
  }
  body_buffer_.append(a);
  body_buffer_.append(b);
  body_buffer_.append(c);
}

void HttpConnection::endTry(bool observed, filters::outlier::Outcome outcome,
                            bool errored) noexcept {
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
  if (observed && recordEndpointOutcome(*cluster_, *endpoint_cfg_, worker_.stats(), outcome,
                                        errored, nowNs())) {
    info_stream_.note("outlier detection ejected " + endpoint_cfg_->address_text);
  }
}

bool HttpConnection::maybeRetry(const char* why) noexcept {
  const filters::retry::RetryPolicy* p = retry_policy_;
  if (p == nullptr || retries_ >= p->num_retries || !buffering_ || response_head_sent_ ||
      closing_ || destroyed_) {
    return false;
  }
  ClusterRuntime& rt = *cluster_->runtime;
  if (rt.active_retries.load(std::memory_order_relaxed) >= cluster_->max_retries) {
    worker_.stats().add(cluster_->stats.rq_retry_overflow);
    info_stream_.note("retry refused: circuit breaker max_retries");
    return false;
  }
  if (!rt.retry_budget.tryAcquire(*p, nowNs(), rt.active_requests.load(std::memory_order_relaxed),
                                  rt.active_retries.load(std::memory_order_relaxed))) {
    worker_.stats().add(cluster_->stats.rq_retry_overflow);
    info_stream_.note("retry refused: retry budget exhausted");
    return false;
  }
  rt.active_retries.fetch_add(1, std::memory_order_relaxed);
  holds_retry_slot_ = true;
  ++retries_;
  worker_.stats().add(cluster_->stats.rq_retry);
  last_failed_endpoint_ = endpoint_index_;
  uint64_t backoff = filters::retry::backoffMs(*p, retries_, worker_.random());
  info_stream_.note(std::string("retry ") + std::to_string(retries_) + " after " + why +
                    " in " + std::to_string(backoff) + "ms");
  waiting_retry_ = true;
  backoff_timer_.start(backoff);
  return true;
}

void HttpConnection::armRequestTimer() noexcept {
  // The earlier of the request's deadline and, while the try waits for its response head, the
  // try's. A per-try deadline that passes after the head arrived only re-arms (no heap work
  // per request to cancel it).
  uint64_t deadline = request_deadline_ms_;
  if (try_active_ && !try_answered_ && try_deadline_ms_ != 0 &&
      (deadline == 0 || try_deadline_ms_ < deadline)) {
    deadline = try_deadline_ms_;
  }
  // While the client owes body bytes: the body_read_timeout after the last one.
  if (listener_->body_read_timeout_ms > 0 && !request_complete_ && request_has_body_ &&
      !response_head_sent_) {
    uint64_t body = last_input_ms_ + listener_->body_read_timeout_ms;
    if (deadline == 0 || body < deadline) {
      deadline = body;
    }
  }
  if (deadline == 0) {
    timer_.stop();
    return;
  }
  uint64_t now = uv_now(worker_.loop().uv());
  armTimer(TimerMode::kRequest, deadline > now ? deadline - now : 0);
}

void HttpConnection::onBackoffTimer() noexcept {
  if (destroyed_ || closing_ || !waiting_retry_) {
    return;
  }
  // The retry slot moves on to the new try (released when it ends).
  bool slot = holds_retry_slot_;
  holds_retry_slot_ = false;
  if (startTry()) {
    holds_retry_slot_ = slot;
  } else if (slot) {
    cluster_->runtime->active_retries.fetch_sub(1, std::memory_order_relaxed);
  }
}

void HttpConnection::onPerTryTimeout() noexcept {
  // Per-try timeout: this try is abandoned; another may be made.
  info_stream_.note("per-try timeout " + std::to_string(retry_policy_->per_try_timeout_ms) + "ms");
  if (!info_stream_.attempts.empty()) {
    info_stream_.attempts.back().outcome = "per-try-timeout";
  }
  releaseUpstream(false);
  endTry(true, filters::outlier::Outcome::kTimeout, true);
  if (retry_policy_->retriesFailure(filters::retry::TryFailure::kTimeout) &&
      maybeRetry("per-try timeout")) {
    return;
  }
  worker_.stats().add(cluster_->stats.rq_timeout);
  close_after_response_ = close_after_response_ || !request_complete_;
  if (retries_ > 0) {
    replyLocally(Reason::kRetriesExhausted, "last try: per-try timeout", 504);
    return;
  }
  failStream(Reason::kUpstreamTimeout);
}

void HttpConnection::noteActivity() noexcept {
  if (stream_idle_ms_ > 0) {
    last_activity_ms_ = uv_now(worker_.loop().uv());
  }
}

void HttpConnection::onStreamIdleTimer() noexcept {
  if (destroyed_ || closing_ || !stream_active_ || stream_idle_ms_ == 0 || response_complete_) {
    return;
  }
  uint64_t now = uv_now(worker_.loop().uv());
  uint64_t idle = now - last_activity_ms_;
  if (idle < stream_idle_ms_) {
    stream_idle_timer_->start(stream_idle_ms_ - idle);
    return;
  }
  info_stream_.note("stream idle timeout " + std::to_string(stream_idle_ms_) + "ms");
  worker_.stats().add(cluster_->stats.rq_timeout);
  releaseUpstream(false);
  endTry(true, filters::outlier::Outcome::kTimeout, true);
  close_after_response_ = close_after_response_ || !request_complete_;
  failStream(Reason::kUpstreamTimeout);
}

void HttpConnection::releaseSlots() noexcept {
  if (cluster_ == nullptr) {
    return;
  }
  // A try still open here ended with its response (or the client went away: not observed).
  endTry(try_answered_, try_outcome_, try_outcome_ != filters::outlier::Outcome::kSuccess);
  backoff_timer_.stop();
  if (stream_idle_timer_) {
    stream_idle_timer_->stop();
  }
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

void HttpConnection::onUpstreamConnected() noexcept {
  if (holds_pending_slot_) {
    holds_pending_slot_ = false;
    cluster_->runtime->pending_requests.fetch_sub(1, std::memory_order_relaxed);
  }
}

void HttpConnection::onUpstreamHeaders(common::MessageHead& head) noexcept {
  if (response_complete_ || closing_) {
    return;
  }
  int status = head.status;
  if (status >= 100 && status < 200 && status != 101) {
    // Interim responses (100 Continue, 103 Early Hints) go to HTTP/1.1 clients as they are.
    if (!client_http10_) {
      scratch_.clear();
      head.version_minor = 1;
      common::serializeResponseHead(head, scratch_);
      conn_->write(scratch_);
    }
    return;
  }
  if (!info_stream_.attempts.empty()) {
    info_stream_.attempts.back().outcome = std::to_string(status);
  }
  if (try_active_) {
    try_answered_ = true;
    try_outcome_ = filters::outlier::classifyStatus(static_cast<uint16_t>(status));
    if (endpoint_cfg_ != nullptr) {
      uint64_t now = nowNs();
      endpoint_cfg_->host->observeLatency(static_cast<double>(now - try_start_ns_) / 1000.0, now,
                                          cluster_->ewma_decay_ns);
    }
    if (retry_policy_ != nullptr && retry_policy_->enabled() &&
        retry_policy_->retriesStatus(static_cast<uint16_t>(status)) && retries_ < retry_policy_->num_retries) {
      // Drop this response (and its connection) and try again, if allowed.
      UpstreamConnection* failed = upstream_;
      upstream_ = nullptr;
      upstream_blocked_ = false;
      endTry(true, try_outcome_, true);
      std::string why = "status " + std::to_string(status);
      if (maybeRetry(why.c_str())) {
        failed->release(false);
        return;
      }
      upstream_ = failed;  // no retry after all: this response goes to the client
    }
  }
  info_stream_.status = static_cast<uint16_t>(status);
  if (status == 101) {
    if (!upgrade_request_) {
      failStream(Reason::kUpstreamReset);
      return;
    }
    scratch_.clear();
    head.version_minor = 1;
    common::serializeResponseHead(head, scratch_);
    conn_->write(scratch_);
    response_head_sent_ = true;
    return;
  }
  if (upgrade_request_ || draining_) {
    // Upgrade refused: do not reuse a connection in this state. Draining: tell the client.
    close_after_response_ = true;
  }
  filters_.runResponse(head, *this);
  // Transfer codings other than chunked stay on the body bytes (they are not decoded), so
  // the client is told the list; see forwardRequest.
  std::string codings;  // empty (no allocation) unless the upstream sent such codings
  bool coded = head.transfer_encoding && common::appendTransferCodings(head.headers, codings);
  stripHopByHop(head.headers, false);
  if (head_request_ || status == 204 || status == 304) {
    response_framing_ = Framing::kNone;
  } else if (!head.chunked && head.content_length >= 0) {
    response_framing_ = Framing::kLength;
  } else if (coded && (client_http10_ || common::codingsNameChunked(codings))) {
    // An HTTP/1.0 client cannot receive a transfer coding, and chunked applied before another
    // coding cannot be re-chunked (chunked goes once, last): nothing correct can be sent.
    info_stream_.note("response transfer coding '" + codings + "' cannot be forwarded" +
                      (client_http10_ ? " to an HTTP/1.0 client" : ""));
    failStream(Reason::kUpstreamReset);
    return;
  } else if (client_http10_) {
    response_framing_ = Framing::kUntilClose;
    head.headers.remove(Wk::kContentLength);
    close_after_response_ = true;
  } else {
    response_framing_ = Framing::kChunked;
    if (coded) {
      codings.append(", chunked");
      head.headers.add("transfer-encoding", codings);
    } else {
      head.headers.add("transfer-encoding", "chunked");
    }
  }
  if (close_after_response_) {
    head.headers.add("connection", "close");
  } else if (client_http10_) {
    head.headers.add("connection", "keep-alive");
  }
  head.version_minor = 1;
  scratch_.clear();
  common::serializeResponseHead(head, scratch_);
  conn_->cork();  // sent with the first body bytes of this read (see onUpstreamReadEnd)
  conn_->write(scratch_);
  response_head_sent_ = true;
}

void HttpConnection::onUpstreamReadEnd() noexcept { conn_->uncork(); }

void HttpConnection::onUpstreamBody(std::string_view data) noexcept {
  if (closing_ || response_complete_) {
    return;
  }
  info_stream_.bytes_sent += data.size();
  switch (response_framing_) {
    case Framing::kChunked:
      scratch_.clear();
      appendHex(scratch_, data.size());
      scratch_.append("\r\n");
      conn_->write(scratch_, data, "\r\n");
      break;
    case Framing::kLength:
    case Framing::kUntilClose:
      conn_->uncork(data);  // after a corked head: head and body in one write, body not copied
      break;
    case Framing::kNone:
      break;
  }
}

void HttpConnection::onUpstreamComplete() noexcept {
  if (response_complete_) {
    return;
  }
  // Trailer fields go on when the client gets chunked framing; other framings cannot carry
  // them and they are dropped (documented in docs/architecture.md).
  const common::HeaderMap* trailers = upstream_ != nullptr ? &upstream_->trailers() : nullptr;
  bool has_trailers = trailers != nullptr && trailers->size() != 0;
  if (response_framing_ == Framing::kChunked && has_trailers) {
    scratch_.clear();
    common::appendLastChunk(*trailers, scratch_);
    conn_->write(scratch_);
  } else if (response_framing_ == Framing::kChunked) {
    conn_->write("0\r\n\r\n");
  } else if (has_trailers) {
    info_stream_.note("response trailers dropped: the client's framing cannot carry them");
  }
  response_complete_ = true;
  if (!request_complete_) {
    // The upstream answered before the request body ended: neither side can be reused.
    close_after_response_ = true;
  }
  releaseUpstream(request_complete_);
  finishStream();
}

void HttpConnection::onUpstreamUpgrade(std::string_view rest) noexcept {
  tunnel_ = true;
  timer_.stop();
  if (!rest.empty()) {
    conn_->write(rest);
  }
  if (!pending_input_.empty()) {
    upstream_->write(pending_input_);
    std::string().swap(pending_input_);
  }
  parser_upgrade_ = false;
  response_complete_ = true;
  recordStream();
  // The stream stays counted as in flight (a drain waits for it) until the tunnel closes.
  stream_active_ = false;
  armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
  updateReading();
}

void HttpConnection::onUpstreamTunnelData(std::string_view data) noexcept {
  conn_->write(data);
  armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
}

void HttpConnection::onUpstreamTunnelEof() noexcept {
  up_eof_ = true;
  conn_->shutdownAfterFlush();
  maybeFinishTunnel();
}

void HttpConnection::onUpstreamFailure(UpstreamFailure f, bool response_started) noexcept {
  upstream_ = nullptr;  // it closed itself
  upstream_blocked_ = false;
  if (tunnel_) {
    destroy();
    return;
  }
  bool reused = !info_stream_.attempts.empty() && info_stream_.attempts.back().reused_connection;
  const char* what = f == UpstreamFailure::kConnectFailure ? "connect-failure"
                     : f == UpstreamFailure::kReset       ? "upstream-reset"
                                                          : "upstream-protocol-error";
  if (!info_stream_.attempts.empty()) {
    info_stream_.attempts.back().outcome = what;
  }
  // The keep-alive race: a pooled connection the upstream had already closed. Nothing of the
  // response came back, so the request was not processed; replay it once on a new connection
  // to the same endpoint. Not a retry: no budget, no outlier verdict.
  if (f == UpstreamFailure::kReset && reused && !response_started && !response_head_sent_ &&
      buffering_ && idempotent_ && !race_replayed_) {
    race_replayed_ = true;
    info_stream_.note("reused connection closed before any response byte: replaying once");
    if (connectUpstream(true)) {
      sendTryHead();
      upstream_->uncork();
    }
    return;
  }
  filters::outlier::Outcome outcome = f == UpstreamFailure::kConnectFailure
                                          ? filters::outlier::Outcome::kConnectFailure
                                          : filters::outlier::Outcome::kReset;
  endTry(true, outcome, true);
  filters::retry::TryFailure tf = f == UpstreamFailure::kConnectFailure
                                      ? filters::retry::TryFailure::kConnectFailure
                                      : filters::retry::TryFailure::kReset;
  if (!response_started && retry_policy_ != nullptr && retry_policy_->retriesFailure(tf) &&
      maybeRetry(what)) {
    return;
  }
  if (retries_ > 0 && !response_head_sent_) {
    replyLocally(Reason::kRetriesExhausted, std::string("last try: ") + what, 502);
    return;
  }
  failStream(f == UpstreamFailure::kConnectFailure ? Reason::kConnectFailure
                                                   : Reason::kUpstreamReset);
}

void HttpConnection::onUpstreamWriteBlocked() noexcept {
  upstream_blocked_ = true;
  updateReading();
}

void HttpConnection::onUpstreamWriteUnblocked() noexcept {
  upstream_blocked_ = false;
  updateReading();
}

// ---- finishing -------------------------------------------------------------------------

void HttpConnection::releaseUpstream(bool reusable) noexcept {
  if (upstream_ == nullptr) {
    return;
  }
  UpstreamConnection* u = upstream_;
  upstream_ = nullptr;
  upstream_blocked_ = false;
  u->release(reusable);
  conn_->uncork();
}

void HttpConnection::failStream(Reason reason) noexcept {
  if (response_head_sent_) {
    // Too late for an error response: the client sees the connection end.
    info_stream_.reason = reason;
    releaseUpstream(false);
    destroy();
    return;
  }
  replyLocally(reason);
}

void HttpConnection::sendLocalReply(const filters::LocalReply& reply) noexcept {
  replyLocally(reply);
}

std::string_view HttpConnection::downstreamHost() noexcept {
  if (peer_host_.empty()) {
    peer_host_ = conn_->peerAddress().host();
  }
  return peer_host_;
}

void HttpConnection::replyLocally(Reason reason, std::string_view detail,
                                  uint16_t status) noexcept {
  filters::LocalReply reply;
  reply.reason = reason;
  reply.detail = detail;
  reply.status = status;
  replyLocally(reply);
}

void HttpConnection::replyLocally(const filters::LocalReply& reply) noexcept {
  Reason reason = reply.reason;
  uint16_t status = reply.status;
  std::string_view detail = reply.detail;
  releaseUpstream(false);
  waiting_filters_ = false;  // answered: whatever held the request has nothing left to resume
  held_body_.clear();
  if (status == 0) {
    status = filters::reasonStatus(reason);
  }
  info_stream_.status = status;
  info_stream_.reason = reason;
  if (!request_complete_ && request_has_body_) {
    close_after_response_ = true;
  }
  if (draining_ || upgrade_request_ || reason == Reason::kBadRequest ||
      reason == Reason::kHeaderTooLarge) {
    // After a framing error nothing else on it can be trusted; after a refused upgrade the
    // client may already be sending the new protocol.
    close_after_response_ = true;
  }
  std::string_view name = filters::reasonName(reason);
  std::string body;
  if (reply.has_body) {
    body.assign(reply.body);
  } else {
    body.assign(name);
    if (!detail.empty()) {
      body.append(": ").append(detail);
    }
    body.push_back('\n');
  }
  scratch_.clear();
  scratch_.append("HTTP/1.1 ");
  scratch_.append(std::to_string(status));
  scratch_.push_back(' ');
  scratch_.append(common::reasonPhrase(status));
  bool has_content_type = false;
  for (const auto& [k, v] : reply.headers) {
    has_content_type = has_content_type || common::equalsIgnoreCase(k, "content-type");
    scratch_.append("\r\n").append(k).append(": ").append(v);
  }
  if (!has_content_type) {
    scratch_.append("\r\ncontent-type: text/plain");
  }
  scratch_.append("\r\nx-remora-reason: ");
  scratch_.append(name);
  scratch_.append("\r\ncontent-length: ");
  scratch_.append(std::to_string(body.size()));
  if (!info_stream_.request_id.empty()) {
    scratch_.append("\r\nx-request-id: ");
    scratch_.append(info_stream_.request_id);
  }
  if (close_after_response_) {
    scratch_.append("\r\nconnection: close\r\n\r\n");
  } else if (client_http10_) {
    scratch_.append("\r\nconnection: keep-alive\r\n\r\n");
  } else {
    scratch_.append("\r\n\r\n");
  }
  if (!head_request_) {
    scratch_.append(body);
    info_stream_.bytes_sent += body.size();
  }
  conn_->write(scratch_);
  conn_->uncork();
  response_head_sent_ = true;
  response_complete_ = true;
  if (request_complete_ || close_after_response_) {
    finishStream();
  }
}

void HttpConnection::recordStream() noexcept {
  uint64_t now = nowNs();
  info_stream_.duration_us = (now - info_stream_.start_ns) / 1000;
  if (upstream_start_ns_ != 0) {
    info_stream_.upstream_us = (now - upstream_start_ns_) / 1000;
  }
  unsigned cls = info_stream_.status / 100;
  if (cls >= 1 && cls <= 5) {
    worker_.stats().add(listener_->stats.rq_by_class[cls]);
    bool upstream_answered =
        info_stream_.reason == Reason::kNone || info_stream_.reason == Reason::kUpstreamReset ||
        info_stream_.reason == Reason::kUpstreamTimeout ||
        info_stream_.reason == Reason::kConnectFailure ||
        info_stream_.reason == Reason::kRetriesExhausted;
    if (cluster_ != nullptr && upstream_answered && !info_stream_.attempts.empty()) {
      worker_.stats().add(cluster_->stats.rq_by_class[cls]);
      worker_.stats().recordMicros(cluster_->stats.rq_time, info_stream_.upstream_us);
      if (retries_ > 0 && cls < 5) {
        worker_.stats().add(cluster_->stats.rq_retry_success);
      }
    }
  }
  releaseSlots();
  endpoint_cfg_ = nullptr;
  filters_.finish(info_stream_);
  if (snapshot_ && snapshot_->access_log) {
    writeAccessLog(info_stream_, client_http10_);
  }
  worker_.recentRequests().record(info_stream_);
}

void HttpConnection::finishStream() noexcept {
  if (!stream_active_) {
    return;
  }
  recordStream();
  stream_active_ = false;
  worker_.streamFinished();
  if (close_after_response_) {
    closeGracefully();
    return;
  }
  // Keep-alive. Draining: the client was told keep-alive before the drain began; it may send
  // again, so the connection waits out the drain grace (see armIdleTimer).
  armIdleTimer();
  if (!in_parser_) {
    pump();
    if (down_eof_ && !stream_active_ && !closing_ && !destroyed_) {
      // Half-closed: every complete pipelined request was answered; a partial one is dropped.
      if (parser_.inMessage()) {
        destroy();
      } else {
        closeGracefully();
      }
    }
  }
}

void HttpConnection::closeGracefully() noexcept {
  if (closing_ || destroyed_) {
    return;
  }
  closing_ = true;
  worker_.connectionClosing();
  releaseUpstream(false);
  pending_input_.clear();
  conn_->shutdownAfterFlush();
  updateReading();
  // Linger after the last byte left so the client reads the response before our close; a
  // client that never reads is cut off by the idle timeout.
  if (conn_->pendingBytes() == 0) {
    armTimer(TimerMode::kLinger, kLingerMs);
  } else {
    armTimer(TimerMode::kIdle, listener_->idle_timeout_ms);
  }
}

void HttpConnection::onDrain() noexcept {
  draining_ = true;
  if (!stream_active_ && !parser_.inMessage() && !tunnel_ && !closing_) {
    // Idle: a request may already be on its way. It is answered (with connection: close) if it
    // comes within the drain grace; at the end of the grace the connection is closed.
    armIdleTimer();
  }
}

void HttpConnection::closeNow() noexcept {
  if (stream_active_ && !response_head_sent_ && !tunnel_) {
    close_after_response_ = true;
    replyLocally(Reason::kDraining, "proxy shutting down");
  }
  destroy();
}

void HttpConnection::destroy() noexcept {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  if (stream_active_) {
    if (info_stream_.status == 0) {
      info_stream_.note("downstream connection closed before the response completed");
    }
    recordStream();
    stream_active_ = false;
    worker_.streamFinished();
  }
  if (tunnel_) {
    worker_.streamFinished();
  }
  if (upstream_ != nullptr) {
    UpstreamConnection* u = upstream_;
    upstream_ = nullptr;
    u->close();
  }
  if (closing_) {
    worker_.connectionClosed();
  }
  timer_.stop();
  conn_->close();
  retire(worker_, listener_->stats, runtime_);
}

// ---- timers ----------------------------------------------------------------------------

void HttpConnection::armTimer(TimerMode mode, uint64_t ms) noexcept {
  timer_mode_ = mode;
  timer_.start(ms);
}

void HttpConnection::armIdleTimer() noexcept {
  uint64_t ms = listener_->idle_timeout_ms;
  if (draining_) {
    ms = std::min(ms, worker_.drainGraceLeftMs());
  }
  armTimer(TimerMode::kIdle, ms);
}

bool HttpConnection::bodyStalled(uint64_t now) noexcept {
  // Only while the client owes body bytes and nothing of the response went out (after that
  // the exchange is the route's: its idle and request timeouts).
  if (listener_->body_read_timeout_ms == 0 || !stream_active_ || request_complete_ ||
      !request_has_body_ || response_head_sent_ || tunnel_) {
    return false;
  }
  if (!conn_->reading()) {
    last_input_ms_ = now;  // we are not reading (upstream backpressure): not the client's stall
    return false;
  }
  return now - last_input_ms_ >= listener_->body_read_timeout_ms;
}

void HttpConnection::onBodyTimeout() noexcept {
  // A stalled body holds an upstream connection (and a slot of max_connections_per_endpoint):
  // give it back and tell the client.
  worker_.stats().add(listener_->stats.body_timeout);
  info_stream_.note("request body stalled for " + std::to_string(listener_->body_read_timeout_ms) +
                    "ms (body_read_timeout)");
  if (!info_stream_.attempts.empty() && info_stream_.attempts.back().outcome.empty()) {
    info_stream_.attempts.back().outcome = "request-body-timeout";
  }
  releaseUpstream(false);
  endTry(false, filters::outlier::Outcome::kSuccess, false);  // not the endpoint's doing
  replyLocally(Reason::kRequestTimeout, "request body stalled");
}

void HttpConnection::onTimer() noexcept {
  switch (timer_mode_) {
    case TimerMode::kIdle:
      if (draining_ && !closing_ && !tunnel_) {
        closeGracefully();  // end of the drain grace: a last response may still be leaving
        break;
      }
      destroy();
      break;
    case TimerMode::kLinger:
      destroy();
      break;
    case TimerMode::kHeaderRead: {
      if (stream_active_) {
        break;  // the head is complete (a filter holds the request): the stream's timers rule
      }
      // Slowloris guard: the head did not arrive in time (counted from the accept for the first
      // request). A client that sent nothing at all is closed without an answer, as nginx does.
      worker_.stats().add(listener_->stats.header_timeout);
      if (parser_.inMessage()) {
        worker_.stats().add(listener_->stats.bad_request);
        static constexpr std::string_view kTimeout =
            "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
            "x-remora-reason: request-timeout\r\nconnection: close\r\n\r\n";
        conn_->write(kTimeout);
      }
      closeGracefully();
      break;
    }
    case TimerMode::kRequest: {
      uint64_t now = uv_now(worker_.loop().uv());
      if (bodyStalled(now)) {
        onBodyTimeout();
        break;
      }
      if (request_deadline_ms_ == 0 || now < request_deadline_ms_) {
        if (try_active_ && !try_answered_ && try_deadline_ms_ != 0 && now >= try_deadline_ms_) {
          onPerTryTimeout();
        } else {
          armRequestTimer();  // a per-try deadline that no longer matters
        }
        break;
      }
      if (cluster_ != nullptr) {
        worker_.stats().add(cluster_->stats.rq_timeout);
      }
      info_stream_.note("request timeout " + std::to_string(request_timeout_ms_) + "ms");
      if (!info_stream_.attempts.empty() && info_stream_.attempts.back().outcome.empty()) {
        info_stream_.attempts.back().outcome = "timeout";
      }
      if (try_active_ && !try_answered_) {
        endTry(true, filters::outlier::Outcome::kTimeout, true);
      }
      close_after_response_ = close_after_response_ || !request_complete_;
      failStream(Reason::kUpstreamTimeout);
      break;
    }
  }
}

}  // namespace remora::sidecar
