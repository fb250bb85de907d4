// Outlier detection over HostState / ClusterHealth, with explicit fake time.

#include "filters/outlier/outlier_detector.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/outlier/config.h"

namespace remora::filters::outlier {
namespace {

constexpr uint64_t kMs = 1000000;  // ns per ms
constexpr uint64_t kT0 = 1000 * kMs;

// A cluster of `n` hosts.
struct Cluster {
  explicit Cluster(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      hosts.push_back(std::make_unique<HostState>());
      ptrs.push_back(hosts.back().get());
    }
  }
  HostState& host(size_t i) { return *hosts[i]; }
  uint32_t size() const { return static_cast<uint32_t>(hosts.size()); }

  std::vector<std::unique_ptr<HostState>> hosts;
  std::vector<HostState*> ptrs;
  ClusterHealth health;
};

// Records `n` times the same outcome; returns how many of them ejected the host.
int record(const OutlierConfig& c, Cluster& cl, size_t i, Outcome o, int n, uint64_t now) {
  int ejections = 0;
  for (int k = 0; k < n; ++k) {
    ejections += recordOutcome(c, cl.host(i), cl.health, cl.size(), o, now) ? 1 : 0;
  }
  return ejections;
}

// Feeds one host a sequence of outcomes (S success, 5 server error, G gateway error, C connect
// failure, R reset, T timeout) and returns what each did: 'E' ejected the host, '.' did not.
std::string run(const OutlierConfig& c, Cluster& cl, std::string_view outcomes, size_t i = 0) {
  std::string ejections;
  for (char o : outcomes) {
    Outcome outcome = o == 'S'   ? Outcome::kSuccess
                      : o == '5' ? Outcome::kServerError
                      : o == 'G' ? Outcome::kGatewayError
                      : o == 'C' ? Outcome::kConnectFailure
                      : o == 'R' ? Outcome::kReset
                                 : Outcome::kTimeout;
    ejections += recordOutcome(c, cl.host(i), cl.health, cl.size(), outcome, kT0) ? 'E' : '.';
  }
  return ejections;
}

// Consecutive-failure thresholds (0: off), with 100% of the cluster ejectable.
OutlierConfig thresholds(uint32_t consecutive_5xx, uint32_t consecutive_gateway) {
  OutlierConfig c;
  c.consecutive_5xx = consecutive_5xx;
  c.consecutive_gateway_failure = consecutive_gateway;
  c.max_ejection_percent = 100;
  return c;
}

// Only consecutive_5xx counts, threshold 3.
OutlierConfig only5xx() {
  return thresholds(3, 0);
}

TEST(OutlierTest, ClassifiesStatuses) {
  EXPECT_EQ(classifyStatus(200), Outcome::kSuccess);
  EXPECT_EQ(classifyStatus(404), Outcome::kSuccess);
  EXPECT_EQ(classifyStatus(499), Outcome::kSuccess);
  EXPECT_EQ(classifyStatus(500), Outcome::kServerError);
  EXPECT_EQ(classifyStatus(501), Outcome::kServerError);
  EXPECT_EQ(classifyStatus(502), Outcome::kGatewayError);
  EXPECT_EQ(classifyStatus(503), Outcome::kGatewayError);
  EXPECT_EQ(classifyStatus(504), Outcome::kGatewayError);
  EXPECT_EQ(classifyStatus(505), Outcome::kServerError);
}

TEST(OutlierTest, Consecutive5xxEjectsAtTheThresholdAndNotBefore) {
  Cluster cl(1);
  OutlierConfig c = only5xx();
  EXPECT_EQ(record(c, cl, 0, Outcome::kServerError, 2, kT0), 0);
  EXPECT_FALSE(cl.host(0).has(kHostEjected));
  EXPECT_EQ(cl.host(0).consecutive_5xx.load(), 2u);
  EXPECT_TRUE(recordOutcome(c, cl.host(0), cl.health, 1, Outcome::kServerError, kT0));
  EXPECT_TRUE(cl.host(0).has(kHostEjected));
  EXPECT_FALSE(cl.host(0).available());
  EXPECT_EQ(cl.host(0).times_ejected.load(), 1u);
  EXPECT_EQ(cl.host(0).ejected_until_ns.load(), kT0 + 30000 * kMs);
  // Counters start again after an ejection.
  EXPECT_EQ(cl.host(0).consecutive_5xx.load(), 0u);
  EXPECT_EQ(cl.host(0).consecutive_gateway.load(), 0u);
}

TEST(OutlierTest, EveryKindOfFailureCountsTowardsConsecutive5xx) {
  Cluster cl(1);
  EXPECT_EQ(run(only5xx(), cl, "GT5"), "..E");
}

TEST(OutlierTest, ASuccessInBetweenResetsTheCounters) {
  Cluster cl(1);
  OutlierConfig c = thresholds(5, 5);
  EXPECT_EQ(run(c, cl, "GGGGS"), ".....");
  EXPECT_EQ(cl.host(0).consecutive_5xx.load(), 0u);
  EXPECT_EQ(cl.host(0).consecutive_gateway.load(), 0u);
  EXPECT_EQ(run(c, cl, "GGGGG"), "....E");
}

TEST(OutlierTest, GatewayFailuresCountConnectFailuresResetsAndTimeouts) {
  Cluster cl(1);
  OutlierConfig c = thresholds(0, 4);
  EXPECT_EQ(run(c, cl, "CRT"), "...");
  EXPECT_EQ(cl.host(0).consecutive_gateway.load(), 3u);
  EXPECT_EQ(run(c, cl, "G"), "E");
}

TEST(OutlierTest, AServerErrorBreaksARunOfGatewayFailures) {
  Cluster cl(1);
  EXPECT_EQ(run(thresholds(0, 3), cl, "GG5GGG"), ".....E");
}

TEST(OutlierTest, BothThresholdsOffNeverEjects) {
  Cluster cl(1);
  OutlierConfig c = thresholds(0, 0);
  EXPECT_EQ(record(c, cl, 0, Outcome::kGatewayError, 100, kT0), 0);
  EXPECT_TRUE(cl.host(0).available());
}

TEST(OutlierTest, OutcomesWhileEjectedAreIgnored) {
  Cluster cl(1);
  OutlierConfig c = only5xx();
  EXPECT_EQ(record(c, cl, 0, Outcome::kServerError, 3, kT0), 1);
  EXPECT_EQ(record(c, cl, 0, Outcome::kServerError, 10, kT0), 0);
  EXPECT_EQ(cl.host(0).consecutive_5xx.load(), 0u);
  EXPECT_EQ(cl.host(0).times_ejected.load(), 1u);
}

TEST(OutlierTest, EjectionTimeGrowsWithEachEjectionAndCapsAtMax) {
  Cluster cl(1);
  OutlierConfig c = only5xx();
  c.base_ejection_ms = 30000;
  c.max_ejection_ms = 100000;
  c.interval_ms = 1000000;  // no decay during this test
  uint64_t now = kT0;
  const uint64_t expected_ms[] = {30000, 60000, 90000, 100000, 100000};
  for (uint64_t want : expected_ms) {
    ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, now), 1);
    EXPECT_EQ(cl.host(0).ejected_until_ns.load() - now, want * kMs);
    now = cl.host(0).ejected_until_ns.load();
    ASSERT_EQ(sweep(c, cl.ptrs, cl.health, now), 1u);
  }
  EXPECT_EQ(cl.host(0).times_ejected.load(), 5u);
}

