// Local rate limiting: the token bucket on explicit time, the shared limiter (per route and per
// source, bounded table), the filter against a fake stream, and the config checks.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/event_loop.h"
#include "filters/ratelimit/config.h"
#include "filters/ratelimit/rate_limit_filter.h"
#include "filters/ratelimit/rate_limiter.h"
#include "filters/ratelimit/token_bucket.h"
#include "test/unit/filters/fake_stream_ctx.h"
#include "xds/bootstrap_loader.h"

namespace remora::filters::ratelimit {
namespace {

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSecond = 1000 * kMs;
constexpr uint64_t kStart = 1000 * kSecond;  // an arbitrary monotonic clock reading

TEST(TokenBucketTest, StartsFullThenRefillsAtExactlyTheRate) {
  TokenBucket b(10, kSecond, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(b.tryTake(kStart)) << i;
  }
  EXPECT_FALSE(b.tryTake(kStart));
  EXPECT_EQ(b.nanosUntilToken(kStart), 100 * kMs);
  EXPECT_EQ(b.nanosUntilToken(kStart + 40 * kMs), 60 * kMs);
  EXPECT_FALSE(b.tryTake(kStart + 100 * kMs - 1));
  EXPECT_EQ(b.nanosUntilToken(kStart + 100 * kMs - 1), 1u);
  EXPECT_TRUE(b.tryTake(kStart + 100 * kMs));
  EXPECT_FALSE(b.tryTake(kStart + 100 * kMs));
  // Polled every millisecond for the next second: exactly 10 more.
  int taken = 0;
  for (uint64_t t = kStart + 101 * kMs; t <= kStart + 1100 * kMs; t += kMs) {
    taken += b.tryTake(t) ? 1 : 0;
  }
  EXPECT_EQ(taken, 10);
}

TEST(TokenBucketTest, NeverHoldsMoreThanItsCapacity) {
  TokenBucket b(10, kSecond, 5);
  EXPECT_EQ(b.tokens(kStart), 5u);
  EXPECT_TRUE(b.tryTake(kStart));
  EXPECT_EQ(b.tokens(kStart + 3600 * kSecond), 5u);
  int taken = 0;
  while (b.tryTake(kStart + 3600 * kSecond)) {
    ++taken;
  }
  EXPECT_EQ(taken, 5);
  // After a full bucket, refilling starts from the moment it was drained: no banked fraction.
  EXPECT_EQ(b.nanosUntilToken(kStart + 3600 * kSecond), 100 * kMs);
}

TEST(TokenBucketTest, RatesThatAreNoWholeNumberOfNanosecondsDoNotDrift) {
  // 3 per second: 333,333,333.3 ns per token. Taking each token as soon as it is there, every
  // third token lands on a whole second, however long this goes on. (A bucket of 2, so that it
  // is never full when a token arrives: a full bucket rightly drops what it earns beyond.)
  TokenBucket b(3, kSecond, 2);
  uint64_t t = kStart;
  ASSERT_TRUE(b.tryTake(t));
  ASSERT_TRUE(b.tryTake(t));
  for (int i = 1; i <= 30000; ++i) {
    const uint64_t wait = b.nanosUntilToken(t);
    ASSERT_GT(wait, 0u);
    ASSERT_FALSE(b.tryTake(t + wait - 1));
    t += wait;
    ASSERT_TRUE(b.tryTake(t)) << i;
    if (i % 3 == 0) {
      ASSERT_EQ(t - kStart, static_cast<uint64_t>(i / 3) * kSecond) << i;
    }
  }
}

TEST(TokenBucketTest, CountOverALongRunIsBurstPlusRateTimesTime) {
  // 7 per second polled every 0.9 ms for 100 s: a bucket of 5 never fills again, so nothing is
  // lost and the total is exactly burst + floor(7 x elapsed).
  TokenBucket b(7, kSecond, 5);
  uint64_t taken = 0;
  const uint64_t step = 900000;
  uint64_t t = kStart;
  for (; t <= kStart + 100 * kSecond; t += step) {
    while (b.tryTake(t)) {
      ++taken;
    }
  }
  t -= step;
  EXPECT_EQ(taken, 5 + (t - kStart) * 7 / kSecond);
}

TEST(TokenBucketTest, MinutesAndHoursAndHugeGapsDoNotOverflow) {
  TokenBucket per_minute(2, 60 * kSecond, 2);
  EXPECT_TRUE(per_minute.tryTake(kStart));
  EXPECT_TRUE(per_minute.tryTake(kStart));
  EXPECT_FALSE(per_minute.tryTake(kStart));
  EXPECT_EQ(per_minute.nanosUntilToken(kStart), 30 * kSecond);

  TokenBucket per_hour(UINT32_MAX, 3600 * kSecond, UINT32_MAX);
  EXPECT_TRUE(per_hour.tryTake(kStart));
  EXPECT_EQ(per_hour.tokens(UINT64_MAX), uint64_t{UINT32_MAX});

  TokenBucket slow(1, 3600 * kSecond, 1);
  EXPECT_TRUE(slow.tryTake(0));
  EXPECT_EQ(slow.nanosUntilToken(0), 3600 * kSecond);
  EXPECT_EQ(slow.tokens(UINT64_MAX), 1u);  // ~584 years later: one token, the capacity
}

TEST(TokenBucketTest, ClockGoingBackwardsCountsAsNoTime) {
  TokenBucket b(10, kSecond, 1);
  EXPECT_TRUE(b.tryTake(kStart));
  EXPECT_FALSE(b.tryTake(kStart - kSecond));
  EXPECT_EQ(b.nanosUntilToken(kStart - kSecond), 100 * kMs);
  EXPECT_TRUE(b.tryTake(kStart + 100 * kMs));
}

TEST(TokenBucketTest, NoRefillOrNoCapacityMeansNoTokenEver) {
  TokenBucket no_rate(0, kSecond, 1);
  EXPECT_TRUE(no_rate.tryTake(kStart));
  EXPECT_FALSE(no_rate.tryTake(kStart + 1000 * kSecond));
  EXPECT_EQ(no_rate.nanosUntilToken(kStart), UINT64_MAX);
  TokenBucket empty(10, kSecond, 0);
  EXPECT_FALSE(empty.tryTake(kStart));
  EXPECT_EQ(empty.nanosUntilToken(kStart), UINT64_MAX);
}

RateLimitSettings settings(uint32_t rate, uint32_t burst, bool per_source = false,
                           uint32_t max_sources = kDefaultMaxSources) {
  RateLimitSettings s;
  s.requests_per_unit = rate;
  s.unit_ns = kSecond;
  s.burst = burst;
  s.per_source = per_source;
  s.max_sources = max_sources;
  return s;
}

// Takes tokens for `source` at `t` until refused; returns how many were given.
int drain(RateLimiter& l, std::string_view source, uint64_t t) {
  int n = 0;
  while (l.acquire(source, t).allowed && n < 1000000) {
    ++n;
  }
  return n;
}

TEST(RateLimiterTest, OneBucketForTheRouteWhateverTheSource) {
  RateLimiter l(settings(10, 3));
  EXPECT_TRUE(l.acquire("10.0.0.1", kStart).allowed);
  EXPECT_TRUE(l.acquire("10.0.0.2", kStart).allowed);
  EXPECT_TRUE(l.acquire("", kStart).allowed);
  RateLimiter::Decision d = l.acquire("10.0.0.3", kStart);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 1u);
  EXPECT_EQ(l.trackedSources(), 0u);
}

TEST(RateLimiterTest, RetryAfterIsWholeSecondsRoundedUpAndAtLeastOne) {
  RateLimitSettings s = settings(1, 1);
  s.unit_ns = 60 * kSecond;
  RateLimiter l(s);
  EXPECT_TRUE(l.acquire("", kStart).allowed);
  EXPECT_EQ(l.acquire("", kStart).retry_after_s, 60u);
  EXPECT_EQ(l.acquire("", kStart + 30 * kSecond).retry_after_s, 30u);
  EXPECT_EQ(l.acquire("", kStart + 30 * kSecond + 1).retry_after_s, 30u);  // 29.999... s
  EXPECT_EQ(l.acquire("", kStart + 59 * kSecond + 500 * kMs).retry_after_s, 1u);
  EXPECT_EQ(l.acquire("", kStart + 60 * kSecond - 1).retry_after_s, 1u);
  EXPECT_TRUE(l.acquire("", kStart + 60 * kSecond).allowed);
}

TEST(RateLimiterTest, PerSourceBucketsAreIsolated) {
  RateLimiter l(settings(10, 4, /*per_source=*/true));
  EXPECT_EQ(drain(l, "10.0.0.1", kStart), 4);
  EXPECT_FALSE(l.acquire("10.0.0.1", kStart).allowed);
  EXPECT_EQ(drain(l, "10.0.0.2", kStart), 4);
  EXPECT_EQ(drain(l, "::1", kStart), 4);
  EXPECT_EQ(l.trackedSources(), 3u);
  // Each refills on its own.
  EXPECT_TRUE(l.acquire("10.0.0.1", kStart + 100 * kMs).allowed);
  EXPECT_FALSE(l.acquire("10.0.0.1", kStart + 100 * kMs).allowed);
  EXPECT_TRUE(l.acquire("10.0.0.2", kStart + 100 * kMs).allowed);
}

TEST(RateLimiterTest, BoundedTableEvictsTheLeastRecentlySeenSource) {
  RateLimiter l(settings(1, 2, /*per_source=*/true, /*max_sources=*/3));
  const uint64_t t = kStart;
  EXPECT_EQ(drain(l, "a", t), 2);
  EXPECT_EQ(drain(l, "b", t), 2);
  EXPECT_EQ(drain(l, "c", t), 2);
  EXPECT_FALSE(l.acquire("a", t).allowed);  // a is now the most recently seen: order a, c, b
  EXPECT_EQ(drain(l, "d", t), 2);           // evicts b
  EXPECT_EQ(l.trackedSources(), 3u);
  EXPECT_FALSE(l.acquire("a", t).allowed);  // still tracked, still empty
  EXPECT_FALSE(l.acquire("c", t).allowed);  // order c, a, d
  EXPECT_EQ(drain(l, "b", t), 2);           // back with a full bucket; evicts d
  EXPECT_EQ(drain(l, "d", t), 2);           // evicts a
  EXPECT_EQ(drain(l, "a", t), 2);
  EXPECT_EQ(l.trackedSources(), 3u);
}

TEST(RateLimiterTest, TableNeverGrowsPastItsBound) {
  RateLimiter l(settings(1, 1, /*per_source=*/true));  // default bound 10000
  for (int i = 0; i < 25000; ++i) {
    std::string src = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) +
                      "." + std::to_string(i % 256);
    EXPECT_TRUE(l.acquire(src, kStart).allowed);
  }
  EXPECT_EQ(l.trackedSources(), 10000u);
  EXPECT_FALSE(l.acquire("10.0.97.167", kStart).allowed);  // 24999: recent, still tracked
  EXPECT_TRUE(l.acquire("10.0.0.1", kStart).allowed);      // evicted long ago: full again
}

