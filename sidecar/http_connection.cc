#include "sidecar/http_connection.h"

#include <charconv>

#include "sidecar/access_log.h"

namespace remora::sidecar {

using common::Wk;
using filters::Reason;

namespace {

constexpr size_t kWriteHighWatermark = 256 * 1024;
constexpr size_t kWriteLowWatermark = 64 * 1024;
// Bytes of pipelined input held while a response is outstanding; reading stops beyond it.
constexpr size_t kMaxPendingInput = 64 * 1024;
// Request bytes kept for a replay on a fresh connection (SPEC: retry buffer default 64 KiB).
constexpr size_t kReplayLimit = 64 * 1024 + 16 * 1024;
constexpr uint64_t kLingerMs = 2000;
// Request body bytes held while a filter holds the request (e.g. a fault delay).
constexpr size_t kMaxHeldBody = 64 * 1024;
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
    std::string_view v = h.get(Wk::kConnection);
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view tok = v.substr(0, comma);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) {
        tok.remove_prefix(1);
      }
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) {
        tok.remove_suffix(1);
      }
      if (!tok.empty() && !common::equalsIgnoreCase(tok, "close") &&
          !common::equalsIgnoreCase(tok, "keep-alive") &&
          !common::equalsIgnoreCase(tok, "upgrade") && common::classifyHeader(tok) == Wk::kNone) {
        h.remove(std::string(tok));
      }
      if (comma == std::string_view::npos) {
        break;
      }
      v.remove_prefix(comma + 1);
    }
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
      listener_(listener),
      runtime_(runtime),
      snapshot_(worker.snapshot()),
      conn_(std::move(conn)),
      info_(info),
      parser_(common::Http1Parser::Kind::kRequest, *this, listener.limits),
      timer_(worker.loop().uv(), [this] { onTimer(); }) {
  conn_->setHandler(*this);
  conn_->setWatermarks(kWriteHighWatermark, kWriteLowWatermark);
  worker_.track(this);
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::start(std::string_view initial) noexcept {
  armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
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
  if (tunnel_) {
    if (upstream_ != nullptr) {
      upstream_->write({data, len});
    }
    armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
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
  in_parser_ = true;
  auto r = parser_.feed(data, len);
  in_parser_ = false;
  if (upstream_ != nullptr) {
    upstream_->uncork();  // the request head and the body bytes of this read, in one write
  }
  if (destroyed_ || closing_) {
    return;
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
      sendParseError();
      return;
  }
  // A request head that did not arrive whole must arrive within the header timeout.
  if (parser_.inMessage() && !parser_.headDone() && timer_mode_ != TimerMode::kHeaderRead) {
    armTimer(TimerMode::kHeaderRead, listener_.header_read_timeout_ms);
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
  bool want = closing_ || (!upstream_blocked_ && pending_input_.size() < kMaxPendingInput &&
                          held_body_.size() < kMaxHeldBody);
  if (want != conn_->reading()) {
    if (want) {
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
  // A client that goes away mid-request aborts it (HTTP/1 has no useful half-close).
  destroy();
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
  snapshot_ = worker_.snapshot();
  upstream_blocked_ = false;
  request_complete_ = false;
  response_head_sent_ = false;
  response_complete_ = false;
  retried_ = false;
  replayable_ = true;
  replay_.clear();
  response_framing_ = Framing::kNone;
  cluster_ = nullptr;
  route_ = nullptr;
  endpoint_cfg_ = nullptr;
  endpoint_pool_ = nullptr;
  waiting_filters_ = false;
  held_body_.clear();
  upstream_start_ns_ = 0;

  info_stream_.clear();
  info_stream_.start_ns = nowNs();
  info_stream_.listener = listener_.name;
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
  if (upstream_ == nullptr || response_complete_) {
    return;  // answered locally: the body is read and dropped
  }
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

bool HttpConnection::onMessageComplete() noexcept {
  request_complete_ = true;
  if (upstream_ != nullptr && !response_complete_ && request_chunked_ && !waiting_filters_) {
    writeUpstream("0\r\n\r\n");
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
  bool too_large = parser_.error() == common::Http1Parser::Error::kHeadersTooLarge;
  worker_.stats().add(listener_.stats.bad_request);
  Reason reason = too_large ? Reason::kHeaderTooLarge : Reason::kBadRequest;
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
    info_stream_.listener = listener_.name;
    info_stream_.method = parser_.head().method;
    info_stream_.path = parser_.head().url;
  }
  info_stream_.note(std::string("parse error: ") + parser_.errorReason());
  close_after_response_ = true;
  replyLocally(reason, parser_.errorReason());
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
  if (listener_.route_table >= 0) {
    const RouteTable& table = snap.route_tables[static_cast<size_t>(listener_.route_table)];
    RouteRequest rr{info_stream_.authority, head.url, head.method, &head.headers};
    route = table.match(rr);
    if (route == nullptr && info_.original_dst) {
      std::string dst = info_.original_dst->toString();
      rr.authority = dst;
      route = table.match(rr);
    }
  }
  if (route != nullptr) {
    cluster_ = &snap.clusters[route->cluster];
    info_stream_.route = route->name;
    info_stream_.note("route " + route->name);
  } else if (listener_.route_table < 0 && listener_.tcp_cluster >= 0) {
    cluster_ = &snap.clusters[static_cast<size_t>(listener_.tcp_cluster)];
    info_stream_.note("listener default cluster");
  } else if (info_.original_dst) {
    cluster_ = &snap.clusters[snap.passthrough_cluster];
    info_stream_.note("passthrough to original destination");
  } else {
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
    writeUpstream("0\r\n\r\n");
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
  // Endpoint.
  if (cluster_->original_dst) {
    if (!info_.original_dst) {
      info_stream_.note("original destination unknown (connection was not redirected)");
      replyLocally(Reason::kNoHealthyUpstream);
      return;
    }
    endpoint_ = *info_.original_dst;
    if (listener_.inbound) {
      // Inbound passthrough goes to the app on this host, on the port the client dialled.
      endpoint_ = common::loopbackAddress(info_.original_dst->port());
    }
    endpoint_pool_ = &worker_.dynamicPool(endpoint_.toString());
  } else {
    const auto& eps = cluster_->endpoints;
    const EndpointConfig& ep = eps[worker_.nextRoundRobin(cluster_->index) % eps.size()];
    endpoint_ = ep.address;
    endpoint_pool_ = &worker_.pool(ep.pool_id);
    endpoint_cfg_ = &ep;
    worker_.stats().add(ep.stats.rq_active, 1);
  }

  // Timeout for the whole response.
  int64_t route_timeout = route != nullptr ? route->timeout_ms : -1;
  request_timeout_ms_ =
      route_timeout >= 0 ? static_cast<uint64_t>(route_timeout) : cluster_->request_timeout_ms;
  if (request_timeout_ms_ > 0) {
    armTimer(TimerMode::kRequest, request_timeout_ms_);
  } else {
    timer_.stop();
    timer_mode_ = TimerMode::kRequest;
  }

  // The upstream request head.
  stripHopByHop(head.headers, upgrade_request_);
  if (request_chunked_) {
    head.headers.add("transfer-encoding", "chunked");
  }
  if (upgrade_request_) {
    head.headers.add("connection", "upgrade");
  }
  if (listener_.inbound) {
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
  if (!head.headers.has(Wk::kHost)) {
    // An HTTP/1.0 client may omit Host; the upstream speaks HTTP/1.1 and needs one.
    head.headers.add("host", endpoint_.toString());
  }
  uint8_t minor = head.version_minor;
  head.version_minor = 1;  // upstream connections always speak HTTP/1.1
  replay_.clear();
  common::serializeRequestHead(head, replay_);
  head.version_minor = minor;

  if (!connectUpstream(false)) {
    return;
  }
  upstream_->cork();  // uncorked once this read's body bytes are queued too (see feed())
  upstream_->write(replay_);
}

bool HttpConnection::connectUpstream(bool fresh) noexcept {
  EndpointPool& pool = *endpoint_pool_;
  UpstreamConnection* c = nullptr;
  bool reused = false;
  if (!fresh && !pool.idle.empty()) {
    c = pool.idle.back();
    reused = true;
  } else if (pool.open >= cluster_->max_connections_per_endpoint) {
    worker_.stats().add(cluster_->stats.rq_pending_overflow);
    info_stream_.note("endpoint connection limit reached");
    replyLocally(Reason::kOverflow);
    return false;
  } else {
    c = new UpstreamConnection(worker_, *cluster_, endpoint_, pool);
  }
  c->attach(*this);
  c->expectHeadResponse(head_request_);
  if (conn_->aboveHighWatermark()) {
    c->pauseReading();  // the client has not read the last response yet
  }
  upstream_ = c;
  upstream_start_ns_ = nowNs();
  filters::Attempt a;
  a.endpoint = endpoint_.toString();
  a.reused_connection = reused;
  info_stream_.attempts.push_back(std::move(a));
  return true;
}

void HttpConnection::writeUpstream(std::string_view a, std::string_view b,
                                  std::string_view c) noexcept {
  upstream_->write(a, b, c);
  // Only a request on a reused connection can meet the keep-alive race: keep its bytes.
  bool reused = !info_stream_.attempts.empty() && info_stream_.attempts.back().reused_connection;
  if (replayable_ && reused) {
    if (replay_.size() + a.size() + b.size() + c.size() > kReplayLimit) {
      replayable_ = false;
      std::string().swap(replay_);
    } else {
      replay_.append(a);
      replay_.append(b);
      replay_.append(c);
    }
  }
}

void HttpConnection::onUpstreamConnected() noexcept {}

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
  info_stream_.status = static_cast<uint16_t>(status);
  if (!info_stream_.attempts.empty()) {
    info_stream_.attempts.back().outcome = std::to_string(status);
  }
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
  stripHopByHop(head.headers, false);
  if (head_request_ || status == 204 || status == 304) {
    response_framing_ = Framing::kNone;
  } else if (!head.chunked && head.content_length >= 0) {
    response_framing_ = Framing::kLength;
  } else if (client_http10_) {
    response_framing_ = Framing::kUntilClose;
    head.headers.remove(Wk::kContentLength);
    close_after_response_ = true;
  } else {
    response_framing_ = Framing::kChunked;
    head.headers.add("transfer-encoding", "chunked");
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
  if (response_framing_ == Framing::kChunked) {
    conn_->write("0\r\n\r\n");
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
  armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
  updateReading();
}

void HttpConnection::onUpstreamTunnelData(std::string_view data) noexcept {
  conn_->write(data);
  armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
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
  // response came back, so the request was not processed; replay it once on a new connection.
  if (f == UpstreamFailure::kReset && reused && !response_started && !response_head_sent_ &&
      replayable_ && idempotent_ && !retried_) {
    retried_ = true;
    info_stream_.note("reused connection closed before any response byte: replaying once");
    std::string head;
    head.swap(replay_);
    if (connectUpstream(true)) {
      upstream_->write(head);
      replay_.swap(head);
    }
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
    worker_.stats().add(listener_.stats.rq_by_class[cls]);
    bool upstream_answered =
        info_stream_.reason == Reason::kNone || info_stream_.reason == Reason::kUpstreamReset ||
        info_stream_.reason == Reason::kUpstreamTimeout ||
        info_stream_.reason == Reason::kConnectFailure;
    if (cluster_ != nullptr && upstream_answered && !info_stream_.attempts.empty()) {
      worker_.stats().add(cluster_->stats.rq_by_class[cls]);
      worker_.stats().recordMicros(cluster_->stats.rq_time, info_stream_.upstream_us);
      if (endpoint_cfg_ != nullptr) {
        worker_.stats().add(endpoint_cfg_->stats.rq_total);
        if (cls == 5) {
          worker_.stats().add(endpoint_cfg_->stats.rq_error);
        }
      }
    }
  }
  if (endpoint_cfg_ != nullptr) {
    worker_.stats().add(endpoint_cfg_->stats.rq_active, -1);
    endpoint_cfg_ = nullptr;
  }
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
  if (close_after_response_ || draining_) {
    closeGracefully();
    return;
  }
  armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
  if (!in_parser_) {
    pump();
  }
}

void HttpConnection::closeGracefully() noexcept {
  if (closing_ || destroyed_) {
    return;
  }
  closing_ = true;
  releaseUpstream(false);
  pending_input_.clear();
  conn_->shutdownAfterFlush();
  updateReading();
  // Linger after the last byte left so the client reads the response before our close; a
  // client that never reads is cut off by the idle timeout.
  if (conn_->pendingBytes() == 0) {
    armTimer(TimerMode::kLinger, kLingerMs);
  } else {
    armTimer(TimerMode::kIdle, listener_.idle_timeout_ms);
  }
}

void HttpConnection::onDrain() noexcept {
  draining_ = true;
  if (!stream_active_ && !parser_.inMessage() && !tunnel_) {
    closeGracefully();
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
  timer_.stop();
  conn_->close();
  retire(worker_, listener_.stats, runtime_);
}

// ---- timers ----------------------------------------------------------------------------

void HttpConnection::armTimer(TimerMode mode, uint64_t ms) noexcept {
  timer_mode_ = mode;
  timer_.start(ms);
}

void HttpConnection::onTimer() noexcept {
  switch (timer_mode_) {
    case TimerMode::kIdle:
    case TimerMode::kLinger:
      destroy();
      break;
    case TimerMode::kHeaderRead: {
      // Slowloris guard: the head did not arrive in time.
      worker_.stats().add(listener_.stats.bad_request);
      static constexpr std::string_view kTimeout =
          "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
      conn_->write(kTimeout);
      closeGracefully();
      break;
    }
    case TimerMode::kRequest:
      if (cluster_ != nullptr) {
        worker_.stats().add(cluster_->stats.rq_timeout);
      }
      info_stream_.note("request timeout " + std::to_string(request_timeout_ms_) + "ms");
      if (!info_stream_.attempts.empty() && info_stream_.attempts.back().outcome.empty()) {
        info_stream_.attempts.back().outcome = "timeout";
      }
      close_after_response_ = close_after_response_ || !request_complete_;
      failStream(Reason::kUpstreamTimeout);
      break;
  }
}

}  // namespace remora::sidecar