TEST(OutlierTest, SweepReturnsTheHostAfterItsTimeAndNotBefore) {
  Cluster cl(2);
  OutlierConfig c = only5xx();
  ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, kT0), 1);
  uint64_t until = kT0 + 30000 * kMs;
  EXPECT_EQ(sweep(c, cl.ptrs, cl.health, kT0), 0u);
  EXPECT_EQ(sweep(c, cl.ptrs, cl.health, until - 1), 0u);
  EXPECT_TRUE(cl.host(0).has(kHostEjected));
  EXPECT_EQ(sweep(c, cl.ptrs, cl.health, until), 1u);
  EXPECT_FALSE(cl.host(0).has(kHostEjected));
  EXPECT_TRUE(cl.host(0).available());
  EXPECT_EQ(cl.health.ejected.load(), 0u);
  EXPECT_EQ(cl.health.unavailable.load(), 0u);
  EXPECT_EQ(sweep(c, cl.ptrs, cl.health, until + 1), 0u);
  // The ejection count stays (decays later): the next ejection lasts twice as long.
  EXPECT_EQ(record(c, cl, 0, Outcome::kServerError, 3, until), 1);
  EXPECT_EQ(cl.host(0).ejected_until_ns.load(), until + 60000 * kMs);
}

TEST(OutlierTest, TimesEjectedDecaysOncePerIntervalNotPerSweep) {
  Cluster cl(1);
  OutlierConfig c = only5xx();
  c.interval_ms = 10000;
  c.base_ejection_ms = 1000;
  c.max_ejection_ms = 1000000;
  uint64_t now = kT0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, now), 1);
    now = cl.host(0).ejected_until_ns.load();
    ASSERT_EQ(sweep(c, cl.ptrs, cl.health, now), 1u);
  }
  ASSERT_EQ(cl.host(0).times_ejected.load(), 3u);
  const uint64_t back = now;
  // Many sweeps within the first interval: no decay.
  for (uint64_t t = back; t < back + 10000 * kMs; t += 500 * kMs) {
    sweep(c, cl.ptrs, cl.health, t);
  }
  EXPECT_EQ(cl.host(0).times_ejected.load(), 3u);
  EXPECT_EQ(nextSweepNs(c, cl.ptrs), back + 10000 * kMs);
  sweep(c, cl.ptrs, cl.health, back + 10000 * kMs);
  EXPECT_EQ(cl.host(0).times_ejected.load(), 2u);
  sweep(c, cl.ptrs, cl.health, back + 15000 * kMs);
  EXPECT_EQ(cl.host(0).times_ejected.load(), 2u);
  // One late sweep makes up for every interval it missed, and never goes below 0.
  sweep(c, cl.ptrs, cl.health, back + 100000 * kMs);
  EXPECT_EQ(cl.host(0).times_ejected.load(), 0u);
  EXPECT_EQ(nextSweepNs(c, cl.ptrs), 0u);
}

