// Load balancers: every policy's distribution, health and `avoid` rules, consistent hashing's
// stability when endpoints come and go, and PEAK_EWMA's latency costs on an explicit clock.

#include "filters/lb/load_balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace remora::filters::lb {
namespace {

// Endpoints with state the test owns: "10.0.<i / 256>.<i % 256>:8080", weights as given.
class FakeCluster {
 public:
  explicit FakeCluster(const std::vector<uint32_t>& weights) : states_(weights.size()) {
    for (size_t i = 0; i < weights.size(); ++i) {
      hosts_.push_back(Host{keyOf(i), weights[i], &states_[i]});
    }
  }
  static FakeCluster ofSize(size_t n) { return FakeCluster(std::vector<uint32_t>(n, 1)); }

  static std::string keyOf(size_t i) {
    return "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":8080";
  }
  const std::vector<Host>& hosts() const { return hosts_; }
  HostState& state(size_t i) { return states_[i]; }
  void eject(size_t i) { states_[i].setFlag(kHostEjected, health_); }
  void restore(size_t i) { states_[i].clearFlag(kHostEjected, health_); }
  void failHealthCheck(size_t i) { states_[i].setFlag(kHostFailedHealthCheck, health_); }
  // A factory over every endpoint but `without` (none when out of range).
  std::shared_ptr<const LoadBalancerFactory> factory(Policy policy, const Options& options = {},
                                                     size_t without = SIZE_MAX) const {
    std::vector<Host> hosts;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      if (i != without) {
        hosts.push_back(hosts_[i]);
      }
    }
    return makeLoadBalancerFactory(policy, std::move(hosts), options);
  }

 private:
  std::vector<HostState> states_;  // sized once: Host::state pointers stay valid
  ClusterHealth health_;
  std::vector<Host> hosts_;
};

PickContext hashed(uint64_t hash) {
  PickContext ctx;
  ctx.has_hash = true;
  ctx.hash = hash;
  return ctx;
}

uint64_t userHash(int i) {
  return hashKey("user-" + std::to_string(i));
}

