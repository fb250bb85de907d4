// The active health check's threshold machine, and its config from the proto.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "filters/health_check/config.h"
#include "filters/health_check/health_checker.h"

namespace remora::filters::health_check {
namespace {

HealthCheckConfig thresholds(uint32_t unhealthy, uint32_t healthy) {
  HealthCheckConfig c;
  c.unhealthy_threshold = unhealthy;
  c.healthy_threshold = healthy;
  return c;
}

// Feeds results ('+' pass, '-' fail) and returns what each one did: 'H' turned healthy,
// 'U' turned unhealthy, '.' no change.
std::string feed(HealthState& s, std::string_view results) {
  std::string changes;
  for (char r : results) {
    bool changed = s.onResult(r == '+');
    changes += !changed ? '.' : s.healthy() ? 'H' : 'U';
  }
  return changes;
}

TEST(HealthStateTest, StartsUncheckedAndUnhealthy) {
  HealthState s(thresholds(3, 2));
  EXPECT_FALSE(s.checked());
  EXPECT_FALSE(s.healthy());
}

TEST(HealthStateTest, AFirstPassMakesItHealthyAtOnce) {
  HealthState s(thresholds(3, 2));
  EXPECT_EQ(feed(s, "+"), "H");
  EXPECT_TRUE(s.checked());
  EXPECT_TRUE(s.healthy());
}

TEST(HealthStateTest, AFirstFailKeepsItUnhealthyWithoutAChange) {
  HealthState s(thresholds(3, 2));
  EXPECT_EQ(feed(s, "-"), ".");
  EXPECT_TRUE(s.checked());
  EXPECT_FALSE(s.healthy());
  // From there it takes healthy_threshold passes in a row.
  EXPECT_EQ(feed(s, "++"), ".H");
  EXPECT_TRUE(s.healthy());
}

TEST(HealthStateTest, TakesUnhealthyThresholdFailsInARowToGoUnhealthy) {
  HealthState s(thresholds(3, 2));
  EXPECT_EQ(feed(s, "+---"), "H..U");
  EXPECT_FALSE(s.healthy());
  EXPECT_EQ(feed(s, "-"), ".");  // stays unhealthy: no change
}

TEST(HealthStateTest, APassBreaksARunOfFails) {
  HealthState s(thresholds(3, 2));
  EXPECT_EQ(feed(s, "+--+---"), "H.....U");
}

TEST(HealthStateTest, AFailBreaksARunOfPasses) {
  HealthState s(thresholds(1, 3));
  EXPECT_EQ(feed(s, "+-++-+++"), "HU.....H");
}

TEST(HealthStateTest, ZeroThresholdsCountAsOne) {
  HealthState s(thresholds(0, 0));
  EXPECT_EQ(feed(s, "+-+"), "HUH");
}

TEST(HealthStateTest, ConfigFromProtoTakesTheDocumentedDefaults) {
  config::v1::HealthCheck p;
  HealthCheckConfig d = healthCheckConfigFromProto(p);
  EXPECT_EQ(d, HealthCheckConfig());
  EXPECT_EQ(d.kind, HealthCheckConfig::Kind::kHttp);
  EXPECT_EQ(d.path, "/healthz");
  EXPECT_EQ(d.expected_statuses, std::vector<uint16_t>{200});
  EXPECT_EQ(d.interval_ms, 5000u);
  EXPECT_EQ(d.timeout_ms, 1000u);
  EXPECT_EQ(d.jitter_ms, 0u);
  EXPECT_EQ(d.unhealthy_threshold, 3u);
  EXPECT_EQ(d.healthy_threshold, 2u);

  p.mutable_http()->set_path("/ready");
  p.mutable_http()->set_host("svc.local");
  p.mutable_http()->add_expected_statuses(200);
  p.mutable_http()->add_expected_statuses(204);
  p.mutable_interval()->set_seconds(1);
  p.mutable_timeout()->set_nanos(200000000);
  p.mutable_interval_jitter()->set_nanos(50000000);
  p.set_unhealthy_threshold(1);
  p.set_healthy_threshold(4);
  HealthCheckConfig c = healthCheckConfigFromProto(p);
  EXPECT_EQ(c.path, "/ready");
  EXPECT_EQ(c.host, "svc.local");
  EXPECT_EQ(c.expected_statuses, (std::vector<uint16_t>{200, 204}));
  EXPECT_EQ(c.interval_ms, 1000u);
  EXPECT_EQ(c.timeout_ms, 200u);
  EXPECT_EQ(c.jitter_ms, 50u);
  EXPECT_EQ(c.unhealthy_threshold, 1u);
  EXPECT_EQ(c.healthy_threshold, 4u);

  config::v1::HealthCheck tcp;
  tcp.mutable_tcp();
  EXPECT_EQ(healthCheckConfigFromProto(tcp).kind, HealthCheckConfig::Kind::kTcp);
}

}  // namespace
}  // namespace remora::filters::health_check
