// ClusterRuntimes: endpoint state survives config updates for the addresses that stay, and the
// health counts follow the endpoints that come and go.

#include "sidecar/cluster_runtime.h"

#include <gtest/gtest.h>

namespace remora::sidecar {
namespace {

using filters::kHostEjected;
using filters::kHostFailedHealthCheck;

TEST(ClusterRuntimeTest, StateOfKeptEndpointsSurvivesAnUpdate) {
  ClusterRuntimes runtimes;
  std::vector<std::shared_ptr<filters::HostState>> hosts;
  auto rt = runtimes.update("app", {"10.0.0.1:80", "10.0.0.2:80"}, 0, 0, hosts);
  ASSERT_EQ(hosts.size(), 2u);
  hosts[1]->setFlag(kHostEjected, rt->health);
  hosts[1]->times_ejected = 2;
  rt->active_requests = 5;

  std::vector<std::shared_ptr<filters::HostState>> again;
  auto rt2 = runtimes.update("app", {"10.0.0.2:80", "10.0.0.3:80"}, 0, 0, again);
  EXPECT_EQ(rt2, rt) << "one runtime per cluster name";
  EXPECT_EQ(rt2->active_requests.load(), 5);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0], hosts[1]);
  EXPECT_TRUE(again[0]->has(kHostEjected));
  EXPECT_EQ(again[0]->times_ejected.load(), 2u);
  EXPECT_NE(again[1], hosts[0]);
  EXPECT_EQ(rt->health.unavailable.load(), 1u);
  EXPECT_EQ(rt->health.ejected.load(), 1u);
}

TEST(ClusterRuntimeTest, RemovedEndpointsLeaveTheHealthCounts) {
  ClusterRuntimes runtimes;
  std::vector<std::shared_ptr<filters::HostState>> hosts;
  auto rt = runtimes.update("app", {"a:1", "b:1"}, kHostFailedHealthCheck, 0, hosts);
  EXPECT_EQ(rt->health.unavailable.load(), 2u) << "health-checked endpoints start unavailable";
  hosts[0]->setFlag(kHostEjected, rt->health);
  EXPECT_EQ(rt->health.unavailable.load(), 2u);
  runtimes.update("app", {"b:1"}, kHostFailedHealthCheck, 0, hosts);
  EXPECT_EQ(rt->health.unavailable.load(), 1u);
  EXPECT_EQ(rt->health.ejected.load(), 0u);
}

TEST(ClusterRuntimeTest, TurningHealthChecksOffClearsTheirFlag) {
  ClusterRuntimes runtimes;
  std::vector<std::shared_ptr<filters::HostState>> hosts;
  auto rt = runtimes.update("app", {"a:1"}, kHostFailedHealthCheck, 0, hosts);
  EXPECT_FALSE(hosts[0]->available());
  runtimes.update("app", {"a:1"}, 0, kHostFailedHealthCheck, hosts);
  EXPECT_TRUE(hosts[0]->available());
  EXPECT_EQ(rt->health.unavailable.load(), 0u);
}

TEST(ClusterRuntimeTest, ClustersAreIndependent) {
  ClusterRuntimes runtimes;
  std::vector<std::shared_ptr<filters::HostState>> a;
  std::vector<std::shared_ptr<filters::HostState>> b;
  auto ra = runtimes.update("a", {"x:1"}, 0, 0, a);
  auto rb = runtimes.update("b", {"x:1"}, 0, 0, b);
  EXPECT_NE(ra, rb);
  EXPECT_NE(a[0], b[0]) << "the same address in two clusters has two states";
}

}  // namespace
}  // namespace remora::sidecar