// How often each endpoint is picked in `picks` picks of `ctx`.
std::vector<int> countPicks(LoadBalancer& lb, size_t host_count, int picks,
                            const PickContext& ctx = {}) {
  std::vector<int> counts(host_count, 0);
  for (int i = 0; i < picks; ++i) {
    int picked = lb.pick(ctx);
    EXPECT_GE(picked, 0);
    EXPECT_LT(picked, static_cast<int>(host_count));
    if (picked >= 0 && picked < static_cast<int>(host_count)) {
      ++counts[static_cast<size_t>(picked)];
    }
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------

TEST(LbPolicyNameTest, NamesAreTheConfigEnumNames) {
  EXPECT_EQ(policyName(Policy::kRoundRobin), "ROUND_ROBIN");
  EXPECT_EQ(policyName(Policy::kWeightedRoundRobin), "WEIGHTED_ROUND_ROBIN");
  EXPECT_EQ(policyName(Policy::kRandom), "RANDOM");
  EXPECT_EQ(policyName(Policy::kLeastRequest), "LEAST_REQUEST");
  EXPECT_EQ(policyName(Policy::kRingHash), "RING_HASH");
  EXPECT_EQ(policyName(Policy::kMaglev), "MAGLEV");
  EXPECT_EQ(policyName(Policy::kPeakEwma), "PEAK_EWMA");
}

TEST(LbHashKeyTest, StableAcrossRunsAndWellSpread) {
  // Pinned (FNV-1a 64 then splitmix64's finalizer, checked against an independent
  // implementation): every sidecar, whatever its build, must map a key alike.
  EXPECT_EQ(hashKey(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(hashKey("10.0.0.1:8080"), 0xe6be330c3d44a2e2ULL);
  EXPECT_EQ(hashKey(std::string("session-42")), hashKey("session-42"));
  EXPECT_NE(hashKey("a"), hashKey("b"));
  // The low bits alone spread evenly (no weak bits left by FNV-1a).
  std::vector<int> buckets(8, 0);
  for (int i = 0; i < 8000; ++i) {
    ++buckets[hashKey("k" + std::to_string(i)) % 8];
  }
  for (int b : buckets) {
    EXPECT_NEAR(b, 1000, 120);
  }
}

// ---------------------------------------------------------------------------------------------

TEST(LbRoundRobinTest, EveryHostEquallyOftenInTurn) {
  FakeCluster cluster = FakeCluster::ofSize(5);
  auto lb = cluster.factory(Policy::kRoundRobin)->create(7);
  std::vector<int> counts(5, 0);
  for (int round = 0; round < 200; ++round) {
    std::set<int> seen;
    for (int i = 0; i < 5; ++i) {
      int picked = lb->pick({});
      ASSERT_GE(picked, 0);
      seen.insert(picked);
      ++counts[static_cast<size_t>(picked)];
    }
    EXPECT_EQ(seen.size(), 5u) << "every round visits each endpoint once";
  }
  EXPECT_EQ(counts, std::vector<int>(5, 200));
}

TEST(LbRoundRobinTest, SkipsUnavailableHostsUntilTheyAreBack) {
  FakeCluster cluster = FakeCluster::ofSize(5);
  cluster.eject(1);
  cluster.eject(3);
  auto lb = cluster.factory(Policy::kRoundRobin)->create(0);
  EXPECT_EQ(countPicks(*lb, 5, 300), (std::vector<int>{100, 0, 100, 0, 100}));
  cluster.restore(3);
  EXPECT_EQ(countPicks(*lb, 5, 400), (std::vector<int>{100, 0, 100, 100, 100}));
}

// The endpoints that the first picks of 32 workers (seeds 0 to 31) go to.
std::set<int> firstPicksOfWorkers(const LoadBalancerFactory& factory) {
  std::set<int> first_picks;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    first_picks.insert(factory.create(seed)->pick({}));
  }
  return first_picks;
}

TEST(LbRoundRobinTest, WorkersStartAtSeedDependentOffsets) {
  FakeCluster cluster = FakeCluster::ofSize(5);
  EXPECT_GE(firstPicksOfWorkers(*cluster.factory(Policy::kRoundRobin)).size(), 4u);
}

// ---------------------------------------------------------------------------------------------

TEST(LbWeightedRoundRobinTest, SmoothFiveOneOne) {
  FakeCluster cluster({5, 1, 1});
  auto lb = cluster.factory(Policy::kWeightedRoundRobin)->create(3);
  std::vector<int> sequence;
  for (int i = 0; i < 70; ++i) {
    sequence.push_back(lb->pick({}));
  }
  // Every window of 7 consecutive picks has exactly the 5:1:1 shares...
  for (size_t start = 0; start + 7 <= sequence.size(); ++start) {
    std::vector<int> counts(3, 0);
    for (size_t i = start; i < start + 7; ++i) {
      ++counts[static_cast<size_t>(sequence[i])];
    }
    EXPECT_EQ(counts, (std::vector<int>{5, 1, 1})) << "window at " << start;
  }
  // ...and smoothly: the light endpoints are never picked back to back (a plain WRR sends
  // a a a a a b c), so the heavy one is in every pair of consecutive picks.
  for (size_t i = 1; i < sequence.size(); ++i) {
    EXPECT_TRUE(sequence[i - 1] == 0 || sequence[i] == 0) << "picks " << i - 1 << ", " << i;
  }
}

TEST(LbWeightedRoundRobinTest, SharesOnlyAmongAvailableHosts) {
  FakeCluster cluster({5, 1, 1});
  cluster.eject(1);
  auto lb = cluster.factory(Policy::kWeightedRoundRobin)->create(0);
  for (int round = 0; round < 10; ++round) {
    EXPECT_EQ(countPicks(*lb, 3, 6), (std::vector<int>{5, 0, 1}));
  }
}

TEST(LbWeightedRoundRobinTest, EqualWeightsStartAtSeedDependentOffsets) {
  FakeCluster cluster = FakeCluster::ofSize(5);
  auto factory = cluster.factory(Policy::kWeightedRoundRobin);
  EXPECT_GE(firstPicksOfWorkers(*factory).size(), 4u);
  EXPECT_EQ(countPicks(*factory->create(9), 5, 500), std::vector<int>(5, 100));
}

// ---------------------------------------------------------------------------------------------

TEST(LbRandomTest, RoughlyUniform) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  auto lb = cluster.factory(Policy::kRandom)->create(12345);
  // 40,000 picks: 10,000 expected each, standard deviation ~87.
  for (int count : countPicks(*lb, 4, 40000)) {
    EXPECT_NEAR(count, 10000, 500);
  }
}

TEST(LbRandomTest, SeedsGiveDifferentSequences) {
  FakeCluster cluster = FakeCluster::ofSize(8);
  auto factory = cluster.factory(Policy::kRandom);
  auto a = factory->create(1);
  auto b = factory->create(2);
  int same = 0;
  for (int i = 0; i < 100; ++i) {
    same += a->pick({}) == b->pick({}) ? 1 : 0;
  }
  EXPECT_LT(same, 40);  // 12.5 expected
}

// ---------------------------------------------------------------------------------------------

TEST(LbLeastRequestTest, PrefersHostsWithFewerActiveRequests) {
  FakeCluster cluster = FakeCluster::ofSize(10);
  cluster.state(3).active_requests = 100;
  auto lb = cluster.factory(Policy::kLeastRequest)->create(5);
  std::vector<int> counts = countPicks(*lb, 10, 10000);
  // Two distinct endpoints are compared per pick: the loaded one always loses.
  EXPECT_EQ(counts[3], 0);
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i != 3) {
      EXPECT_NEAR(counts[i], 10000 / 9, 250) << "host " << i;
    }
  }
}