TEST(OutlierTest, NoDecayWhileEjected) {
  Cluster cl(1);
  OutlierConfig c = only5xx();
  c.interval_ms = 1000;
  c.base_ejection_ms = 30000;
  ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, kT0), 1);
  for (uint64_t t = kT0; t < kT0 + 30000 * kMs; t += 1000 * kMs) {
    sweep(c, cl.ptrs, cl.health, t);
  }
  EXPECT_EQ(cl.host(0).times_ejected.load(), 1u);
  EXPECT_TRUE(cl.host(0).has(kHostEjected));
}

// Three server errors to each of the first `tries` hosts in turn, with max_ejection_percent
// `percent`; returns which ones were ejected ("1" ejected, "0" refused).
std::string ejectInTurn(Cluster& cl, uint32_t percent, size_t tries) {
  OutlierConfig c = only5xx();
  c.max_ejection_percent = percent;
  std::string ejected;
  for (size_t i = 0; i < tries; ++i) {
    ejected += record(c, cl, i, Outcome::kServerError, 3, kT0) == 1 ? '1' : '0';
  }
  return ejected;
}

TEST(OutlierTest, MaxEjectionPercentRefusesTheSecondOfTenHosts) {
  Cluster cl(10);
  EXPECT_EQ(ejectInTurn(cl, 10, 2), "10");
  EXPECT_FALSE(cl.host(1).has(kHostEjected));
  EXPECT_EQ(cl.health.ejected.load(), 1u);
  // The refused host keeps counting and is ejected once a slot is free.
  OutlierConfig c = only5xx();
  c.max_ejection_percent = 10;
  ASSERT_EQ(sweep(c, cl.ptrs, cl.health, kT0 + 30000 * kMs), 1u);
  EXPECT_EQ(record(c, cl, 1, Outcome::kServerError, 1, kT0 + 30000 * kMs), 1);
  EXPECT_TRUE(cl.host(1).has(kHostEjected));
}

