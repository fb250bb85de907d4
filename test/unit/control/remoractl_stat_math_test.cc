// remoractl stat's arithmetic: histogram quantiles and the per-Service window between two
// /v1/stats samples.

#include <gtest/gtest.h>

#include <string>

#include "control/cli/api_client.h"
#include "control/cli/stat_math.h"

namespace remora::control::cli {
namespace {

const std::vector<double> kBounds = {1, 5, 10, 50, 100};

TEST(RemoractlQuantile, InterpolatesInsideTheBucketThatHoldsTheRank) {
  // 10 in (0,1], 10 in (1,5], 0 in (5,10], 0 ..., 0 in +Inf.
  const std::vector<uint64_t> counts = {10, 10, 0, 0, 0, 0};
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.5).value(), 1.0,
              1e-9);  // rank 10: end of bucket 0
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.25).value(), 0.5,
              1e-9);  // rank 5: half of (0,1]
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.75).value(), 3.0,
              1e-9);  // rank 15: half of (1,5]
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.99).value(), 4.92, 1e-9);  // rank 19.8
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 1.0).value(), 5.0, 1e-9);
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.0).value(), 0.0, 1e-9);
}

TEST(RemoractlQuantile, SkipsEmptyBucketsBeforeTheRank) {
  // Everything in (10,50]: every quantile lies between 10 and 50.
  const std::vector<uint64_t> counts = {0, 0, 0, 4, 0, 0};
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.5).value(), 30.0, 1e-9);
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.0).value(), 10.0, 1e-9);
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 1.0).value(), 50.0, 1e-9);
}

TEST(RemoractlQuantile, TheInfBucketReportsTheLastBound) {
  const std::vector<uint64_t> counts = {50, 0, 0, 0, 0, 50};
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.5).value(), 1.0, 1e-9);
  EXPECT_NEAR(histogramQuantile(counts, kBounds, 0.99).value(), 100.0, 1e-9);
  // Buckets past bounds.size() all count as +Inf.
  EXPECT_NEAR(histogramQuantile({0, 0, 0, 0, 0, 1, 1}, kBounds, 0.5).value(), 100.0, 1e-9);
}

TEST(RemoractlQuantile, NothingToEstimateWithoutObservationsOrBounds) {
  EXPECT_FALSE(histogramQuantile({0, 0, 0, 0, 0, 0}, kBounds, 0.5).has_value());
  EXPECT_FALSE(histogramQuantile({}, kBounds, 0.5).has_value());
  EXPECT_FALSE(histogramQuantile({7}, {}, 0.5).has_value());
  // Fewer counts than buckets: the missing ones are empty.
  EXPECT_NEAR(histogramQuantile({0, 2}, kBounds, 0.5).value(), 3.0, 1e-9);
  // q outside 0..1 is clamped.
  EXPECT_NEAR(histogramQuantile({0, 2}, kBounds, 7).value(), 5.0, 1e-9);
}

v1::StatsResponse stats(const std::string& json) {
  auto parsed = parseStats(json);
  EXPECT_TRUE(parsed.isOk()) << parsed.status().message();
  return parsed.isOk() ? parsed.value() : v1::StatsResponse();
}