TEST(LbLeastRequestTest, ComparingEveryHostFindsTheLeastLoaded) {
  FakeCluster cluster = FakeCluster::ofSize(6);
  const int active[] = {5, 3, 7, 1, 4, 2};
  for (size_t i = 0; i < 6; ++i) {
    cluster.state(i).active_requests = active[i];
  }
  Options options;
  options.choice_count = 6;
  auto lb = cluster.factory(Policy::kLeastRequest, options)->create(1);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(lb->pick({}), 3);
  }
}

TEST(LbLeastRequestTest, HonoursWeights) {
  FakeCluster cluster({3, 1});
  auto lb = cluster.factory(Policy::kLeastRequest)->create(2);
  // (2 + 1) / 3 = 1 against (1 + 1) / 1 = 2: the heavier endpoint, despite more in flight.
  cluster.state(0).active_requests = 2;
  cluster.state(1).active_requests = 1;
  EXPECT_EQ(lb->pick({}), 0);
  // Requests that stay in flight end up split 3:1.
  cluster.state(0).active_requests = 0;
  cluster.state(1).active_requests = 0;
  std::vector<int> counts(2, 0);
  for (int i = 0; i < 400; ++i) {
    int picked = lb->pick({});
    ASSERT_GE(picked, 0);
    ++counts[static_cast<size_t>(picked)];
    cluster.state(static_cast<size_t>(picked)).active_requests.fetch_add(1);
  }
  EXPECT_NEAR(counts[0], 300, 3);
  EXPECT_NEAR(counts[1], 100, 3);
}

TEST(LbLeastRequestTest, KeepsInFlightRequestsLevel) {
  FakeCluster cluster = FakeCluster::ofSize(5);
  auto lb = cluster.factory(Policy::kLeastRequest)->create(8);
  for (int i = 0; i < 1000; ++i) {
    int picked = lb->pick({});
    ASSERT_GE(picked, 0);
    cluster.state(static_cast<size_t>(picked)).active_requests.fetch_add(1);
  }
  int most = 0;
  int least = 1000;
  for (size_t i = 0; i < 5; ++i) {
    most = std::max(most, cluster.state(i).active_requests.load());
    least = std::min(least, cluster.state(i).active_requests.load());
  }
  EXPECT_LE(most - least, 3);
}

// ---------------------------------------------------------------------------------------------
// RING_HASH and MAGLEV: the same properties.

class LbConsistentHashTest : public ::testing::TestWithParam<Policy> {};

TEST_P(LbConsistentHashTest, SameKeySameHostOnEveryWorker) {
  FakeCluster cluster = FakeCluster::ofSize(10);
  auto factory = cluster.factory(GetParam());
  auto worker_a = factory->create(1);
  auto worker_b = factory->create(2);
  std::set<int> owners;
  for (int i = 0; i < 1000; ++i) {
    int first = worker_a->pick(hashed(userHash(i)));
    ASSERT_GE(first, 0);
    EXPECT_EQ(worker_a->pick(hashed(userHash(i))), first);
    EXPECT_EQ(worker_b->pick(hashed(userHash(i))), first);
    owners.insert(first);
  }
  EXPECT_EQ(owners.size(), 10u);
}

