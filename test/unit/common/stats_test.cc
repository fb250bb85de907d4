// Stats: shards sum on read; registration is idempotent; both exposition formats are right.

#include "common/stats.h"

#include <gtest/gtest.h>

namespace remora::common {
namespace {

TEST(StatsTest, CountersAndGaugesSumAcrossShards) {
  StatsStore s(3);
  Counter c = s.counter("remora_x_total", {{"cluster", "a"}});
  Gauge g = s.gauge("remora_active", {{"cluster", "a"}});
  s.shard(0).add(c);
  s.shard(1).add(c, 5);
  s.shard(2).add(g, 3);
  s.shard(1).add(g, -1);
  EXPECT_EQ(s.value(c), 6u);
  EXPECT_EQ(s.value(g), 2);
  EXPECT_EQ(s.valueOf("remora_x_total", {{"cluster", "a"}}), 6);
  EXPECT_EQ(s.valueOf("remora_x_total", {{"cluster", "b"}}), 0);
}

TEST(StatsTest, RegisteringTheSameMetricTwiceGivesTheSameHandle) {
  StatsStore s(1);
  Counter a = s.counter("n_total", {{"l", "v"}});
  Counter b = s.counter("n_total", {{"l", "v"}});
  Counter c = s.counter("n_total", {{"l", "w"}});
  EXPECT_EQ(a.slot, b.slot);
  EXPECT_NE(a.slot, c.slot);
}

TEST(StatsTest, ManyMetricsSpanChunksAndHistogramsStayWhole) {
  StatsStore s(2);
  std::vector<Histogram> hs;
  for (int i = 0; i < 1000; ++i) {
    hs.push_back(s.histogram("h_ms", {{"i", std::to_string(i)}}));
  }
  for (size_t i = 0; i < hs.size(); ++i) {
    s.shard(i % 2).recordMicros(hs[i], 1500);  // 1.5 ms
  }
  for (const Histogram& h : hs) {
    HistogramSnapshot snap = s.value(h);
    EXPECT_EQ(snap.count, 1u);
    EXPECT_EQ(snap.sum_micros, 1500u);
    EXPECT_EQ(snap.buckets[2], 1u);  // (1, 2] ms
  }
}

TEST(StatsTest, PrometheusExpositionHasTypesCumulativeBucketsSumAndCount) {
  StatsStore s(1);
  Counter c = s.counter("remora_upstream_rq_total", {{"cluster", "a"}, {"code_class", "2xx"}});
  Histogram h = s.histogram("remora_upstream_rq_time_ms", {{"cluster", "a"}});
  s.shard(0).add(c, 7);
  s.shard(0).recordMicros(h, 300);      // 0.3 ms
  s.shard(0).recordMicros(h, 4000);     // 4 ms
  s.shard(0).recordMicros(h, 90000000); // 90 s: +Inf only
  std::string out = s.renderPrometheus();
  EXPECT_NE(out.find("# TYPE remora_upstream_rq_total counter\n"), std::string::npos) << out;
  EXPECT_NE(out.find("remora_upstream_rq_total{cluster=\"a\",code_class=\"2xx\"} 7\n"),
            std::string::npos);
  EXPECT_NE(out.find("# TYPE remora_upstream_rq_time_ms histogram\n"), std::string::npos);
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_bucket{cluster=\"a\",le=\"0.5\"} 1\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_bucket{cluster=\"a\",le=\"5\"} 2\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_bucket{cluster=\"a\",le=\"60000\"} 2\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_bucket{cluster=\"a\",le=\"+Inf\"} 3\n"),
            std::string::npos) << out;
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_count{cluster=\"a\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("remora_upstream_rq_time_ms_sum{cluster=\"a\"} 90004.3\n"), std::string::npos)
      << out;
}

TEST(StatsTest, TextFormatIsOneMetricPerLine) {
  StatsStore s(1);
  Gauge g = s.gauge("remora_downstream_cx_active", {{"listener", "in\"x"}});
  s.shard(0).add(g, 4);
  EXPECT_EQ(s.renderText(), "remora_downstream_cx_active{listener=\"in\\\"x\"} 4\n");
}

TEST(StatsTest, QuantilesInterpolateWithinBuckets) {
  HistogramSnapshot h;
  h.buckets[4] = 100;  // (5, 10] ms
  h.count = 100;
  EXPECT_NEAR(h.quantileMs(0.5), 7.5, 0.01);
  EXPECT_NEAR(h.quantileMs(1.0), 10.0, 0.01);
}

}  // namespace
}  // namespace remora::common
