// Opaque TCP picks its endpoint like HTTP does: the cluster's balancer (weights), active health
// checks and outlier ejections from connect failures. Real remora-sidecar and remora-echo
// (`--tcp --banner ID`: each upstream names itself first) on 127.0.0.1.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// One OPAQUE listener "tcp" whose connections go to the cluster "backend": `endpoints` is the
// YAML flow list of its endpoints, `cluster_extra` more fields of the cluster (indented lines).
std::string balancedTcpConfig(const std::string& endpoints, const std::string& cluster_extra) {
  return "concurrency: 1\n"
         "access_log: {enabled: false}\n"
         "listeners:\n"
         "  - name: tcp\n"
         "    address: 127.0.0.1:0\n"
         "    tcp_cluster: backend\n"
         "    protocol: OPAQUE\n"
         "static_resources:\n"
         "  clusters:\n"
         "    - name: backend\n"
         "      connect_timeout: 1s\n"
         "      endpoints: " +
         endpoints + "\n" + cluster_extra;
}

// A TCP echo that first sends "ID\n".
Echo bannerEcho(const TempDir& dir, const std::string& id) {
  return Echo::start(dir, id, {"--tcp", "--banner", id});
}

// One connection through `listener`: the upstream's banner line without its newline, or ""
// when the connection closed (or nothing came within 2 s) before a whole line.
std::string bannerThrough(const std::string& listener) {
  HttpClient c(listener, 2s);
  if (!c.connect().isOk()) {
    return "";
  }
  std::string got;
  while (got.find('\n') == std::string::npos) {
    auto r = c.readRaw();
    if (!r.isOk() || r.value().empty()) {
      return "";
    }
    got += r.value();
  }
  return got.substr(0, got.find('\n'));
}

TEST(TcpBalancingTest, WeightedRoundRobinSpreadsConnectionsByWeight) {
  TempDir dir;
  Echo a = bannerEcho(dir, "a");
  Echo b = bannerEcho(dir, "b");
  ASSERT_FALSE(a.address.empty() || b.address.empty());
  Sidecar sidecar = Sidecar::config(
      dir, balancedTcpConfig("[{address: \"" + a.address + "\", weight: 3}, {address: \"" +
                                 b.address + "\", weight: 1}]",
                             "      lb_policy: WEIGHTED_ROUND_ROBIN\n"));
  ASSERT_FALSE(sidecar.admin.empty()) << readFile(sidecar.stderr_file);
  std::map<std::string, int> seen;
  for (int i = 0; i < 40; ++i) {
    ++seen[bannerThrough(sidecar.listeners.at("tcp"))];
  }
  // One worker, smooth weighted round robin: exactly 3 of every 4 connections go to "a" (plain
  // round robin would give 20 / 20).
  EXPECT_EQ(seen["a"], 30);
  EXPECT_EQ(seen["b"], 10);
  EXPECT_EQ(seen[""], 0);
}

// A cluster of two endpoints: "a", alive, then a port nobody listens on.
class TcpLiveAndDeadEndpointTest : public ::testing::Test {
 protected:
  void start(const std::string& cluster_extra) {
    a_ = bannerEcho(dir_, "a");
    ASSERT_FALSE(a_.address.empty());
    const uint16_t dead = pickFreePort();
    ASSERT_NE(dead, 0);
    sidecar_ = Sidecar::config(
        dir_, balancedTcpConfig("[{address: \"" + a_.address +
                                    "\"}, {address: \"127.0.0.1:" + std::to_string(dead) + "\"}]",
                                cluster_extra));
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  TempDir dir_;
  Echo a_;
  Sidecar sidecar_;
};

TEST_F(TcpLiveAndDeadEndpointTest, ConnectionsAvoidAnEndpointThatFailsItsHealthCheck) {
  ASSERT_NO_FATAL_FAILURE(
      start("      health_check: {tcp: {}, interval: 200ms, timeout: 200ms,\n"
            "                     unhealthy_threshold: 1, healthy_threshold: 1}\n"));
  Sidecar& sidecar = sidecar_;
  // The sidecar is ready only once every endpoint had its first check: the dead one is known.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(bannerThrough(sidecar.listeners.at("tcp")), "a") << "connection " << i;
  }
  EXPECT_EQ(sidecar.stat("remora_upstream_cx_connect_fail_total{cluster=\"backend\"}"), 0)
      << "no connection may be sent to the endpoint that fails its health check";
}

TEST_F(TcpLiveAndDeadEndpointTest, ConnectFailuresEjectTheDeadEndpoint) {
  ASSERT_NO_FATAL_FAILURE(
      start("      outlier_detection: {consecutive_5xx: 2, consecutive_gateway_failure: 2, "
            "base_ejection_time: 60s}\n"));
  Sidecar& sidecar = sidecar_;
  // Round robin alternates: a, dead (1st failure), a, dead (2nd: ejected), then "a" only.
  int failed = 0;
  for (int i = 0; i < 24; ++i) {
    if (bannerThrough(sidecar.listeners.at("tcp")) != "a") {
      ++failed;
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(sidecar.stat("remora_upstream_cx_connect_fail_total{cluster=\"backend\"}"), 2);
  EXPECT_EQ(sidecar.stat("remora_outlier_ejections_total{cluster=\"backend\"}"), 1)
      << sidecar.adminGet("/stats");
}

}  // namespace
}  // namespace remora::test