TEST(RemoractlStatWindow, RatesSuccessAndQuantilesComeFromTheDeltas) {
  const auto before = stats(R"({"latency_bounds_ms": [1, 5, 10, 50, 100],
    "collected_unix_ms": 1000, "proxies_scraped": 2,
    "services": [
      {"namespace": "shop", "service": "catalog", "requests": 1000, "errors": 10,
       "latency_buckets": [500, 400, 100, 0, 0, 0]},
      {"namespace": "shop", "service": "cart", "requests": 7, "errors": 0,
       "latency_buckets": [7, 0, 0, 0, 0, 0]}]})");
  const auto after = stats(R"({"latency_bounds_ms": [1, 5, 10, 50, 100],
    "collected_unix_ms": 3000, "proxies_scraped": 2,
    "services": [
      {"namespace": "shop", "service": "catalog", "requests": 1100, "errors": 15,
       "latency_buckets": [500, 450, 140, 10, 0, 0]},
      {"namespace": "shop", "service": "cart", "requests": 7, "errors": 0,
       "latency_buckets": [7, 0, 0, 0, 0, 0]},
      {"namespace": "ads", "service": "banner", "requests": 4, "errors": 4,
       "latency_buckets": [0, 0, 0, 0, 0, 4]}]})");
  const double window = windowSeconds(before, after, 9.0);
  EXPECT_DOUBLE_EQ(window, 2.0);  // from collected_unix_ms, not the fallback
  const auto w = serviceWindows(before, after, window);
  ASSERT_EQ(w.size(), 3u);

  // Sorted by namespace, then name.
  EXPECT_EQ(w[0].namespace_, "ads");
  EXPECT_EQ(w[0].service, "banner");  // new since the first sample: counts from zero
  EXPECT_EQ(w[0].requests, 4u);
  EXPECT_DOUBLE_EQ(w[0].rps, 2.0);
  EXPECT_NEAR(w[0].success.value(), 0.0, 1e-9);
  EXPECT_NEAR(w[0].p50_ms.value(), 100.0, 1e-9);

  EXPECT_EQ(w[1].service, "cart");  // no traffic in the window
  EXPECT_EQ(w[1].requests, 0u);
  EXPECT_DOUBLE_EQ(w[1].rps, 0.0);
  EXPECT_FALSE(w[1].success.has_value());
  EXPECT_FALSE(w[1].p50_ms.has_value());
  EXPECT_FALSE(w[1].p99_ms.has_value());

  EXPECT_EQ(w[2].service, "catalog");
  EXPECT_EQ(w[2].requests, 100u);
  EXPECT_EQ(w[2].errors, 5u);
  EXPECT_DOUBLE_EQ(w[2].rps, 50.0);
  EXPECT_NEAR(w[2].success.value(), 0.95, 1e-9);
  // Deltas: 0, 50, 40, 10, 0, 0. p50 = rank 50: end of (1,5]; p99 = rank 99: 9/10 into (10,50].
  EXPECT_NEAR(w[2].p50_ms.value(), 5.0, 1e-9);
  EXPECT_NEAR(w[2].p99_ms.value(), 46.0, 1e-9);
}

TEST(RemoractlStatWindow, CountersThatWentDownContributeNothing) {
  const auto before = stats(R"({"latency_bounds_ms": [10], "services": [
      {"namespace": "a", "service": "s", "requests": 100, "errors": 50,
       "latency_buckets": [90, 10]}]})");
  const auto after = stats(R"({"latency_bounds_ms": [10], "services": [
      {"namespace": "a", "service": "s", "requests": 40, "errors": 2,
       "latency_buckets": [38, 2]}]})");
  const auto w = serviceWindows(before, after, 1.0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].requests, 0u);
  EXPECT_EQ(w[0].errors, 0u);
  EXPECT_FALSE(w[0].success.has_value());
  EXPECT_FALSE(w[0].p50_ms.has_value());
}

TEST(RemoractlStatWindow, OtherBoundsInTheFirstSampleAreNotSubtracted) {
  const auto before = stats(R"({"latency_bounds_ms": [1, 2], "services": [
      {"namespace": "a", "service": "s", "requests": 10, "latency_buckets": [10, 0, 0]}]})");
  const auto after = stats(R"({"latency_bounds_ms": [10, 20], "services": [
      {"namespace": "a", "service": "s", "requests": 14, "latency_buckets": [0, 4, 0]}]})");
  const auto w = serviceWindows(before, after, 0.0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].requests, 4u);
  EXPECT_DOUBLE_EQ(w[0].rps, 0.0);  // no usable window
  EXPECT_NEAR(w[0].p50_ms.value(), 15.0, 1e-9);
}

