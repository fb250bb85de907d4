#include "sidecar/http/active_stream.h"

#include <spdlog/spdlog.h>

#include "common/grpc/grpc_status.h"
#include "sidecar/access_log.h"
#include "sidecar/http/connection_manager.h"
#include "sidecar/http/local_reply.h"
#include "sidecar/http/request_id.h"
#include "sidecar/worker.h"

namespace remora::sidecar {

using common::Wk;
using filters::Reason;

namespace {

// Request body bytes held while a filter holds the request (e.g. a fault delay); reading stops
// beyond it.
constexpr size_t kMaxHeldBody = filters::kMaxHeldBodyBytes;
// How much of an unknown method a 501 answer names.
constexpr size_t kMaxEchoedMethod = 64;
const filters::FilterFactories kNoFilters;

uint64_t nowNs() {
  return uv_hrtime();
}

}  // namespace

ActiveStream::ActiveStream(ConnectionManager& cm, http::ResponseEncoder& encoder)
    : cm_(cm),
      worker_(cm.worker()),
      encoder_(encoder),
      snapshot_(cm.pinSnapshot()),
      listener_(&cm.listener()),
      info_(cm.worker().takeStreamInfo()),
      router_(*this),
      protocol_(encoder.protocol()) {
  encoder_.setCallbacks(*this);
  cm_.worker().streamStarted();
  info_->start_ns = nowNs();
  info_->listener = listener_->name;
  last_input_ms_ = uv_now(cm_.worker().loop().uv());
}

ActiveStream::~ActiveStream() {
  router_.finish();  // (before the info goes back: a try's late bookkeeping may note in it)
  worker_.returnStreamInfo(std::move(info_));
}

Worker& ActiveStream::worker() noexcept {
  return cm_.worker();
}
common::StatsShard& ActiveStream::stats() noexcept {
  return cm_.worker().stats();
}
uint64_t ActiveStream::random() noexcept {
  return cm_.worker().random();
}
std::string_view ActiveStream::downstreamHost() noexcept {
  return cm_.peerHost();
}

std::unique_ptr<common::Timer> ActiveStream::createTimer(std::function<void()> cb) {
  return std::make_unique<common::Timer>(cm_.worker().loop().uv(), std::move(cb));
}

bool ActiveStream::downstreamReading() const noexcept {
  return cm_.reading();
}

void ActiveStream::restartInputClock() noexcept {
  last_input_ms_ = uv_now(cm_.worker().loop().uv());
}

// ---- the request -------------------------------------------------------------------------

void ActiveStream::decodeHeaders(http::RequestHead& head, bool end_stream) noexcept {
  head_ = &head;
  request_complete_ = end_stream;
  request_has_body_ = !end_stream && !head.upgrade;
  info_->method = head.method;
  if (protocol_ == http::Protocol::kHttp2) {
    // gRPC rides HTTP/2 only (an HTTP/1 request with its content-type is not gRPC to us).
    grpc_ = grpc::isGrpcContentType(head.headers.get("content-type"));
    carried_http1_ = head.headers.remove(kOrigProtoHeader) > 0;
  }
  routeRequest(head);
}

void ActiveStream::routeRequest(http::RequestHead& head) noexcept {
  if (head.method == "CONNECT") {
    info_->path = head.path;
    replyLocally(Reason::kBadRequest, "CONNECT is not supported");
    return;
  }
  info_->authority = std::string(head.headers.get(Wk::kHost));
  info_->path = head.path;
  if (head.protocol != http::Protocol::kHttp10 && !head.headers.has(Wk::kHost)) {
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
    info_->request_id = std::string(head.headers.get(Wk::kXRequestId));
  } else {
    formatRequestId(random(), random(), info_->request_id);
    head.headers.add("x-request-id", info_->request_id);
  }

  // Route: by authority, then (redirected connections) by the original destination, then
  // passthrough to the original destination.
  const Snapshot& snap = *snapshot_;
  const ConnectionInfo& conn_info = cm_.info();
  const RouteEntry* route = nullptr;
  if (listener_->route_table >= 0) {
    const RouteTable& table = snap.route_tables[static_cast<size_t>(listener_->route_table)];
    RouteRequest rr{info_->authority, head.path, head.method, &head.headers};
    route = table.match(rr);
    if (route == nullptr && conn_info.original_dst) {
      std::string dst = conn_info.original_dst->toString();
      rr.authority = dst;
      route = table.match(rr);
    }
  }
  const ClusterConfig* cluster = nullptr;
  if (route != nullptr) {
    uint32_t cluster_index = route->cluster;
    size_t position = 0;
    if (route->weighted.size() > 1) {
      // A weighted split (canary): one backend per request, by weight.
      uint64_t ticket = random() % route->total_weight;
      for (size_t i = 0; i < route->weighted.size(); ++i) {
        if (ticket < route->weighted[i].second) {
          cluster_index = route->weighted[i].first;
          position = i;
          break;
        }
      }
    }
    info_->route = route->name;
    info_->note(route->trail_note);
    if (cluster_index == RouteEntry::kMissingCluster) {
      // Mesh mode: the control plane named a cluster this snapshot does not have (yet).
      const std::string& name = route->missing_clusters[position];
      info_->cluster = name;
      info_->note("cluster " + name + " not found");
      replyLocally(Reason::kNoHealthyUpstream);
      return;
    }
    cluster = &snap.clusters[cluster_index];
  } else if (listener_->route_table < 0 && listener_->tcp_cluster >= 0) {
    cluster = &snap.clusters[static_cast<size_t>(listener_->tcp_cluster)];
    info_->note("listener default cluster");
  } else if (conn_info.original_dst) {
    cluster = &snap.clusters[snap.passthrough_cluster];
    info_->note("passthrough to original destination");
  } else {
    if (!listener_->missing_route_config.empty()) {
      info_->note("route configuration " + listener_->missing_route_config + " not found");
    }
    info_->note("no route for authority '" + info_->authority + "'");
    replyLocally(Reason::kNoRoute);
    return;
  }
  info_->cluster = cluster->name;
  route_cluster_ = cluster;
  route_ = route;

  // The route's filters (fault, ...) see the request before an endpoint is picked. One may
  // answer it, or hold it and resume() later; request body bytes wait in held_body_ meanwhile.
  filters_.start(route != nullptr ? route->filters : kNoFilters);
  if (!filters_.runRequest(head, *this)) {
    waiting_filters_ = !response_complete_;
    return;
  }
  forwardRequest();
}

void ActiveStream::resume() noexcept {
  if (held_response_ != nullptr) {
    resumeResponse();
    return;
  }
  if (!waiting_filters_ || finished_ || response_complete_) {
    return;
  }
  waiting_filters_ = false;
  if (!filters_.runRequest(*head_, *this)) {
    waiting_filters_ = !response_complete_;
    return;
  }
  forwardRequest();
  if (!routed_ || finished_) {
    return;
  }
  bool cork = !cm_.inDispatch();
  if (!held_body_.empty() ||
      (request_complete_ && held_trailers_ == nullptr && request_has_body_)) {
    std::string body;
    body.swap(held_body_);
    std::string_view data = body;
    bool end = request_complete_ && held_trailers_ == nullptr;
    if (filterRequestData(data, end)) {
      router_.decodeData(data, end);
    }
  }
  if (held_trailers_ != nullptr && !finished_ && !response_complete_) {
    if (filterRequestTrailers(*held_trailers_)) {
      router_.decodeTrailers(*held_trailers_);
    }
    held_trailers_.reset();
  }
  if (cork) {
    router_.onDispatchEnd();  // no read of ours is in progress to do it
  }
  updateReadDisable();
}

void ActiveStream::forwardRequest() noexcept {
  http::RequestHead& head = *head_;
  if (listener_->inbound) {
    std::string_view peer = downstreamHost();
    if (head.headers.has(Wk::kXForwardedFor)) {
      std::string xff(head.headers.get(Wk::kXForwardedFor));
      xff.append(", ").append(peer);
      head.headers.set("x-forwarded-for", xff);
    } else {
      head.headers.add("x-forwarded-for", peer);
    }
    head.headers.set("x-forwarded-proto", "http");
  }
  routed_ = true;
  // With held body bytes still to come the head does not end the request yet.
  bool end_stream = request_complete_ && held_body_.empty() && held_trailers_ == nullptr;
  router_.start(head, *route_cluster_, route_, end_stream && !request_has_body_);
}

void ActiveStream::decodeData(std::string_view data, bool end_stream) noexcept {
  if (tunnel_) {
    if (end_stream) {
      tunnel_down_done_ = true;
    }
    router_.decodeData(data, end_stream);
    cm_.noteTunnelActivity();
    cm_.maybeFinishTunnel();
    return;
  }
  info_->bytes_received += data.size();
  last_input_ms_ = uv_now(cm_.worker().loop().uv());
  if (end_stream) {
    request_complete_ = true;
  }
  if (waiting_filters_) {
    held_body_.append(data);
    updateReadDisable();  // reading stops past kMaxHeldBody
    return;
  }
  if (response_complete_ || !routed_) {
    return;  // answered locally: the body is read and dropped
  }
  if (!filterRequestData(data, end_stream)) {
    return;
  }
  router_.decodeData(data, end_stream);
}

void ActiveStream::decodeTrailers(common::HeaderMap& trailers) noexcept {
  request_complete_ = true;
  if (waiting_filters_) {
    held_trailers_ = std::make_unique<common::HeaderMap>(trailers);
    return;
  }
  if (response_complete_ || !routed_) {
    return;
  }
  if (!filterRequestTrailers(trailers)) {
    return;
  }
  router_.decodeTrailers(trailers);
}

bool ActiveStream::filterRequestData(std::string_view& data, bool end_stream) noexcept {
  if (!filters_.wants(filters::kRequestDataHook)) {
    return true;
  }
  if (!filters_.runRequestData(data, end_stream, *this)) {
    filterStopped("request body");
    return false;
  }
  return !data.empty() || end_stream;
}

bool ActiveStream::filterResponseData(std::string_view& data, bool end_stream) noexcept {
  if (!filters_.wants(filters::kResponseDataHook)) {
    return true;
  }
  if (!filters_.runResponseData(data, end_stream, *this)) {
    filterStopped("response body");
    return false;
  }
  return !data.empty() || end_stream;
}

bool ActiveStream::filterRequestTrailers(common::HeaderMap& trailers) noexcept {
  if (!filters_.wants(filters::kRequestTrailersHook) ||
      filters_.runRequestTrailers(trailers, *this)) {
    return true;
  }
  filterStopped("request trailers");
  return false;
}

bool ActiveStream::filterResponseTrailers(common::HeaderMap& trailers) noexcept {
  if (!filters_.wants(filters::kResponseTrailersHook) ||
      filters_.runResponseTrailers(trailers, *this)) {
    return true;
  }
  filterStopped("response trailers");
  return false;
}

void ActiveStream::filterStopped(const char* what) noexcept {
  if (!finished_ && !response_complete_) {
    info_->note(std::string("a filter stopped the ") + what + " without answering: reset");
    abort();
  }
}

void ActiveStream::onDispatchBegin() noexcept {
  if (routed_) {
    router_.onDispatchBegin();
  }
}

void ActiveStream::onDispatchEnd() noexcept {
  if (routed_) {
    router_.onDispatchEnd();
  }
}

// ---- flow control ------------------------------------------------------------------------

void ActiveStream::setUpstreamBlocked(bool blocked) noexcept {
  upstream_blocked_ = blocked;
  updateReadDisable();
}

void ActiveStream::updateReadDisable() noexcept {
  if (response_complete_) {
    return;  // (the encoder may be gone: HTTP/2 lets a stream go once its response is sent)
  }
  bool want = !finished_ && (upstream_blocked_ || held_body_.size() >= kMaxHeldBody);
  if (want != read_disabled_) {
    read_disabled_ = want;
    if (!want) {
      last_input_ms_ = uv_now(cm_.worker().loop().uv());  // a pause of ours is no client stall
    }
    encoder_.readDisable(want);
  }
}

void ActiveStream::onAboveWriteBufferHighWatermark() noexcept {
  downstream_blocked_ = true;
  router_.pauseResponse();
}

void ActiveStream::onBelowWriteBufferLowWatermark() noexcept {
  downstream_blocked_ = false;
  if (held_response_ != nullptr && held_response_->paused) {
    return;  // a filter holds the response and its body is at the limit
  }
  router_.resumeResponse();
}

// ---- the response ------------------------------------------------------------------------

void ActiveStream::encode1xx(const http::ResponseHead& head) noexcept {
  if (!response_complete_) {
    encoder_.encode1xxHeaders(head);
  }
}

void ActiveStream::encodeUpstreamHeaders(http::ResponseHead& head, bool end_stream) noexcept {
  if (response_complete_) {
    return;
  }
  info_->status = head.status;
  if (head.status == 101) {
    if (head_ == nullptr || !head_->upgrade) {
      failStream(Reason::kUpstreamReset);
      return;
    }
    encoder_.encodeHeaders(head, false);
    response_head_sent_ = true;
    tunnel_ = true;
    recordStream();  // the stream stays counted as in flight (a drain waits) until it closes
    cm_.noteTunnelActivity();
    return;
  }
  if (!filters_.runResponseHeaders(head, end_stream, *this)) {
    if (!response_complete_ && !finished_) {
      // A filter holds the response: it goes on with resume(); body and trailers wait.
      held_response_ = std::make_unique<HeldResponse>();
      held_response_->head = head;
      held_response_->end_stream = end_stream;
    }
    return;
  }
  sendResponseHeaders(head, end_stream);
}

void ActiveStream::resumeResponse() noexcept {
  std::unique_ptr<HeldResponse> held = std::move(held_response_);
  if (finished_ || response_complete_) {
    return;
  }
  if (!filters_.runResponseHeaders(held->head, held->end_stream, *this)) {
    if (!response_complete_ && !finished_) {
      held_response_ = std::move(held);  // a later filter holds it in turn
    }
    return;
  }
  sendResponseHeaders(held->head, held->end_stream);
  bool end_with_body = held->complete && held->trailers == nullptr && !held->end_stream;
  if (!held->body.empty() || end_with_body) {
    encodeUpstreamData(held->body, end_with_body);
  }
  if (held->trailers != nullptr) {
    encodeUpstreamTrailers(*held->trailers);
  }
  if (held->paused && !finished_ && !downstream_blocked_) {
    router_.resumeResponse();
  }
  flushDownstream();  // (a resume comes from a timer or a callback, not from a read)
}

void ActiveStream::sendResponseHeaders(http::ResponseHead& head, bool end_stream) noexcept {
  // Transfer codings other than chunked stay on the body bytes (they are not decoded), so the
  // client must be told the list: an HTTP/1.0 client knows no transfer coding, HTTP/2 has
  // none, and chunked applied before another coding cannot be re-chunked.
  if (!head.transfer_codings.empty() && (encoder_.protocol() != http::Protocol::kHttp11 ||
                                         common::codingsNameChunked(head.transfer_codings))) {
    info_->note("response transfer coding '" + head.transfer_codings + "' cannot be forwarded" +
                (encoder_.protocol() == http::Protocol::kHttp10 ? " to an HTTP/1.0 client" : ""));
    failStream(Reason::kUpstreamReset);
    return;
  }
  response_head_sent_ = true;
  if (!end_stream) {
    encoder_.encodeHeaders(head, false);
    return;
  }
  response_complete_ = true;
  if (grpc_) {
    noteGrpcStatus(head.headers);  // a trailers-only response
  }
  recordStream();  // before the response leaves (see recordStream)
  encoder_.encodeHeaders(head, true);
  router_.releaseUpstream();
  finish();
}

void ActiveStream::encodeUpstreamData(std::string_view data, bool end_stream) noexcept {
  if (tunnel_) {
    encoder_.encodeData(data, end_stream);
    cm_.noteTunnelActivity();
    if (end_stream) {
      tunnel_up_done_ = true;
      cm_.maybeFinishTunnel();
    }
    return;
  }
  if (response_complete_) {
    return;
  }
  if (held_response_ != nullptr) {
    held_response_->body.append(data);
    held_response_->complete = end_stream;
    if (!held_response_->paused && held_response_->body.size() >= kMaxHeldBody) {
      held_response_->paused = true;
      router_.pauseResponse();
    }
    return;
  }
  if (!filterResponseData(data, end_stream)) {
    return;
  }
  info_->bytes_sent += data.size();
  if (!end_stream) {
    encoder_.encodeData(data, false);
    return;
  }
  response_complete_ = true;
  recordStream();
  encoder_.encodeData(data, true);
  router_.releaseUpstream();
  finish();
}

void ActiveStream::encodeUpstreamTrailers(common::HeaderMap& trailers) noexcept {
  if (response_complete_) {
    return;
  }
  if (held_response_ != nullptr) {
    held_response_->trailers = std::make_unique<common::HeaderMap>(trailers);
    held_response_->complete = true;
    return;
  }
  if (!filterResponseTrailers(trailers)) {
    return;
  }
  response_complete_ = true;
  if (grpc_) {
    noteGrpcStatus(trailers);
  }
  if (trailers.size() != 0 && !encoder_.trailersDeliverable()) {
    info_->note("response trailers dropped: the client's framing cannot carry them");
  }
  recordStream();
  encoder_.encodeTrailers(trailers);
  router_.releaseUpstream();
  finish();
}

void ActiveStream::flushDownstream() noexcept {
  cm_.codec().flush();
}

void ActiveStream::onUpstreamDrained() noexcept {
  cm_.maybeFinishTunnel();
}

void ActiveStream::sendLocalReply(Reason reason, std::string_view detail,
                                  uint16_t status) noexcept {
  filters::LocalReply reply;
  reply.reason = reason;
  reply.detail = detail;
  reply.status = status;
  sendLocalReply(reply);
}

void ActiveStream::sendLocalReply(const filters::LocalReply& reply) noexcept {
  if (response_head_sent_ && !finished_) {
    // A response body or trailers hook: too late for an answer of the filter's own.
    info_->note("a filter answered after the response head left: reset");
    failStream(reply.reason);
    return;
  }
  replyLocally(reply);
}

void ActiveStream::replyLocally(Reason reason, std::string_view detail, uint16_t status) noexcept {
  filters::LocalReply reply;
  reply.reason = reason;
  reply.detail = detail;
  reply.status = status;
  replyLocally(reply);
}

void ActiveStream::replyLocally(const filters::LocalReply& reply) noexcept {
  if (response_complete_ || finished_) {
    return;
  }
  router_.abandonUpstream();
  waiting_filters_ = false;  // answered: whatever held the request has nothing left to resume
  held_body_.clear();
  held_trailers_.reset();
  held_response_.reset();
  std::string body;
  http::ResponseHead reply_head;
  if (grpc_) {
    info_->grpc_status =
        static_cast<int32_t>(buildGrpcLocalReply(reply, info_->request_id, reply_head));
  } else {
    buildLocalReply(reply, info_->request_id, reply_head, body);
  }
  info_->status = reply_head.status;
  info_->reason = reply.reason;
  if ((!request_complete_ && request_has_body_) || cm_.draining() ||
      (head_ != nullptr && head_->upgrade) || reply.reason == Reason::kBadRequest ||
      reply.reason == Reason::kHeaderTooLarge) {
    // After a framing error nothing else on the connection can be trusted; after a refused
    // upgrade the client may already be sending the new protocol.
    encoder_.closeAfterResponse();
  }
  response_head_sent_ = true;
  response_complete_ = true;
  bool head_request = head_ != nullptr && head_->isHead();
  if (!head_request) {
    info_->bytes_sent += body.size();
  }
  recordStream();
  if (head_request || body.empty()) {
    encoder_.encodeHeaders(reply_head, true);
  } else {
    encoder_.encodeHeaders(reply_head, false);
    encoder_.encodeData(body, true);
  }
  finish();
}

void ActiveStream::failStream(Reason reason) noexcept {
  if (response_head_sent_) {
    // Too late for an error response: the client sees the connection end.
    info_->reason = reason;
    abort();
    return;
  }
  replyLocally(reason);
}

void ActiveStream::abort() noexcept {
  if (finished_) {
    return;
  }
  router_.abandonUpstream();
  encoder_.resetStream(http::StreamResetReason::kLocalReset);
  finish();
}

void ActiveStream::replyCodecError(http::CodecError error, std::string_view detail,
                                   const common::MessageHead* partial) noexcept {
  cm_.worker().stats().add(listener_->stats.bad_request);
  Reason reason = Reason::kBadRequest;
  switch (error) {
    case http::CodecError::kHeadersTooLarge:
      reason = Reason::kHeaderTooLarge;
      break;
    case http::CodecError::kUnknownMethod:
      reason = Reason::kMethodNotImplemented;
      break;
    default:
      break;
  }
  std::string_view echoed = detail;
  if (partial != nullptr) {
    info_->method = partial->method;
    info_->path = partial->url;
    if (error == http::CodecError::kUnknownMethod) {
      // The parser cannot frame this method's request: name it, then close.
      echoed = partial->method;
    }
  } else if (error == http::CodecError::kUnknownMethod) {
    echoed = info_->method;
  }
  if (response_head_sent_) {
    // The body went bad after the response began: nothing sensible to say; drop the connection.
    info_->reason = reason;
    abort();
    return;
  }
  info_->note(std::string("parse error: ") + std::string(detail));
  encoder_.closeAfterResponse();
  std::string text(echoed.substr(0, kMaxEchoedMethod));
  replyLocally(reason, text);
}

void ActiveStream::closeNow() noexcept {
  if (!response_head_sent_ && !tunnel_ && !finished_) {
    encoder_.closeAfterResponse();
    replyLocally(Reason::kDraining, "proxy shutting down");
  }
}

void ActiveStream::onResetStream(http::StreamResetReason) noexcept {
  // The client went away (or the connection failed) before the response was complete.
  if (finished_) {
    return;
  }
  if (info_->status == 0) {
    info_->note("downstream connection closed before the response completed");
  }
  router_.abandonUpstream();
  finish();
}

// ---- gRPC --------------------------------------------------------------------------------

void ActiveStream::noteGrpcStatus(const common::HeaderMap& fields) noexcept {
  std::optional<uint32_t> status = grpc::parseStatus(fields.get("grpc-status"));
  if (status) {
    info_->grpc_status = static_cast<int32_t>(*status);
  }
}

// ---- the end -----------------------------------------------------------------------------

void ActiveStream::recordStream() noexcept {
  if (recorded_) {
    return;
  }
  recorded_ = true;
  uint64_t now = nowNs();
  info_->duration_us = (now - info_->start_ns) / 1000;
  if (router_.upstreamStartNs() != 0) {
    info_->upstream_us = (now - router_.upstreamStartNs()) / 1000;
  }
  Worker& worker = cm_.worker();
  unsigned cls = info_->status / 100;
  const ClusterConfig* cluster = router_.cluster();
  if (cls >= 1 && cls <= 5) {
    worker.stats().add(listener_->stats.rq_by_class[cls]);
    bool upstream_answered =
        info_->reason == Reason::kNone || info_->reason == Reason::kUpstreamReset ||
        info_->reason == Reason::kUpstreamTimeout || info_->reason == Reason::kConnectFailure ||
        info_->reason == Reason::kRetriesExhausted;
    if (cluster != nullptr && upstream_answered && !info_->attempts.empty()) {
      worker.stats().add(cluster->stats.rq_by_class[cls]);
      worker.stats().recordMicros(cluster->stats.rq_time, info_->upstream_us);
      if (router_.retries() > 0 && cls < 5) {
        worker.stats().add(cluster->stats.rq_retry_success);
      }
    }
  }
  router_.settle();
  if (grpc_ && info_->grpc_status >= 0) {
    // (A request answered before it reached the router counts for the route's cluster.)
    const ClusterConfig* c = cluster != nullptr ? cluster : route_cluster_;
    if (c != nullptr && c->stats.has_grpc &&
        static_cast<size_t>(info_->grpc_status) < c->stats.grpc_requests.size()) {
      worker.stats().add(c->stats.grpc_requests[static_cast<size_t>(info_->grpc_status)]);
    }
  }
  filters_.finish(*info_);
  if (snapshot_->access_log) {
    writeAccessLog(*info_, protocol_);
  }
  worker.recentRequests().record(*info_);
}

void ActiveStream::finish() noexcept {
  if (finished_) {
    return;
  }
  recordStream();
  finished_ = true;
  router_.finish();
  cm_.worker().streamFinished();
  cm_.onStreamDone(*this);
}

}  // namespace remora::sidecar