TEST(OutlierTest, TwentyPercentOfTenAllowsTwo) {
  Cluster cl(10);
  EXPECT_EQ(ejectInTurn(cl, 20, 3), "110");
  EXPECT_EQ(cl.health.ejected.load(), 2u);
}

TEST(OutlierTest, ASingleHostIsStillEjectable) {
  Cluster one(1);
  EXPECT_EQ(ejectInTurn(one, 10, 1), "1");  // 10% of 1 host rounds down to 0; one is allowed
  Cluster three(3);
  EXPECT_EQ(ejectInTurn(three, 0, 2), "10");
}

TEST(OutlierTest, ClusterHealthCountsStayRightWithHealthCheckFlags) {
  Cluster cl(3);
  OutlierConfig c = only5xx();
  // Host 1 already fails its health check: an ejection adds no unavailable host.
  cl.host(1).setFlag(kHostFailedHealthCheck, cl.health);
  ASSERT_EQ(cl.health.unavailable.load(), 1u);
  ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, kT0), 1);
  ASSERT_EQ(record(c, cl, 1, Outcome::kServerError, 3, kT0), 1);
  EXPECT_EQ(cl.health.unavailable.load(), 2u);
  EXPECT_EQ(cl.health.ejected.load(), 2u);
  ASSERT_EQ(sweep(c, cl.ptrs, cl.health, kT0 + 30000 * kMs), 2u);
  EXPECT_EQ(cl.health.ejected.load(), 0u);
  EXPECT_EQ(cl.health.unavailable.load(), 1u);  // host 1 still fails its health check
  EXPECT_TRUE(cl.host(1).has(kHostFailedHealthCheck));
  EXPECT_TRUE(cl.host(0).available());
}

TEST(OutlierTest, NextReturnNsIsTheEarliestEjectionEnd) {
  Cluster cl(3);
  OutlierConfig c = only5xx();
  EXPECT_EQ(nextReturnNs(cl.ptrs), 0u);
  ASSERT_EQ(record(c, cl, 2, Outcome::kServerError, 3, kT0 + 5 * kMs), 1);
  EXPECT_EQ(nextReturnNs(cl.ptrs), kT0 + 5 * kMs + 30000 * kMs);
  ASSERT_EQ(record(c, cl, 0, Outcome::kServerError, 3, kT0), 1);
  EXPECT_EQ(nextReturnNs(cl.ptrs), kT0 + 30000 * kMs);
  EXPECT_EQ(nextSweepNs(c, cl.ptrs), kT0 + 30000 * kMs);
  ASSERT_EQ(sweep(c, cl.ptrs, cl.health, kT0 + 30000 * kMs), 1u);
  EXPECT_EQ(nextReturnNs(cl.ptrs), kT0 + 5 * kMs + 30000 * kMs);
  ASSERT_EQ(sweep(c, cl.ptrs, cl.health, kT0 + 5 * kMs + 30000 * kMs), 1u);
  EXPECT_EQ(nextReturnNs(cl.ptrs), 0u);
}

TEST(OutlierTest, ConfigFromProtoTakesTheDocumentedDefaults) {
  config::v1::OutlierDetection p;
  EXPECT_EQ(outlierConfigFromProto(p), (OutlierConfig{5, 5, 10000, 30000, 300000, 10}));

  p.set_consecutive_5xx(0);
  p.set_consecutive_gateway_failure(7);
  p.mutable_interval()->set_seconds(2);
  p.mutable_base_ejection_time()->set_nanos(250000000);
  p.mutable_max_ejection_time()->set_seconds(60);
  p.set_max_ejection_percent(50);
  EXPECT_EQ(outlierConfigFromProto(p), (OutlierConfig{0, 7, 2000, 250, 60000, 50}));
}

}  // namespace
}  // namespace remora::filters::outlier
