#pragma once
// Header mutation and prefix rewrite (per route): request headers removed / set / added and the
// path's matched prefix rewritten before the request goes upstream; response headers removed /
// set / added before the response goes to the client.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "filters/api/http_filter.h"

namespace remora::filters::header_mutation {

struct Mutation {
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, std::string>> set;  // sorted by name: a stable order
  std::vector<std::pair<std::string, std::string>> add;
  bool empty() const { return remove.empty() && set.empty() && add.empty(); }
  void apply(common::HeaderMap& headers) const;
};

struct MutationConfig {
  Mutation request;
  Mutation response;
  std::string prefix;          // the route's matched prefix (when rewriting)
  std::string prefix_rewrite;  // its replacement
  bool rewrite = false;
};

class HeaderMutationFilter final : public HttpFilter {
 public:
  explicit HeaderMutationFilter(const MutationConfig& config) : config_(config) {}
  FilterStatus onRequestHeaders(http::RequestHead& head, StreamCtx& ctx) noexcept override;
  void onResponseHeaders(http::ResponseHead& head, StreamCtx& ctx) noexcept override;

 private:
  const MutationConfig& config_;
};

class HeaderMutationFactory final : public HttpFilterFactory {
 public:
  explicit HeaderMutationFactory(MutationConfig config)
      : config_(std::move(config)), shared_(config_) {}
  std::string_view name() const noexcept override { return "header_mutation"; }
  std::unique_ptr<HttpFilter> create() const override {
    return std::make_unique<HeaderMutationFilter>(config_);
  }
  // Reads only its config: one filter for every stream.
  HttpFilter* shared() const noexcept override { return &shared_; }

 private:
  MutationConfig config_;
  mutable HeaderMutationFilter shared_;
};

}  // namespace remora::filters::header_mutation
