#pragma once
// The example filter of docs/writing-a-filter.md, test-only: a request body size limit. A
// request whose body goes past `max_bytes` is answered 413 as soon as the limit is crossed (or
// at once when its Content-Length says so); the response trailers, when there are any, report
// the body size the filter counted (x-request-body-bytes).

#include <cstdint>
#include <memory>
#include <string>

#include "filters/api/http_filter.h"

namespace remora::filters::body_limit {

struct BodyLimitConfig {
  uint64_t max_bytes = 0;
};

class BodyLimitFilter final : public HttpFilter {
 public:
  explicit BodyLimitFilter(const BodyLimitConfig& config) : config_(config) {}

  FilterStatus onRequestHeaders(http::RequestHead& head, StreamCtx& ctx) noexcept override {
    if (head.content_length > 0 && static_cast<uint64_t>(head.content_length) > config_.max_bytes) {
      return tooLarge(ctx);
    }
    return FilterStatus::kContinue;
  }

  FilterStatus onRequestData(BodyChunk& chunk, bool /*end_stream*/,
                             StreamCtx& ctx) noexcept override {
    seen_ += chunk.size();
    return seen_ > config_.max_bytes ? tooLarge(ctx) : FilterStatus::kContinue;
  }

  FilterStatus onResponseTrailers(common::HeaderMap& trailers, StreamCtx&) noexcept override {
    trailers.set("x-request-body-bytes", std::to_string(seen_));
    return FilterStatus::kContinue;
  }

 private:
  FilterStatus tooLarge(StreamCtx& ctx) noexcept {
    ctx.info().note("request body over " + std::to_string(config_.max_bytes) + " bytes");
    ctx.sendLocalReply(Reason::kBadRequest, "request body too large", 413);
    return FilterStatus::kStop;
  }

  const BodyLimitConfig& config_;
  uint64_t seen_ = 0;  // per stream: hence create(), not shared()
};

class BodyLimitFactory final : public HttpFilterFactory {
 public:
  explicit BodyLimitFactory(BodyLimitConfig config) : config_(config) {}
  std::string_view name() const noexcept override { return "body_limit"; }
  std::unique_ptr<HttpFilter> create() const override {
    return std::make_unique<BodyLimitFilter>(config_);
  }
  HookMask hooks() const noexcept override { return kRequestDataHook | kResponseTrailersHook; }

 private:
  BodyLimitConfig config_;
};

}  // namespace remora::filters::body_limit
