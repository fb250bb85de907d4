#pragma once
// The data-plane SDK: what an HTTP filter is and what it may do to its stream. The same hooks
// run for HTTP/1.0, HTTP/1.1 and HTTP/2 streams (and gRPC over HTTP/2): a filter sees the
// protocol-neutral messages of common/http/message.h, never a codec or a socket.
// docs/writing-a-filter.md is the guide; this header is the contract.
//
// A route carries a chain of filter factories, built once per config snapshot from validated
// policy (filters/registry.cc lists them in chain order; their config is shared, read-only, by
// every worker). For each request the connection manager matches the route, asks each factory
// for a per-stream filter, and runs the chain:
//
//   request:   onRequestHeaders -> onRequestData* -> onRequestTrailers?   (then the router)
//   response:  onResponseHeaders -> onResponseData* -> onResponseTrailers?
//   the end:   onDone, once, on every filter, whatever the outcome
//
// Every hook runs on the filters in chain order. A message without a body gets no data hook; a
// body ends either with a data hook whose `end_stream` is true or with the trailers hook.
// Request body hooks run once per request, on the bytes from the client (a retried try sends
// what they passed on again, without running them again). Response hooks run on the response
// that goes to the client only: a try whose response the router retries is never seen. The
// proxy's own answers (local replies) do not go through the response hooks. An upgraded stream
// (101, WebSocket) gets no body hooks: after the 101 its bytes are a tunnel's.
//
// Stopping (FilterStatus::kStop):
// - onRequestHeaders: the filter answered (StreamCtx::sendLocalReply) or holds the request and
//   calls StreamCtx::resume() later (a delay, an outside check). While held, request body and
//   trailers wait, at most kMaxHeldBodyBytes of body (then the client is no longer read); on
//   resume the next filter's onRequestHeaders runs, then the body hooks on what was held.
// - onResponseHeaders: the same for the response, possible because nothing of it has gone to
//   the client yet: answer with sendLocalReply instead of this response, or hold it and
//   resume(). While held, response body and trailers wait, at most kMaxHeldBodyBytes of body
//   (then the upstream is no longer read). The route's timeouts keep running meanwhile.
// - a body or trailers hook: only to answer. On the request side (nothing of the response has
//   left yet) sendLocalReply answers the client; on the response side the head has gone, so
//   sendLocalReply resets the stream instead (the client sees the response cut short). A body
//   or trailers hook that returns kStop without answering breaks the contract: the stream is
//   reset, with a line in the decision trail.
// After kStop no later filter sees that event. A filter that answers should return kStop; the
// chain stops anyway once the stream has ended.
//
// Which hooks run: onRequestHeaders, onResponseHeaders and onDone always. The body and trailers
// hooks cost a virtual call per chunk, so they run only for a filter whose factory lists them
// in hooks(): a route whose filters list none of them costs nothing per body chunk.
//
// Threading: a filter lives on its stream's worker thread; every call happens there (shared()
// filters: see HttpFilterFactory). No hook may block.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/message.h"
#include "common/stats.h"
#include "common/timer.h"
#include "filters/api/stream_info.h"

namespace remora::filters {

enum class FilterStatus : uint8_t {
  kContinue,  // on to the next filter (after the last one: on to the router, or the client)
  kStop,      // see "Stopping" above
};

// What a filter holds back at most while it holds a request or a response, per stream.
inline constexpr size_t kMaxHeldBodyBytes = 64 * 1024;

// The optional hooks a factory asks for (HttpFilterFactory::hooks), as bits.
enum Hook : uint8_t {
  kRequestDataHook = 1u << 0,
  kRequestTrailersHook = 1u << 1,
  kResponseDataHook = 1u << 2,
  kResponseTrailersHook = 1u << 3,
};
using HookMask = uint8_t;

// A response the proxy makes itself, with more control than a bare reason: a fixed status,
// headers (e.g. retry-after) and a body of its own (e.g. a fallback response).
struct LocalReply {
  Reason reason = Reason::kNone;
  uint16_t status = 0;      // 0: reasonStatus(reason)
  std::string_view detail;  // body "<reason>: <detail>\n" unless `body` is set
  bool has_body = false;
  std::string_view body;  // used as it is when has_body
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// A piece of a message body as a body hook sees it. data() is valid during the hook only. A
// filter may replace the piece with bytes of its own: the later filters and the peer see those
// instead (empty: the piece is dropped, the stream goes on). A filter that changes the body's
// length must have removed `content-length` in its headers hook (head.headers.remove and
// content_length = -1), before the head left.
class BodyChunk {
 public:
  BodyChunk(std::string_view data, std::string& storage) noexcept
      : data_(data), storage_(&storage) {}
  std::string_view data() const noexcept { return data_; }
  size_t size() const noexcept { return data_.size(); }
  void replace(std::string bytes) {
    *storage_ = std::move(bytes);
    data_ = *storage_;
  }

