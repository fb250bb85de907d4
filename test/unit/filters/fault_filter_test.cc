// Fault filter and filter chain, against a fake stream context on a real (timer-only) loop.

#include "filters/fault/fault_filter.h"

#include <gtest/gtest.h>

#include "common/event_loop.h"
#include "filters/api/filter_chain.h"
#include "test/unit/filters/fake_stream_ctx.h"

namespace remora::filters {
namespace {

using FakeCtx = fakes::FakeStreamCtx;

fault::FaultConfig config(common::StatsStore& stats, double delay_pct, uint64_t delay_ms,
                          double abort_pct, uint16_t status = 503, bool header_trigger = false) {
  fault::FaultConfig c;
  c.route = "r";
  c.delay_per_million = static_cast<uint32_t>(delay_pct * 10000);
  c.delay_ms = delay_ms;
  c.abort_per_million = static_cast<uint32_t>(abort_pct * 10000);
  c.abort_status = status;
  c.header_trigger = header_trigger;
  c.delays = stats.counter("remora_fault_injected_total", {{"route", "r"}, {"kind", "delay"}});
  c.aborts = stats.counter("remora_fault_injected_total", {{"route", "r"}, {"kind", "abort"}});
  return c;
}

TEST(FaultFilterTest, AbortsTheConfiguredShareOfRequests) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  fault::FaultFilterFactory factory(config(ctx.store(), 0, 0, 10, 418));
  int aborted = 0;
  for (int i = 0; i < 10000; ++i) {
    ctx.replied = false;
    http::RequestHead head;
    auto f = factory.create();
    FilterStatus s = f->onRequestHeaders(head, ctx);
    if (s == FilterStatus::kStop) {
      ASSERT_TRUE(ctx.replied);
      EXPECT_EQ(ctx.reply_status, 418);
      EXPECT_EQ(ctx.reply_reason, Reason::kFaultInjected);
      ++aborted;
    }
  }
  EXPECT_NEAR(aborted, 1000, 150);  // 10% of 10,000
  EXPECT_EQ(ctx.store().valueOf("remora_fault_injected_total", {{"route", "r"}, {"kind", "abort"}}),
            aborted);
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(FaultFilterTest, DelayHoldsTheRequestThenResumes) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  fault::FaultFilterFactory factory(config(ctx.store(), 100, 30, 0));
  http::RequestHead head;
  auto f = factory.create();
  // The delay's timer counts from the loop's cached time: bring it up to now first, or a stale
  // cache makes the timer fire before 30 ms of real time have passed since `start`.
  uv_update_time(loop.uv());
  uint64_t start = uv_hrtime();
  ASSERT_EQ(f->onRequestHeaders(head, ctx), FilterStatus::kStop);
  EXPECT_EQ(ctx.resumed, 0);
  while (ctx.resumed == 0 && uv_hrtime() - start < 2000000000ULL) {
    uv_run(loop.uv(), UV_RUN_ONCE);
  }
  EXPECT_EQ(ctx.resumed, 1);
  EXPECT_GE((uv_hrtime() - start) / 1000000, 29u);
  EXPECT_FALSE(ctx.replied);
  f.reset();
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(FaultFilterTest, DelayThenAbortAnswersAfterTheDelay) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  fault::FaultFilterFactory factory(config(ctx.store(), 100, 10, 100, 503));
  http::RequestHead head;
  auto f = factory.create();
  ASSERT_EQ(f->onRequestHeaders(head, ctx), FilterStatus::kStop);
  EXPECT_FALSE(ctx.replied);
  for (int i = 0; i < 200 && !ctx.replied; ++i) {
    uv_run(loop.uv(), UV_RUN_ONCE);
  }
  EXPECT_TRUE(ctx.replied);
  EXPECT_EQ(ctx.resumed, 0);
  f.reset();
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(FaultFilterTest, HeadersTriggerFaultsOnlyWhenAllowedAndAreRemoved) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  fault::FaultFilterFactory off(config(ctx.store(), 0, 0, 0, 503, false));
  fault::FaultFilterFactory on(config(ctx.store(), 0, 0, 0, 503, true));
  http::RequestHead head;
  head.headers.add("x-remora-fault-abort", "429");
  EXPECT_EQ(off.create()->onRequestHeaders(head, ctx), FilterStatus::kContinue);
  EXPECT_TRUE(head.headers.has("x-remora-fault-abort"));
  EXPECT_EQ(on.create()->onRequestHeaders(head, ctx), FilterStatus::kStop);
  EXPECT_EQ(ctx.reply_status, 429);
  EXPECT_FALSE(head.headers.has("x-remora-fault-abort"));
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(FaultFilterTest, StoppingTheStreamCancelsAPendingDelay) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  fault::FaultFilterFactory factory(config(ctx.store(), 100, 10, 0));
  http::RequestHead head;
  auto f = factory.create();
  ASSERT_EQ(f->onRequestHeaders(head, ctx), FilterStatus::kStop);
  f->onDone(ctx.info());
  for (int i = 0; i < 5; ++i) {
    uv_run(loop.uv(), UV_RUN_NOWAIT);
  }
  uint64_t start = uv_hrtime();
  while (uv_hrtime() - start < 30000000ULL) {
    uv_run(loop.uv(), UV_RUN_NOWAIT);
  }
  EXPECT_EQ(ctx.resumed, 0);
  f.reset();
  EXPECT_EQ(loop.closeAll(), 0);
}

// A filter that stops the first time and continues after.
class StopOnce final : public HttpFilter {
 public:
  explicit StopOnce(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  FilterStatus onRequestHeaders(http::RequestHead&, StreamCtx&) noexcept override {
    log_->push_back(name_ + ".request");
    return name_ == "stopper" ? FilterStatus::kStop : FilterStatus::kContinue;
  }
  void onResponseHeaders(http::ResponseHead&, StreamCtx&) noexcept override {
    log_->push_back(name_ + ".response");
  }
  void onDone(const StreamInfo&) noexcept override { log_->push_back(name_ + ".done"); }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

class StopOnceFactory final : public HttpFilterFactory {
 public:
  StopOnceFactory(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  std::unique_ptr<HttpFilter> create() const override {
    return std::make_unique<StopOnce>(log_, name_);
  }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

TEST(FilterChainTest, ResumeContinuesAfterTheFilterThatStoppedAndDoneRunsOnce) {
  common::EventLoop loop;
  FakeCtx ctx(loop);
  std::vector<std::string> log;
  FilterFactories factories = {std::make_shared<StopOnceFactory>(&log, "a"),
                               std::make_shared<StopOnceFactory>(&log, "stopper"),
                               std::make_shared<StopOnceFactory>(&log, "b")};
  FilterChain chain;
  chain.start(factories);
  http::RequestHead head;
  EXPECT_FALSE(chain.runRequest(head, ctx));
  EXPECT_TRUE(chain.runRequest(head, ctx));  // the resume
  http::ResponseHead response;
  chain.runResponse(response, ctx);
  chain.finish(ctx.info());
  chain.finish(ctx.info());
  EXPECT_EQ(log, (std::vector<std::string>{"a.request", "stopper.request", "b.request",
                                           "a.response", "stopper.response", "b.response",
                                           "a.done", "stopper.done", "b.done"}));
  EXPECT_EQ(loop.closeAll(), 0);
}

}  // namespace
}  // namespace remora::filters