TEST_P(LbConsistentHashTest, SpreadsKeysAcrossHosts) {
  FakeCluster cluster = FakeCluster::ofSize(10);
  auto lb = cluster.factory(GetParam())->create(0);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 10000; ++i) {
    ++counts[static_cast<size_t>(lb->pick(hashed(userHash(i))))];
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    EXPECT_GT(counts[i], 700) << "host " << i;
    EXPECT_LT(counts[i], 1300) << "host " << i;
  }
}

TEST_P(LbConsistentHashTest, HonoursWeights) {
  FakeCluster cluster({1, 1, 1, 3});
  auto lb = cluster.factory(GetParam())->create(0);
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 10000; ++i) {
    ++counts[static_cast<size_t>(lb->pick(hashed(userHash(i))))];
  }
  EXPECT_NEAR(counts[3], 5000, 600);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(counts[i], 1667, 400) << "host " << i;
  }
}

TEST_P(LbConsistentHashTest, RemovingOneOfTenHostsMovesAboutATenthOfTheKeys) {
  FakeCluster cluster = FakeCluster::ofSize(10);
  constexpr size_t kRemoved = 4;
  auto before = cluster.factory(GetParam())->create(0);
  auto after_factory = cluster.factory(GetParam(), {}, kRemoved);
  auto after = after_factory->create(0);
  constexpr int kKeys = 10000;
  int moved = 0;
  int on_remaining = 0;
  int moved_from_remaining = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string owner_before =
        cluster.hosts()[static_cast<size_t>(before->pick(hashed(userHash(i))))].key;
    std::string owner_after =
        after_factory->hosts()[static_cast<size_t>(after->pick(hashed(userHash(i))))].key;
    ASSERT_NE(owner_after, FakeCluster::keyOf(kRemoved));
    bool was_on_removed = owner_before == FakeCluster::keyOf(kRemoved);
    moved += owner_before != owner_after ? 1 : 0;
    if (!was_on_removed) {
      ++on_remaining;
      moved_from_remaining += owner_before != owner_after ? 1 : 0;
    }
  }
  double moved_fraction = static_cast<double>(moved) / kKeys;
  EXPECT_LT(moved_fraction, 0.15);
  EXPECT_GT(moved_fraction, 0.05);
  EXPECT_LT(static_cast<double>(moved_from_remaining) / on_remaining, 0.03);
}

TEST_P(LbConsistentHashTest, UnavailableOwnerSendsItsKeysElsewhereStably) {
  FakeCluster cluster = FakeCluster::ofSize(10);
  auto factory = cluster.factory(GetParam());
  auto lb = factory->create(0);
  std::vector<int> healthy_owner;
  for (int i = 0; i < 2000; ++i) {
    healthy_owner.push_back(lb->pick(hashed(userHash(i))));
  }
  cluster.eject(2);
  auto other_worker = factory->create(99);
  std::set<int> fallbacks;
  for (int i = 0; i < 2000; ++i) {
    int picked = lb->pick(hashed(userHash(i)));
    EXPECT_NE(picked, 2);
    EXPECT_EQ(lb->pick(hashed(userHash(i))), picked) << "stable";
    EXPECT_EQ(other_worker->pick(hashed(userHash(i))), picked) << "the same on every worker";
    if (healthy_owner[static_cast<size_t>(i)] == 2) {
      fallbacks.insert(picked);
    } else {
      EXPECT_EQ(picked, healthy_owner[static_cast<size_t>(i)]) << "only its keys move";
    }
  }
  EXPECT_GE(fallbacks.size(), 3u) << "its keys spread over the others";
  cluster.restore(2);
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(lb->pick(hashed(userHash(i))), healthy_owner[static_cast<size_t>(i)]);
  }
}

TEST_P(LbConsistentHashTest, WithoutHashPicksAtRandom) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  auto lb = cluster.factory(GetParam())->create(4);
  for (int count : countPicks(*lb, 4, 8000)) {
    EXPECT_NEAR(count, 2000, 250);
  }
}

INSTANTIATE_TEST_SUITE_P(Lb, LbConsistentHashTest,
                         ::testing::Values(Policy::kRingHash, Policy::kMaglev),
                         [](const ::testing::TestParamInfo<Policy>& info) {
                           return std::string(policyName(info.param));
                         });

// ---------------------------------------------------------------------------------------------

constexpr uint64_t kSecond = 1'000'000'000ULL;
constexpr uint64_t kDecayNs = Options{}.ewma_decay_ns;