 private:
  std::string_view data_;
  std::string* storage_;  // the chain's, reused from chunk to chunk
};

// The stream as a filter sees it. Implemented by the sidecar; valid until the filter's onDone.
class StreamCtx {
 public:
  // Answers the request here: status from the reason (or `status` when non-zero), the
  // x-remora-reason header, and `detail` in the body. The chain stops. Once the response head
  // has gone to the client (response body and trailers hooks) it resets the stream instead.
  virtual void sendLocalReply(Reason reason, std::string_view detail = {},
                              uint16_t status = 0) noexcept = 0;
  // The same with headers and/or a body of the filter's own.
  virtual void sendLocalReply(const LocalReply& reply) noexcept = 0;
  // Goes on with the chain after the filter returned kStop from onRequestHeaders or
  // onResponseHeaders without answering (the side that is held: only one can be). Call once,
  // later (a timer, a callback); not from inside the hook that stopped. A no-op once the
  // stream has ended.
  virtual void resume() noexcept = 0;
  virtual StreamInfo& info() noexcept = 0;
  // A timer on the stream's worker thread (stopped and freed with the returned object; stop it
  // in onDone at the latest).
  virtual std::unique_ptr<common::Timer> createTimer(std::function<void()> cb) = 0;
  // The worker's stats shard.
  virtual common::StatsShard& stats() noexcept = 0;
  // A uniformly distributed random number (per-worker generator).
  virtual uint64_t random() noexcept = 0;
  // The client's address without port ("10.0.0.7", "::1").
  virtual std::string_view downstreamHost() noexcept = 0;

 protected:
  ~StreamCtx() = default;
};

class HttpFilter {
 public:
  virtual ~HttpFilter() = default;
  // The request head, before routing to an endpoint; the filter may change it.
  virtual FilterStatus onRequestHeaders(http::RequestHead& /*head*/, StreamCtx& /*ctx*/) noexcept {
    return FilterStatus::kContinue;
  }
  // A piece of the request body (kRequestDataHook); `end_stream`: the last one (may be empty).
  virtual FilterStatus onRequestData(BodyChunk& /*chunk*/, bool /*end_stream*/,
                                     StreamCtx& /*ctx*/) noexcept {
    return FilterStatus::kContinue;
  }
  // The request trailers, which end the request (kRequestTrailersHook); they may be changed.
  virtual FilterStatus onRequestTrailers(common::HeaderMap& /*trailers*/,
                                         StreamCtx& /*ctx*/) noexcept {
    return FilterStatus::kContinue;
  }
  // The final response head (not 1xx, not a 101), before it goes to the client; the filter may
  // change it. `end_stream`: the response has no body. The default calls the short form below.
  virtual FilterStatus onResponseHeaders(http::ResponseHead& head, bool /*end_stream*/,
                                         StreamCtx& ctx) noexcept {
    onResponseHeaders(head, ctx);
    return FilterStatus::kContinue;
  }
  // The short form, for a filter that only reads or edits the response head.
  virtual void onResponseHeaders(http::ResponseHead& /*head*/, StreamCtx& /*ctx*/) noexcept {}
  // A piece of the response body (kResponseDataHook); `end_stream`: the last one (may be empty).
  virtual FilterStatus onResponseData(BodyChunk& /*chunk*/, bool /*end_stream*/,
                                      StreamCtx& /*ctx*/) noexcept {
    return FilterStatus::kContinue;
  }
  // The response trailers, which end the response (kResponseTrailersHook); they may be
  // changed (gRPC: grpc-status lives here).
  virtual FilterStatus onResponseTrailers(common::HeaderMap& /*trailers*/,
                                          StreamCtx& /*ctx*/) noexcept {
    return FilterStatus::kContinue;
  }
  // The stream is over. The last call: stop timers here.
  virtual void onDone(const StreamInfo& /*info*/) noexcept {}
};

class HttpFilterFactory {
 public:
  virtual ~HttpFilterFactory() = default;
  virtual std::string_view name() const noexcept = 0;
  // One filter for one stream (worker thread). Must not fail.
  virtual std::unique_ptr<HttpFilter> create() const = 0;
  // A filter without per-stream state may instead be one instance that serves every stream of
  // every worker (no allocation per request). Non-null: streams use it and create() is not
  // called; its hooks then run on several threads at once and must only read its config or use
  // thread-safe state.
  virtual HttpFilter* shared() const noexcept { return nullptr; }
  // The optional hooks its filters implement (Hook bits); the others are never called. Read
  // once per stream: it must be the same for every call.
  virtual HookMask hooks() const noexcept { return 0; }
};

using FilterFactories = std::vector<std::shared_ptr<const HttpFilterFactory>>;

}  // namespace remora::filters
