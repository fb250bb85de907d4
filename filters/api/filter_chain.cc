#include "filters/api/filter_chain.h"

namespace remora::filters {

void FilterChain::start(const FilterFactories& factories) {
  filters_.clear();
  owned_.clear();
  next_ = 0;
  finished_ = false;
  for (const auto& f : factories) {
    if (HttpFilter* shared = f->shared()) {
      filters_.push_back(shared);
    } else {
      owned_.push_back(f->create());
      filters_.push_back(owned_.back().get());
    }
  }
}

bool FilterChain::runRequest(http::RequestHead& head, StreamCtx& ctx) {
  while (next_ < filters_.size()) {
    HttpFilter& f = *filters_[next_++];
    if (f.onRequestHeaders(head, ctx) == FilterStatus::kStop) {
      return false;
    }
  }
  return true;
}

void FilterChain::runResponse(http::ResponseHead& head, StreamCtx& ctx) {
  for (HttpFilter* f : filters_) {
    f->onResponseHeaders(head, ctx);
  }
}

void FilterChain::finish(const StreamInfo& info) {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (HttpFilter* f : filters_) {
    f->onDone(info);
  }
}

}  // namespace remora::filters
