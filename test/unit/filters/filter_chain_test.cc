// FilterChain: hook order on both sides, stops and resumes, the optional-hook mask, body
// replacement, onDone once; the example filter of docs/writing-a-filter.md; the registry.

#include "filters/api/filter_chain.h"

#include <gtest/gtest.h>

#include "filters/registry.h"
#include "test/unit/filters/body_limit_filter.h"

namespace remora::filters {
namespace {

// A StreamCtx that, like the sidecar's stream, ends the chain (onDone) when a filter answers.
class ChainCtx final : public StreamCtx {
 public:
  explicit ChainCtx(FilterChain& chain) : chain_(chain) {}
  void sendLocalReply(Reason reason, std::string_view detail, uint16_t status) noexcept override {
    LocalReply r;
    r.reason = reason;
    r.detail = detail;
    r.status = status;
    sendLocalReply(r);
  }
  void sendLocalReply(const LocalReply& r) noexcept override {
    ++replies;
    reply_status = r.status != 0 ? r.status : reasonStatus(r.reason);
    chain_.finish(info_);
  }
  void resume() noexcept override { ++resumed; }
  StreamInfo& info() noexcept override { return info_; }
  std::unique_ptr<common::Timer> createTimer(std::function<void()>) override { return nullptr; }
  common::StatsShard& stats() noexcept override { return stats_.shard(0); }
  uint64_t random() noexcept override { return 4; }
  std::string_view downstreamHost() noexcept override { return "127.0.0.1"; }

  int replies = 0;
  uint16_t reply_status = 0;
  int resumed = 0;

 private:
  FilterChain& chain_;
  StreamInfo info_;
  common::StatsStore stats_{1};
};

// What a Recorder does at each hook.
struct Script {
  HookMask hooks =
      kRequestDataHook | kRequestTrailersHook | kResponseDataHook | kResponseTrailersHook;
  bool stop_request_headers = false;
  bool stop_response_headers = false;
  bool answer_in_request_data = false;
  bool answer_in_response_headers = false;
  bool answer_but_continue = false;  // answers in onRequestHeaders and (wrongly) continues
  std::string replace_request_data;  // non-empty: the request piece becomes this
};

// Logs "<name>.<hook>[:<data>]" for every call, and does what its script says.
class Recorder final : public HttpFilter {
 public:
  Recorder(std::vector<std::string>* log, std::string name, const Script& script)
      : log_(log), name_(std::move(name)), script_(script) {}
  FilterStatus onRequestHeaders(http::RequestHead&, StreamCtx& ctx) noexcept override {
    record("request_headers");
    if (script_.answer_but_continue) {
      ctx.sendLocalReply(Reason::kFaultInjected);
      return FilterStatus::kContinue;
    }
    return stopIf(script_.stop_request_headers && !stopped_request_++);
  }
  FilterStatus onRequestData(BodyChunk& chunk, bool end_stream, StreamCtx& ctx) noexcept override {
    record("request_data:" + std::string(chunk.data()) + (end_stream ? "$" : ""));
    if (script_.answer_in_request_data) {
      ctx.sendLocalReply(Reason::kBadRequest, "no", 413);
      return FilterStatus::kStop;
    }
    if (!script_.replace_request_data.empty()) {
      chunk.replace(script_.replace_request_data);
    }
    return FilterStatus::kContinue;
  }
  FilterStatus onRequestTrailers(common::HeaderMap& trailers, StreamCtx&) noexcept override {
    record("request_trailers");
    sign(trailers);
    return FilterStatus::kContinue;
  }
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream,
                                 StreamCtx& ctx) noexcept override {
    record(std::string("response_headers") + (end_stream ? "$" : ""));
    if (script_.answer_in_response_headers) {
      ctx.sendLocalReply(Reason::kNoHealthyUpstream, "fallback", 200);
      return FilterStatus::kStop;
    }
    sign(head.headers);
    return stopIf(script_.stop_response_headers && !stopped_response_++);
  }
  FilterStatus onResponseData(BodyChunk& chunk, bool end_stream, StreamCtx&) noexcept override {
    record("response_data:" + std::string(chunk.data()) + (end_stream ? "$" : ""));
    return FilterStatus::kContinue;
  }
  FilterStatus onResponseTrailers(common::HeaderMap&, StreamCtx&) noexcept override {
    record("response_trailers");
    return FilterStatus::kContinue;
  }
  void onDone(const StreamInfo&) noexcept override { record("done"); }