PickContext at(uint64_t now_ns) {
  PickContext ctx;
  ctx.now_ns = now_ns;
  return ctx;
}

TEST(LbPeakEwmaTest, RoutesAroundASlowHost) {
  FakeCluster cluster = FakeCluster::ofSize(3);
  cluster.state(0).observeLatency(100, 5 * kSecond, kDecayNs);
  cluster.state(1).observeLatency(10'000, 5 * kSecond, kDecayNs);
  cluster.state(2).observeLatency(120, 5 * kSecond, kDecayNs);
  auto lb = cluster.factory(Policy::kPeakEwma)->create(6);
  std::vector<int> counts = countPicks(*lb, 3, 3000, at(5 * kSecond + 1'000'000));
  EXPECT_EQ(counts[1], 0);
  // The two fast ones: the faster wins when both are drawn (1/3 of picks), each wins against
  // the slow one: 2/3 and 1/3.
  EXPECT_NEAR(counts[0], 2000, 150);
  EXPECT_NEAR(counts[2], 1000, 150);
}

TEST(LbPeakEwmaTest, RequestsInFlightRaiseTheCost) {
  FakeCluster cluster = FakeCluster::ofSize(2);
  cluster.state(0).observeLatency(100, kSecond, kDecayNs);
  cluster.state(1).observeLatency(300, kSecond, kDecayNs);
  auto lb = cluster.factory(Policy::kPeakEwma)->create(1);
  EXPECT_EQ(lb->pick(at(kSecond)), 0);
  cluster.state(0).active_requests = 3;  // 100 x 4 > 300 x 1
  EXPECT_EQ(lb->pick(at(kSecond)), 1);
}

TEST(LbPeakEwmaTest, NewHostGetsANeutralStart) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  cluster.state(0).observeLatency(100, kSecond, kDecayNs);
  cluster.state(1).observeLatency(200, kSecond, kDecayNs);
  cluster.state(2).observeLatency(400, kSecond, kDecayNs);
  // Host 3 has no observation: it costs the average, 233, between hosts 1 and 2. Of the six
  // pairs drawn it wins only against host 2: 1/6. As free it would win 3/6 (flooded), as
  // unknown-is-slow 0 (starved).
  auto lb = cluster.factory(Policy::kPeakEwma)->create(3);
  std::vector<int> counts = countPicks(*lb, 4, 12000, at(kSecond));
  EXPECT_NEAR(counts[3], 2000, 300);
  EXPECT_NEAR(counts[1], 4000, 400);
  EXPECT_EQ(counts[2], 0);
}

TEST(LbPeakEwmaTest, NeutralStartAveragesUsableHostsOnly) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  cluster.state(0).observeLatency(100, kSecond, kDecayNs);
  cluster.state(1).observeLatency(100'000, kSecond, kDecayNs);
  cluster.state(2).observeLatency(300, kSecond, kDecayNs);
  cluster.eject(1);
  // Host 3 costs (100 + 300) / 2: it beats host 2 whenever both are drawn (1/3 of picks).
  // Were the ejected host's 100 ms counted, host 3 would never be picked.
  auto lb = cluster.factory(Policy::kPeakEwma)->create(3);
  std::vector<int> counts = countPicks(*lb, 4, 3000, at(kSecond));
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[3], 1000, 150);
  EXPECT_EQ(counts[2], 0);
}

TEST(LbPeakEwmaTest, HostsWithoutObservationsShareEvenly) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  auto lb = cluster.factory(Policy::kPeakEwma)->create(3);
  for (int count : countPicks(*lb, 4, 8000, at(kSecond))) {
    EXPECT_NEAR(count, 2000, 250);
  }
}

