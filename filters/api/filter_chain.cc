#include "filters/api/filter_chain.h"

namespace remora::filters {

namespace {

using BodyHook = FilterStatus (HttpFilter::*)(BodyChunk&, bool, StreamCtx&) noexcept;
using TrailersHook = FilterStatus (HttpFilter::*)(common::HeaderMap&, StreamCtx&) noexcept;

// One optional hook on every filter that asked for it, in order, until one stops or the stream
// ends. `call(filter)` returns the hook's FilterStatus.
template <typename Call>
bool runOptional(const auto& filters, HookMask hook, const bool& finished, Call call) {
  for (const auto& e : filters) {
    if ((e.hooks & hook) == 0) {
      continue;
    }
    if (call(*e.filter) == FilterStatus::kStop || finished) {
      return false;
    }
  }
  return true;
}

// A body hook on a piece; `data` becomes what the filters passed on (a replaced piece lives in
// `storage`).
bool runBody(const auto& filters, HookMask hook, BodyHook fn, const bool& finished,
             std::string& storage, std::string_view& data, bool end_stream, StreamCtx& ctx) {
  BodyChunk chunk(data, storage);
  bool go_on = runOptional(filters, hook, finished,
                           [&](HttpFilter& f) { return (f.*fn)(chunk, end_stream, ctx); });
  data = chunk.data();
  return go_on;
}

bool runTrailers(const auto& filters, HookMask hook, TrailersHook fn, const bool& finished,
                 common::HeaderMap& trailers, StreamCtx& ctx) {
  return runOptional(filters, hook, finished,
                     [&](HttpFilter& f) { return (f.*fn)(trailers, ctx); });
}

}  // namespace

void FilterChain::start(const FilterFactories& factories) {
  filters_.clear();
  owned_.clear();
  next_request_ = 0;
  next_response_ = 0;
  hooks_ = 0;
  finished_ = false;
  for (const auto& f : factories) {
    HttpFilter* filter = f->shared();
    if (filter == nullptr) {
      owned_.push_back(f->create());
      filter = owned_.back().get();
    }
    HookMask hooks = f->hooks();
    filters_.push_back(Entry{filter, hooks});
    hooks_ |= hooks;
  }
}

bool FilterChain::runRequestHeaders(http::RequestHead& head, StreamCtx& ctx) {
  while (next_request_ < filters_.size()) {
    HttpFilter& f = *filters_[next_request_++].filter;
    if (f.onRequestHeaders(head, ctx) == FilterStatus::kStop || finished_) {
      return false;
    }
  }
  return true;
}

bool FilterChain::runRequestData(std::string_view& data, bool end_stream, StreamCtx& ctx) {
  return runBody(filters_, kRequestDataHook, &HttpFilter::onRequestData, finished_,
                 request_storage_, data, end_stream, ctx);
}

bool FilterChain::runRequestTrailers(common::HeaderMap& trailers, StreamCtx& ctx) {
  return runTrailers(filters_, kRequestTrailersHook, &HttpFilter::onRequestTrailers, finished_,
                     trailers, ctx);
}

bool FilterChain::runResponseHeaders(http::ResponseHead& head, bool end_stream, StreamCtx& ctx) {
  while (next_response_ < filters_.size()) {
    HttpFilter& f = *filters_[next_response_++].filter;
    if (f.onResponseHeaders(head, end_stream, ctx) == FilterStatus::kStop || finished_) {
      return false;
    }
  }
  return true;
}

bool FilterChain::runResponseData(std::string_view& data, bool end_stream, StreamCtx& ctx) {
  return runBody(filters_, kResponseDataHook, &HttpFilter::onResponseData, finished_,
                 response_storage_, data, end_stream, ctx);
}

bool FilterChain::runResponseTrailers(common::HeaderMap& trailers, StreamCtx& ctx) {
  return runTrailers(filters_, kResponseTrailersHook, &HttpFilter::onResponseTrailers, finished_,
                     trailers, ctx);
}

void FilterChain::finish(const StreamInfo& info) {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (const Entry& e : filters_) {
    e.filter->onDone(info);
  }
}

}  // namespace remora::filters