// A clock the tests move by hand.
uint64_t g_now = kStart;
uint64_t fakeNow() {
  return g_now;
}

RateLimitConfig filterConfig(common::StatsStore& stats, RateLimitSettings s) {
  RateLimitConfig c;
  c.route = "r";
  c.settings = s;
  c.note = "rate limited (" + std::to_string(s.requests_per_unit) + "/second, burst " +
           std::to_string(s.burst) + ")";
  c.limited = stats.counter("remora_ratelimited_total", {{"route", "r"}});
  c.clock = &fakeNow;
  return c;
}

std::string headerOf(const fakes::FakeStreamCtx& ctx, std::string_view name) {
  for (const auto& [k, v] : ctx.reply_headers) {
    if (k == name) {
      return v;
    }
  }
  return "<absent>";
}

TEST(RateLimitFilterTest, AnswersTooManyRequestsWithRetryAfterAndCountsIt) {
  common::EventLoop loop;
  fakes::FakeStreamCtx ctx(loop);
  g_now = kStart;
  RateLimitFilterFactory factory(filterConfig(ctx.store(), settings(2, 2)));
  EXPECT_EQ(factory.name(), "rate_limit");
  for (int i = 0; i < 2; ++i) {
    http::RequestHead head;
    EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kContinue);
    EXPECT_FALSE(ctx.replied);
  }
  for (int i = 0; i < 3; ++i) {
    ctx.replied = false;
    http::RequestHead head;
    EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kStop);
    EXPECT_TRUE(ctx.replied);
    EXPECT_EQ(ctx.reply_status, 429);
    EXPECT_EQ(ctx.reply_reason, Reason::kRateLimited);
    EXPECT_EQ(headerOf(ctx, "retry-after"), "1");
  }
  EXPECT_EQ(ctx.store().valueOf("remora_ratelimited_total", {{"route", "r"}}), 3);
  ASSERT_FALSE(ctx.info().trail.empty());
  EXPECT_EQ(ctx.info().trail.back(), "rate limited (2/second, burst 2)");
  EXPECT_EQ(ctx.info().trail.size(), 3u);

  g_now = kStart + 500 * kMs;  // one token back
  ctx.replied = false;
  http::RequestHead head;
  EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kContinue);
  EXPECT_FALSE(ctx.replied);
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(RateLimitFilterTest, PerSourceKeysOnTheClientAddress) {
  common::EventLoop loop;
  fakes::FakeStreamCtx ctx(loop);
  g_now = kStart;
  RateLimitFilterFactory factory(filterConfig(ctx.store(), settings(1, 1, /*per_source=*/true)));
  http::RequestHead head;
  ctx.downstream_host = "10.0.0.7";
  EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kContinue);
  EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kStop);
  ctx.replied = false;
  ctx.downstream_host = "10.0.0.8";
  EXPECT_EQ(factory.create()->onRequestHeaders(head, ctx), FilterStatus::kContinue);
  EXPECT_FALSE(ctx.replied);
  EXPECT_EQ(factory.limiter().trackedSources(), 2u);
  EXPECT_EQ(ctx.store().valueOf("remora_ratelimited_total", {{"route", "r"}}), 1);
  EXPECT_EQ(loop.closeAll(), 0);
}