 private:
  void record(const std::string& what) { log_->push_back(name_ + "." + what); }
  // Appends the filter's name to x-seen-by: the fields a hook may change are the ones the
  // next filter and the peer see.
  void sign(common::HeaderMap& fields) {
    fields.set("x-seen-by", std::string(fields.get("x-seen-by")) + name_);
  }
  static FilterStatus stopIf(bool stop) {
    return stop ? FilterStatus::kStop : FilterStatus::kContinue;
  }
  std::vector<std::string>* log_;
  std::string name_;
  Script script_;
  int stopped_request_ = 0;
  int stopped_response_ = 0;
};

class RecorderFactory final : public HttpFilterFactory {
 public:
  RecorderFactory(std::vector<std::string>* log, std::string name, Script script = {})
      : log_(log), name_(std::move(name)), script_(std::move(script)) {}
  std::string_view name() const noexcept override { return name_; }
  std::unique_ptr<HttpFilter> create() const override {
    return std::make_unique<Recorder>(log_, name_, script_);
  }
  HookMask hooks() const noexcept override { return script_.hooks; }

 private:
  std::vector<std::string>* log_;
  std::string name_;
  Script script_;
};

struct ChainTest : ::testing::Test {
  std::shared_ptr<RecorderFactory> recorder(std::string name, Script script = {}) {
    return std::make_shared<RecorderFactory>(&log, std::move(name), std::move(script));
  }
  std::vector<std::string> log;
  FilterChain chain;
  ChainCtx ctx{chain};
  http::RequestHead request;
  http::ResponseHead response;
};

TEST_F(ChainTest, EveryHookRunsInChainOrderAndDoneRunsOnce) {
  chain.start({recorder("a"), recorder("b")});
  std::string_view piece = "xy";
  common::HeaderMap trailers;
  EXPECT_TRUE(chain.runRequestHeaders(request, ctx));
  EXPECT_TRUE(chain.runRequestData(piece, false, ctx));
  EXPECT_TRUE(chain.runRequestTrailers(trailers, ctx));
  EXPECT_TRUE(chain.runResponseHeaders(response, false, ctx));
  EXPECT_TRUE(chain.runResponseData(piece, true, ctx));
  EXPECT_TRUE(chain.runResponseTrailers(trailers, ctx));
  chain.finish(ctx.info());
  chain.finish(ctx.info());
  EXPECT_EQ(log,
            (std::vector<std::string>{
                "a.request_headers", "b.request_headers", "a.request_data:xy", "b.request_data:xy",
                "a.request_trailers", "b.request_trailers", "a.response_headers",
                "b.response_headers", "a.response_data:xy$", "b.response_data:xy$",
                "a.response_trailers", "b.response_trailers", "a.done", "b.done"}));
  EXPECT_EQ(trailers.get("x-seen-by"), "ab");  // trailers may be changed, in chain order
  EXPECT_EQ(response.headers.get("x-seen-by"), "ab");
}

TEST_F(ChainTest, OptionalHooksRunOnlyOnFiltersThatAskForThem) {
  Script headers_only;
  headers_only.hooks = 0;
  Script data_only;
  data_only.hooks = kResponseDataHook;
  chain.start({recorder("quiet", headers_only), recorder("data", data_only)});
  EXPECT_FALSE(chain.wants(kRequestDataHook));
  EXPECT_FALSE(chain.wants(kRequestTrailersHook));
  EXPECT_TRUE(chain.wants(kResponseDataHook));
  EXPECT_FALSE(chain.wants(kResponseTrailersHook));
  std::string_view piece = "p";
  EXPECT_TRUE(chain.runResponseData(piece, false, ctx));
  EXPECT_EQ(log, (std::vector<std::string>{"data.response_data:p"}));

  chain.start({recorder("quiet", headers_only)});
  EXPECT_FALSE(chain.wants(kRequestDataHook));
  EXPECT_FALSE(chain.wants(kResponseDataHook));
  chain.start({});
  EXPECT_FALSE(chain.wants(kResponseTrailersHook));
  EXPECT_TRUE(chain.empty());
}

TEST_F(ChainTest, ARequestHeldByAFilterResumesAfterIt) {
  Script stop;
  stop.stop_request_headers = true;
  chain.start({recorder("a"), recorder("holder", stop), recorder("b")});
  EXPECT_FALSE(chain.runRequestHeaders(request, ctx));
  EXPECT_EQ(log.back(), "holder.request_headers");
  EXPECT_TRUE(chain.runRequestHeaders(request, ctx));  // the resume
  EXPECT_EQ(log, (std::vector<std::string>{"a.request_headers", "holder.request_headers",
                                           "b.request_headers"}));
}

TEST_F(ChainTest, AResponseHeldByAFilterResumesAfterItWithItsChanges) {
  Script stop;
  stop.stop_response_headers = true;
  chain.start({recorder("a"), recorder("holder", stop), recorder("b")});
  EXPECT_TRUE(chain.runRequestHeaders(request, ctx));
  log.clear();
  EXPECT_FALSE(chain.runResponseHeaders(response, true, ctx));
  EXPECT_EQ(log, (std::vector<std::string>{"a.response_headers$", "holder.response_headers$"}));
  EXPECT_TRUE(chain.runResponseHeaders(response, true, ctx));  // the resume
  EXPECT_EQ(log.back(), "b.response_headers$");
  EXPECT_EQ(log.size(), 3u);  // a and holder did not run again
  EXPECT_EQ(response.headers.get("x-seen-by"), "aholderb");
}

TEST_F(ChainTest, AFilterAnsweringInsteadOfTheResponseEndsTheChain) {
  Script answer;
  answer.answer_in_response_headers = true;
  chain.start({recorder("a"), recorder("fallback", answer), recorder("b")});
  EXPECT_FALSE(chain.runResponseHeaders(response, false, ctx));
  EXPECT_EQ(ctx.replies, 1);
  EXPECT_EQ(ctx.reply_status, 200);
  EXPECT_EQ(log, (std::vector<std::string>{"a.response_headers", "fallback.response_headers",
                                           "a.done", "fallback.done", "b.done"}));
  EXPECT_TRUE(chain.finished());
}

TEST_F(ChainTest, AnAnswerStopsTheChainEvenWhenTheFilterContinues) {
  Script wrong;
  wrong.answer_but_continue = true;
  chain.start({recorder("wrong", wrong), recorder("b")});
  EXPECT_FALSE(chain.runRequestHeaders(request, ctx));
  EXPECT_EQ(log, (std::vector<std::string>{"wrong.request_headers", "wrong.done", "b.done"}));
}

TEST_F(ChainTest, ABodyHookThatAnswersStopsThePiece) {
  Script answer;
  answer.answer_in_request_data = true;
  chain.start({recorder("limit", answer), recorder("b")});
  std::string_view piece = "big";
  EXPECT_FALSE(chain.runRequestData(piece, false, ctx));
  EXPECT_EQ(ctx.reply_status, 413);
  EXPECT_EQ(log, (std::vector<std::string>{"limit.request_data:big", "limit.done", "b.done"}));
}

TEST_F(ChainTest, AReplacedBodyPieceIsWhatLaterFiltersAndTheCallerSee) {
  Script rewrite;
  rewrite.replace_request_data = "REDACTED";
  chain.start({recorder("rewrite", rewrite), recorder("b")});
  std::string original = "secret";
  std::string_view piece = original;
  EXPECT_TRUE(chain.runRequestData(piece, true, ctx));
  EXPECT_EQ(piece, "REDACTED");
  EXPECT_EQ(original, "secret");  // the caller's bytes are not written to
  EXPECT_EQ(log.back(), "b.request_data:REDACTED$");
}

// The example filter of docs/writing-a-filter.md.
TEST_F(ChainTest, BodyLimitAnswers413OnceTheBodyCrossesTheLimit) {
  // The factory outlives the stream's filters, as a snapshot's factories do.
  auto limit = std::make_shared<body_limit::BodyLimitFactory>(body_limit::BodyLimitConfig{10});
  chain.start({limit, recorder("after")});
  EXPECT_TRUE(chain.wants(kRequestDataHook));
  EXPECT_TRUE(chain.runRequestHeaders(request, ctx));  // no content-length: the body decides
  std::string_view piece = "123456";
  EXPECT_TRUE(chain.runRequestData(piece, false, ctx));
  EXPECT_EQ(ctx.replies, 0);
  piece = "7890X";
  EXPECT_FALSE(chain.runRequestData(piece, false, ctx));
  EXPECT_EQ(ctx.replies, 1);
  EXPECT_EQ(ctx.reply_status, 413);
  EXPECT_EQ(ctx.info().trail.back(), "request body over 10 bytes");
  EXPECT_EQ(log, (std::vector<std::string>{"after.request_headers", "after.request_data:123456",
                                           "after.done"}));
}

TEST_F(ChainTest, BodyLimitAnswersAtOnceFromContentLengthAndReportsTheBodyInTrailers) {
  // The factory outlives the streams' filters, as a snapshot's factories do.
  auto limit = std::make_shared<body_limit::BodyLimitFactory>(body_limit::BodyLimitConfig{10});
  chain.start({limit});
  request.content_length = 11;
  EXPECT_FALSE(chain.runRequestHeaders(request, ctx));
  EXPECT_EQ(ctx.reply_status, 413);

  FilterChain second;
  ChainCtx ctx2(second);
  second.start({limit});
  request.content_length = 4;
  EXPECT_TRUE(second.runRequestHeaders(request, ctx2));
  std::string_view piece = "abcd";
  EXPECT_TRUE(second.runRequestData(piece, true, ctx2));
  common::HeaderMap trailers;
  trailers.add("grpc-status", "0");
  EXPECT_TRUE(second.runResponseTrailers(trailers, ctx2));
  EXPECT_EQ(trailers.get("x-request-body-bytes"), "4");
  EXPECT_EQ(ctx2.replies, 0);
}

TEST(RouteFilterRegistryTest, BuildsTheRoutesFiltersInTableOrderSkippingAbsentPolicies) {
  std::vector<std::string_view> names;
  for (const RouteFilterEntry& e : routeFilters()) {
    names.push_back(e.name);
  }
  EXPECT_EQ(names, (std::vector<std::string_view>{"rate_limit", "fault", "header_mutation"}));

  common::StatsStore stats(1);
  std::string route_name = "outbound/echo/0";
  config::v1::Route route;
  EXPECT_TRUE(buildRouteFilters(RouteFilterConfig{route, route_name, stats}).empty());

  route.mutable_rate_limit()->set_requests_per_unit(5);
  route.mutable_response_headers()->add_remove("server");
  FilterFactories chain = buildRouteFilters(RouteFilterConfig{route, route_name, stats});
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0]->name(), "rate_limit");
  EXPECT_EQ(chain[1]->name(), "header_mutation");
  for (const auto& factory : chain) {
    EXPECT_EQ(factory->hooks(), 0) << factory->name();  // header hooks only: free per chunk
  }
}

}  // namespace
}  // namespace remora::filters
