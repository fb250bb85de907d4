// Validation of the traffic policies of clusters and routes: every bad value is reported with
// the file, line and field path, and good policies load.

#include <gtest/gtest.h>

#include "xds/bootstrap_loader.h"

namespace remora::xds {
namespace {

// One cluster "app" with `cluster_extra` (indented 4) and one route to it with `route_extra`
// (inside the route action, indented 8).
std::string config(const std::string& cluster_extra, const std::string& action = "{cluster: app}") {
  return "static_resources:\n"
         "  clusters:\n"
         "  - name: app\n"
         "    endpoints: [{address: 127.0.0.1:9000}]\n" +
         cluster_extra +
         "  routes:\n"
         "  - name: r\n"
         "    virtual_hosts:\n"
         "    - name: all\n"
         "      domains: ['*']\n"
         "      routes:\n"
         "      - match: {prefix: /}\n"
         "        route: " +
         action + "\n";
}

std::string errorOf(const std::string& yaml) {
  auto r = parseBootstrap(yaml, "p.yaml");
  EXPECT_FALSE(r.isOk()) << yaml;
  return r.isOk() ? "" : r.status().message();
}

TEST(PolicyValidationTest, AFullPolicySetLoads) {
  auto r = parseBootstrap(config(R"(    lb_policy: RING_HASH
    load_balancer: {hash_on: {header: x-user}, ring_size: 2048, panic_threshold_percent: 30}
    circuit_breakers: {max_connections: 10, max_pending_requests: 5, max_requests: 20, max_retries: 2}
    retry_policy:
      num_retries: 2
      retry_on: [5xx, gateway-error, reset, connect-failure, retriable-status-codes]
      retriable_status_codes: [503]
      per_try_timeout: 1s
      backoff: {base_interval: 25ms, max_interval: 250ms}
      budget: {percent: 20, min_retries_per_second: 3}
    outlier_detection: {consecutive_5xx: 5, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 10}
    health_check: {http: {path: /healthz, expected_statuses: [200, 204]}, interval: 5s, timeout: 1s}
    fallback: {status: 200, body: '{}', headers: {content-type: application/json}}
)"),
                          "p.yaml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().static_resources().clusters(0).retry_policy().num_retries(), 2u);
  EXPECT_TRUE(
      r.value().static_resources().clusters(0).load_balancer().has_panic_threshold_percent());
}

TEST(PolicyValidationTest, UnknownRetryOnNamesTheEntry) {
  EXPECT_EQ(errorOf(config("    retry_policy: {num_retries: 1, retry_on: [5xx, timeout]}\n")),
            "p.yaml:5:52: static_resources.clusters[0].retry_policy.retry_on[1]: unknown "
            "retry_on \"timeout\" (use 5xx, gateway-error, reset, connect-failure, "
            "retriable-status-codes, cancelled, deadline-exceeded, resource-exhausted, internal, "
            "unavailable)");
}

TEST(PolicyValidationTest, RouteRetryPolicyIsCheckedToo) {
  std::string e =
      errorOf(config("", "{cluster: app, retry_policy: {retriable_status_codes: [700]}}"));
  EXPECT_NE(e.find("route.retry_policy.retriable_status_codes[0]: status 700 is not in 100..599"),
            std::string::npos)
      << e;
}

TEST(PolicyValidationTest, HashOnNeedsAHashingBalancer) {
  std::string e = errorOf(config("    load_balancer: {hash_on: {header: x-user}}\n"));
  EXPECT_NE(
      e.find("clusters[0].load_balancer.hash_on: hash_on is only used by RING_HASH and MAGLEV"),
      std::string::npos)
      << e;
}

TEST(PolicyValidationTest, PercentagesAreBounded) {
  std::string e =
      errorOf(config("    load_balancer: {panic_threshold_percent: 150}\n"
                     "    outlier_detection: {max_ejection_percent: 101}\n"));
  EXPECT_NE(
      e.find("load_balancer.panic_threshold_percent: panic_threshold_percent 150 is not in 0..100"),
      std::string::npos)
      << e;
  EXPECT_NE(e.find("outlier_detection.max_ejection_percent"), std::string::npos) << e;
}

TEST(PolicyValidationTest, HealthCheckNeedsAKind) {
  std::string e = errorOf(config("    health_check: {interval: 1s}\n"));
  EXPECT_NE(e.find("clusters[0].health_check: a health check needs http or tcp"), std::string::npos)
      << e;
}

TEST(PolicyValidationTest, FallbackStatusIsBounded) {
  std::string e = errorOf(config("    fallback: {status: 99}\n"));
  EXPECT_NE(e.find("fallback.status: status 99 is not in 200..599"), std::string::npos) << e;
}

TEST(PolicyValidationTest, WeightedClustersExcludeClusterAndNeedWeight) {
  std::string both =
      errorOf(config("", "{cluster: app, weighted_clusters: [{cluster: app, weight: 1}]}"));
  EXPECT_NE(both.find("route.cluster: set either cluster or weighted_clusters, not both"),
            std::string::npos)
      << both;
  std::string zero = errorOf(config("", "{weighted_clusters: [{cluster: app, weight: 0}]}"));
  EXPECT_NE(zero.find("route.weighted_clusters: the weights add up to 0"), std::string::npos)
      << zero;
  std::string unknown = errorOf(config("", "{weighted_clusters: [{cluster: nope, weight: 1}]}"));
  EXPECT_NE(unknown.find("weighted_clusters[0].cluster"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("nope"), std::string::npos) << unknown;
}

}  // namespace
}  // namespace remora::xds