TEST(RateLimitConfigTest, FactoryFromProtoAppliesDefaults) {
  common::StatsStore stats(1);
  config::v1::RateLimit p;
  EXPECT_EQ(makeRateLimitFactory(p, "r", stats), nullptr);  // no rate: no filter
  p.set_requests_per_unit(100);
  p.set_unit(config::v1::RateLimit::MINUTE);
  auto f = makeRateLimitFactory(p, "orders", stats);
  ASSERT_NE(f, nullptr);
  const auto& c = dynamic_cast<const RateLimitFilterFactory&>(*f).config();
  EXPECT_EQ(c.settings.requests_per_unit, 100u);
  EXPECT_EQ(c.settings.unit_ns, 60 * kSecond);
  EXPECT_EQ(c.settings.burst, 100u);
  EXPECT_FALSE(c.settings.per_source);
  EXPECT_EQ(c.settings.max_sources, kDefaultMaxSources);
  EXPECT_EQ(c.note, "rate limited (100/minute, burst 100)");
  common::MetricType type;
  uint32_t slot;
  EXPECT_TRUE(stats.find("remora_ratelimited_total", {{"route", "orders"}}, &type, &slot));

  p.set_unit(config::v1::RateLimit::HOUR);
  p.set_burst(7);
  p.set_per_source(true);
  p.set_max_sources(50);
  f = makeRateLimitFactory(p, "orders", stats);
  const auto& c2 = dynamic_cast<const RateLimitFilterFactory&>(*f).config();
  EXPECT_EQ(c2.settings.unit_ns, 3600 * kSecond);
  EXPECT_EQ(c2.settings.burst, 7u);
  EXPECT_TRUE(c2.settings.per_source);
  EXPECT_EQ(c2.settings.max_sources, 50u);
  EXPECT_EQ(c2.note, "rate limited (100/hour, burst 7)");
}