TEST(LbPeakEwmaTest, AnIdleSlowHostIsTriedAgainOnceItsEstimateDecays) {
  FakeCluster cluster = FakeCluster::ofSize(2);
  cluster.state(0).observeLatency(100, 0, kDecayNs);
  cluster.state(1).observeLatency(10'000, 0, kDecayNs);
  auto lb = cluster.factory(Policy::kPeakEwma)->create(3);
  EXPECT_EQ(lb->pick(at(kSecond)), 0);
  // Host 0 keeps answering in 100 us; host 1 has not been heard of for 10 time constants.
  cluster.state(0).observeLatency(100, 10 * kDecayNs, kDecayNs);
  EXPECT_EQ(lb->pick(at(10 * kDecayNs)), 1);
}

// ---------------------------------------------------------------------------------------------
// Every policy: the rules of a pick.

class LbEveryPolicyTest : public ::testing::TestWithParam<Policy> {
 protected:
  // Hash policies get a hash per pick (so that the owner varies); the others ignore it.
  static PickContext varied(int i) { return hashed(userHash(i)); }
};

TEST_P(LbEveryPolicyTest, AvoidsTheFailedHostWhenOthersCanTakeTheRequest) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  auto lb = cluster.factory(GetParam())->create(11);
  for (int avoid = 0; avoid < 4; ++avoid) {
    std::set<int> picked;
    for (int i = 0; i < 400; ++i) {
      PickContext ctx = varied(i);
      ctx.avoid = avoid;
      int host = lb->pick(ctx);
      EXPECT_NE(host, avoid);
      EXPECT_GE(host, 0);
      picked.insert(host);
    }
    EXPECT_EQ(picked.size(), 3u) << "avoid " << avoid;
  }
}

TEST_P(LbEveryPolicyTest, ReturnsTheAvoidedHostWhenItIsTheOnlyUsableOne) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  cluster.eject(0);
  cluster.eject(1);
  cluster.eject(3);
  auto lb = cluster.factory(GetParam())->create(11);
  for (int i = 0; i < 50; ++i) {
    PickContext ctx = varied(i);
    ctx.avoid = 2;
    EXPECT_EQ(lb->pick(ctx), 2);
  }
}

TEST_P(LbEveryPolicyTest, SkipsUnavailableHosts) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  cluster.eject(0);
  cluster.failHealthCheck(2);
  auto lb = cluster.factory(GetParam())->create(11);
  std::set<int> picked;
  for (int i = 0; i < 400; ++i) {
    picked.insert(lb->pick(varied(i)));
  }
  EXPECT_EQ(picked, (std::set<int>{1, 3}));
}

TEST_P(LbEveryPolicyTest, IgnoreHealthRoutesToUnavailableHosts) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  for (size_t i = 0; i < 4; ++i) {
    cluster.eject(i);
  }
  auto lb = cluster.factory(GetParam())->create(11);
  std::set<int> picked;
  for (int i = 0; i < 400; ++i) {
    PickContext ctx = varied(i);
    ctx.ignore_health = true;
    picked.insert(lb->pick(ctx));
  }
  EXPECT_EQ(picked, (std::set<int>{0, 1, 2, 3}));
}

TEST_P(LbEveryPolicyTest, MinusOneWhenNoHostIsUsable) {
  FakeCluster cluster = FakeCluster::ofSize(4);
  for (size_t i = 0; i < 4; ++i) {
    cluster.eject(i);
  }
  auto lb = cluster.factory(GetParam())->create(11);
  for (int i = 0; i < 20; ++i) {
    PickContext ctx = varied(i);
    EXPECT_EQ(lb->pick(ctx), -1);
    ctx.avoid = i % 4;
    EXPECT_EQ(lb->pick(ctx), -1);
    ctx.has_hash = false;
    EXPECT_EQ(lb->pick(ctx), -1);
  }
}

TEST_P(LbEveryPolicyTest, FactoryKeepsItsHostsAndItsBalancersOutliveIt) {
  FakeCluster cluster = FakeCluster::ofSize(3);
  auto factory = cluster.factory(GetParam());
  EXPECT_EQ(factory->policy(), GetParam());
  ASSERT_EQ(factory->hosts().size(), 3u);
  EXPECT_EQ(factory->hosts()[1].key, FakeCluster::keyOf(1));
  EXPECT_EQ(factory->hosts()[1].state, &cluster.state(1));
  auto lb = factory->create(0);
  factory.reset();  // a config update drops the factory while a worker still holds its balancer
  for (int i = 0; i < 30; ++i) {
    int host = lb->pick(varied(i));
    EXPECT_GE(host, 0);
    EXPECT_LT(host, 3);
  }
}

INSTANTIATE_TEST_SUITE_P(Lb, LbEveryPolicyTest,
                         ::testing::Values(Policy::kRoundRobin, Policy::kWeightedRoundRobin,
                                           Policy::kRandom, Policy::kLeastRequest,
                                           Policy::kRingHash, Policy::kMaglev, Policy::kPeakEwma),
                         [](const ::testing::TestParamInfo<Policy>& info) {
                           return std::string(policyName(info.param));
                         });

}  // namespace
}  // namespace remora::filters::lb
