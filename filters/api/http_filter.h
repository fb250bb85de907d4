#pragma once
// The data-plane SDK: what an HTTP filter is and what it may do to its stream.
//
// A route carries a chain of filter factories, built once per config snapshot from validated
// policy (config shared, read-only, by every worker). For each request the connection manager
// matches the route, asks each factory for a per-stream filter, and runs the chain on the
// request head before it picks an endpoint; on the response head in the same order; and calls
// onDone on every filter when the stream ends, whatever the outcome.
//
// Threading: a filter lives on its stream's worker thread; every call happens there.

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/message.h"
#include "common/stats.h"
#include "common/timer.h"
#include "filters/api/stream_info.h"

namespace remora::filters {

enum class FilterStatus : uint8_t {
  kContinue,  // on to the next filter (after the last one: pick an endpoint and send upstream)
  kStop,      // the filter answered (StreamCtx::sendLocalReply) or will call StreamCtx::resume()
};

// A response the proxy makes itself, with more control than a bare reason: a fixed status,
// headers (e.g. retry-after) and a body of its own (e.g. a fallback response).
struct LocalReply {
  Reason reason = Reason::kNone;
  uint16_t status = 0;             // 0: reasonStatus(reason)
  std::string_view detail;         // body "<reason>: <detail>\n" unless `body` is set
  bool has_body = false;
  std::string_view body;           // used as it is when has_body
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// The stream as a filter sees it. Implemented by the sidecar; valid until the filter's onDone.
class StreamCtx {
 public:
  // Answers the request here: status from the reason (or `status` when non-zero), the
  // x-remora-reason header, and `detail` in the body. The chain stops.
  virtual void sendLocalReply(Reason reason, std::string_view detail = {},
                              uint16_t status = 0) noexcept = 0;
  // The same with headers and/or a body of the filter's own.
  virtual void sendLocalReply(const LocalReply& reply) noexcept = 0;
  // Goes on with the chain after the filter returned kStop without answering. Call once; not
  // from inside onRequestHeaders itself. Meanwhile request body bytes are held (bounded).
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
  // The final response head (not 1xx), before it goes to the client; the filter may change it.
  virtual void onResponseHeaders(http::ResponseHead& /*head*/, StreamCtx& /*ctx*/) noexcept {}
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
};

using FilterFactories = std::vector<std::shared_ptr<const HttpFilterFactory>>;

}  // namespace remora::filters
