// Load balancers through a real sidecar: latency-aware policies route around a slow endpoint,
// consistent hashing keeps a key on one endpoint, weights shape the split.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "support/configs.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

std::string clusterConfig(const std::string& policy, const std::vector<std::string>& endpoints,
                          const std::string& extra = "") {
  return oneRouteConfig(clusterYaml("app", endpoints, "    lb_policy: " + policy + "\n" + extra),
                        "{cluster: app}", 2);
}

// `clients` threads, each sending `per_client` GETs on its own keep-alive connection; returns
// the answers per echo id (failures under "").
std::map<std::string, int> load(const std::string& address, int clients, int per_client,
                                const HttpClient::Headers& headers = {}) {
  std::map<std::string, int> by_echo;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      HttpClient c(address);
      std::map<std::string, int> mine;
      for (int i = 0; i < per_client; ++i) {
        auto r = c.get("/", headers);
        mine[r.isOk() && r.value().status == 200 ? std::string(r.value().header("x-echo-id"))
                                                 : std::string()]++;
      }
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& [k, v] : mine) {
        by_echo[k] += v;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  return by_echo;
}

class LoadBalancingTest : public ::testing::Test {
 protected:
  void startBackends() {
    fast_ = Echo::start(dir_, "fast");
    slow_ = Echo::start(dir_, "slow", {"--latency-ms", "40"});
    ASSERT_FALSE(fast_.address.empty());
    ASSERT_FALSE(slow_.address.empty());
  }
  void startSidecar(const std::string& yaml) {
    sidecar_ = Sidecar::config(dir_, yaml, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  TempDir dir_;
  Echo fast_;
  Echo slow_;
  Sidecar sidecar_;
};

TEST_F(LoadBalancingTest, PeakEwmaRoutesAroundASlowEndpoint) {
  startBackends();
  startSidecar(clusterConfig("PEAK_EWMA", {fast_.address, slow_.address}));
  auto by_echo = load(sidecar_.main(), 4, 50);
  EXPECT_EQ(by_echo[""], 0);
  // Round robin would give the slow endpoint half; a latency-aware balancer learns to avoid it.
  EXPECT_GT(by_echo["fast"], 180) << "fast " << by_echo["fast"] << ", slow " << by_echo["slow"];
  std::string clusters = sidecar_.adminGet("/clusters");
  EXPECT_NE(clusters.find("\"ewma_latency_ms\":"), std::string::npos) << clusters;
}

TEST_F(LoadBalancingTest, LeastRequestRoutesAroundASlowEndpoint) {
  startBackends();
  startSidecar(clusterConfig("LEAST_REQUEST", {fast_.address, slow_.address}));
  // Requests pile up on the slow endpoint, so two-choice picks favour the fast one.
  auto by_echo = load(sidecar_.main(), 8, 40);
  EXPECT_EQ(by_echo[""], 0);
  EXPECT_GT(by_echo["fast"], 240) << "fast " << by_echo["fast"] << ", slow " << by_echo["slow"];
}

TEST_F(LoadBalancingTest, RoundRobinSplitsEvenlyForComparison) {
  startBackends();
  startSidecar(clusterConfig("ROUND_ROBIN", {fast_.address, slow_.address}));
  auto by_echo = load(sidecar_.main(), 1, 40);
  EXPECT_EQ(by_echo["fast"], 20);
  EXPECT_EQ(by_echo["slow"], 20);
}

// 40 users, 5 requests each, over 4 endpoints hashed on x-user: each user stays on one.
void expectAffinity(const TempDir& dir, Sidecar& sidecar, const std::string& policy) {
  std::vector<Echo> echoes;
  std::vector<std::string> addresses;
  for (int i = 0; i < 4; ++i) {
    echoes.push_back(Echo::start(dir, "e" + std::to_string(i)));
    ASSERT_FALSE(echoes.back().address.empty());
    addresses.push_back(echoes.back().address);
  }
  sidecar = Sidecar::config(
      dir, clusterConfig(policy, addresses, "    load_balancer: {hash_on: {header: x-user}}\n"),
      {"--access-log", "off"});
  ASSERT_FALSE(sidecar.admin.empty()) << readFile(sidecar.stderr_file);
  std::map<std::string, std::string> home;  // user -> endpoint
  std::map<std::string, int> users_per_endpoint;
  HttpClient c(sidecar.main());
  for (int u = 0; u < 40; ++u) {
    std::string user = "user-" + std::to_string(u);
    for (int i = 0; i < 5; ++i) {
      auto r = c.get("/", {{"x-user", user}});
      ASSERT_TRUE(r.isOk());
      std::string id(r.value().header("x-echo-id"));
      if (i == 0) {
        home[user] = id;
        users_per_endpoint[id]++;
      } else {
        EXPECT_EQ(id, home[user]) << user;
      }
    }
  }
  EXPECT_EQ(users_per_endpoint.size(), 4u) << "40 users should land on every endpoint";
}

TEST_F(LoadBalancingTest, RingHashKeepsAUserOnOneEndpoint) {
  expectAffinity(dir_, sidecar_, "RING_HASH");
}

TEST_F(LoadBalancingTest, MaglevKeepsAUserOnOneEndpoint) {
  expectAffinity(dir_, sidecar_, "MAGLEV");
}

TEST_F(LoadBalancingTest, WeightedRoundRobinFollowsEndpointWeights) {
  Echo heavy = Echo::start(dir_, "heavy");
  Echo light = Echo::start(dir_, "light");
  ASSERT_FALSE(heavy.address.empty());
  ASSERT_FALSE(light.address.empty());
  std::string cluster = "  - name: app\n    lb_policy: WEIGHTED_ROUND_ROBIN\n    endpoints:\n"
                        "    - {address: " + heavy.address + ", weight: 3}\n"
                        "    - {address: " + light.address + ", weight: 1}\n";
  startSidecar(oneRouteConfig(cluster, "{cluster: app}", 2));
  // One worker's share of 40 requests is exactly 3:1; two workers each keep the ratio.
  auto by_echo = load(sidecar_.main(), 1, 40);
  EXPECT_NEAR(by_echo["heavy"], 30, 2);
  EXPECT_NEAR(by_echo["light"], 10, 2);
}

}  // namespace
}  // namespace remora::test