// One route with the given rate_limit (flow style), on line 3.
std::string bootstrapWithRateLimit(const std::string& rate_limit) {
  return "static_resources:\n  clusters: [{name: app, endpoints: [{address: 127.0.0.1:9}]}]\n"
         "  routes: [{name: r, virtual_hosts: [{name: all, domains: ['*'], routes: [{match: "
         "{prefix: /}, route: {cluster: app}, rate_limit: " +
         rate_limit + "}]}]}]\n";
}

std::string configError(const std::string& rate_limit) {
  auto r = xds::parseBootstrap(bootstrapWithRateLimit(rate_limit), "test.yaml");
  return r.isOk() ? std::string() : r.status().message();
}

TEST(RateLimitConfigTest, ValidationAcceptsSaneLimits) {
  EXPECT_EQ(configError("{}"), "");
  EXPECT_EQ(configError("{requests_per_unit: 10}"), "");
  EXPECT_EQ(configError("{requestsPerUnit: 100, unit: MINUTE, burst: 20, perSource: true, "
                        "maxSources: 5000}"),
            "");
}

TEST(RateLimitConfigTest, ValidationRejectsLimitsWithoutARateOrWithAnAbsurdTable) {
  std::string e = configError("{burst: 5}");
  EXPECT_NE(e.find("test.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("rate_limit.requests_per_unit: requests_per_unit must be > 0"),
            std::string::npos)
      << e;
  EXPECT_NE(configError("{unit: HOUR}"), "");
  EXPECT_NE(configError("{per_source: true}"), "");
  e = configError("{requests_per_unit: 5, max_sources: 10}");
  EXPECT_NE(e.find("rate_limit.max_sources: max_sources needs per_source: true"), std::string::npos)
      << e;
  e = configError("{requests_per_unit: 5, per_source: true, max_sources: 20000000}");
  EXPECT_NE(e.find("max_sources 20000000 exceeds the maximum of 1000000"), std::string::npos) << e;
}

}  // namespace
}  // namespace remora::filters::ratelimit