TEST(RemoractlStatWindow, GrpcServicesAreMeasuredByTheirCallsGrpcStatus) {
  // inventory: 60 calls in the window, all carried by HTTP 200 (no 5xx); 6 UNAVAILABLE,
  // 3 NOT_FOUND, 3 DEADLINE_EXCEEDED, 1 UNAUTHENTICATED fail. catalog: HTTP only.
  const auto before = stats(R"({"latency_bounds_ms": [10], "collected_unix_ms": 1000,
    "services": [
      {"namespace": "shop", "service": "inventory", "requests": 40, "errors": 0,
       "latency_buckets": [40, 0], "grpc_statuses": {"0": "35", "14": "5"}},
      {"namespace": "shop", "service": "catalog", "requests": 10, "errors": 1,
       "latency_buckets": [10, 0]}]})");
  const auto after = stats(R"({"latency_bounds_ms": [10], "collected_unix_ms": 3000,
    "services": [
      {"namespace": "shop", "service": "inventory", "requests": 100, "errors": 0,
       "latency_buckets": [100, 0],
       "grpc_statuses": {"0": "82", "14": "11", "5": "3", "4": "3", "16": "1"}},
      {"namespace": "shop", "service": "catalog", "requests": 30, "errors": 2,
       "latency_buckets": [30, 0]}]})");
  const auto w = serviceWindows(before, after, 2.0);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].service, "catalog");
  EXPECT_FALSE(w[0].grpc);
  EXPECT_EQ(w[0].requests, 20u);
  EXPECT_NEAR(w[0].success.value(), 0.95, 1e-9);
  EXPECT_TRUE(w[0].grpc_failures.empty());

  const ServiceWindow& inv = w[1];
  EXPECT_EQ(inv.service, "inventory");
  EXPECT_TRUE(inv.grpc);
  EXPECT_EQ(inv.requests, 60u);  // 47 OK + 6 + 3 + 3 + 1
  EXPECT_EQ(inv.errors, 13u);
  EXPECT_DOUBLE_EQ(inv.rps, 30.0);
  EXPECT_NEAR(inv.success.value(), 47.0 / 60.0, 1e-9);  // not 100%: HTTP said 200 every time
  ASSERT_EQ(inv.grpc_failures.size(), 4u);
  // Most calls first; 4 and 5 tie at 3 calls: the lower code first.
  EXPECT_EQ(inv.grpc_failures[0].code, 14u);
  EXPECT_EQ(inv.grpc_failures[0].calls, 6u);
  EXPECT_EQ(inv.grpc_failures[1].code, 4u);
  EXPECT_EQ(inv.grpc_failures[1].calls, 3u);
  EXPECT_EQ(inv.grpc_failures[2].code, 5u);
  EXPECT_EQ(inv.grpc_failures[2].calls, 3u);
  EXPECT_EQ(inv.grpc_failures[3].code, 16u);
  EXPECT_EQ(inv.grpc_failures[3].calls, 1u);
  EXPECT_NEAR(inv.p50_ms.value(), 5.0, 1e-9);  // latency still from the histogram
}

TEST(RemoractlStatWindow, AGrpcServiceWithoutCallsInTheWindowFallsBackToHttp) {
  // Statuses that did not move, or went down (a proxy left): no gRPC calls in the window.
  const auto before = stats(R"({"latency_bounds_ms": [10], "services": [
      {"namespace": "a", "service": "s", "requests": 50, "errors": 0,
       "latency_buckets": [50, 0], "grpc_statuses": {"0": "40", "14": "10"}}]})");
  const auto after = stats(R"({"latency_bounds_ms": [10], "services": [
      {"namespace": "a", "service": "s", "requests": 53, "errors": 1,
       "latency_buckets": [53, 0], "grpc_statuses": {"0": "40", "14": "4"}}]})");
  const auto w = serviceWindows(before, after, 1.0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_FALSE(w[0].grpc);
  EXPECT_EQ(w[0].requests, 3u);
  EXPECT_EQ(w[0].errors, 1u);
  EXPECT_TRUE(w[0].grpc_failures.empty());
}

TEST(RemoractlStatWindow, OnlyTheStatusesThatMovedCount) {
  // 14 went down (a proxy left): its calls count as zero, not as negative successes.
  const auto before = stats(R"({"services": [{"namespace": "a", "service": "s",
      "grpc_statuses": {"0": "10", "14": "9"}}]})");
  const auto after = stats(R"({"services": [{"namespace": "a", "service": "s",
      "grpc_statuses": {"0": "14", "14": "2", "13": "1"}}]})");
  const auto w = serviceWindows(before, after, 1.0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].grpc);
  EXPECT_EQ(w[0].requests, 5u);
  EXPECT_EQ(w[0].errors, 1u);
  ASSERT_EQ(w[0].grpc_failures.size(), 1u);
  EXPECT_EQ(w[0].grpc_failures[0].code, 13u);
  EXPECT_NEAR(w[0].success.value(), 0.8, 1e-9);
}

TEST(RemoractlStatWindow, WindowFallsBackWhenTimestampsAreMissingOrBackwards) {
  v1::StatsResponse a;
  v1::StatsResponse b;
  EXPECT_DOUBLE_EQ(windowSeconds(a, b, 2.5), 2.5);
  a.set_collected_unix_ms(5000);
  b.set_collected_unix_ms(4000);
  EXPECT_DOUBLE_EQ(windowSeconds(a, b, 2.5), 2.5);
  b.set_collected_unix_ms(5500);
  EXPECT_DOUBLE_EQ(windowSeconds(a, b, 2.5), 0.5);
}

}  // namespace
}  // namespace remora::control::cli
