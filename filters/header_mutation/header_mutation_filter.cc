#include "filters/header_mutation/header_mutation_filter.h"

namespace remora::filters::header_mutation {

void Mutation::apply(common::HeaderMap& headers) const {
  for (const std::string& name : remove) {
    headers.remove(name);
  }
  for (const auto& [name, value] : set) {
    headers.set(name, value);
  }
  for (const auto& [name, value] : add) {
    headers.add(name, value);
  }
}

FilterStatus HeaderMutationFilter::onRequestHeaders(http::RequestHead& head,
                                                    StreamCtx& ctx) noexcept {
  config_.request.apply(head.headers);
  if (config_.rewrite && head.path.compare(0, config_.prefix.size(), config_.prefix) == 0) {
    std::string url = config_.prefix_rewrite + head.path.substr(config_.prefix.size());
    if (url.empty() || url.front() != '/') {
      url.insert(url.begin(), '/');
    }
    ctx.info().note("path rewritten to " + url);
    head.path = std::move(url);
  }
  return FilterStatus::kContinue;
}

void HeaderMutationFilter::onResponseHeaders(http::ResponseHead& head, StreamCtx&) noexcept {
  config_.response.apply(head.headers);
}

}  // namespace remora::filters::header_mutation
