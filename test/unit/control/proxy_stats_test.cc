#include "control/proxy_stats.h"

#include <gtest/gtest.h>

namespace remora::control {
namespace {

constexpr const char* kSidecarA = R"(# TYPE remora_upstream_rq_total counter
remora_upstream_rq_total{cluster="catalog.shop:8080",code_class="2xx"} 90
remora_upstream_rq_total{cluster="catalog.shop:8080",code_class="5xx"} 10
remora_upstream_rq_total{cluster="local-app",code_class="2xx"} 500
remora_upstream_rq_total{cluster="passthrough",code_class="2xx"} 7
# TYPE remora_upstream_rq_time_ms histogram
remora_upstream_rq_time_ms_bucket{cluster="catalog.shop:8080",le="0.5"} 0
remora_upstream_rq_time_ms_bucket{cluster="catalog.shop:8080",le="1"} 50
remora_upstream_rq_time_ms_bucket{cluster="catalog.shop:8080",le="2"} 100
remora_upstream_rq_time_ms_bucket{cluster="catalog.shop:8080",le="5"} 100
remora_upstream_rq_time_ms_sum{cluster="catalog.shop:8080"} 120.5
remora_upstream_rq_time_ms_count{cluster="catalog.shop:8080"} 100
remora_upstream_rq_time_ms_bucket{cluster="orders.shop:8080",le="0.5"} 3
remora_upstream_rq_time_ms_bucket{cluster="orders.shop:8080",le="1"} 4
)";

constexpr const char* kSidecarB =
    R"(remora_upstream_rq_total{cluster="catalog.shop:8080",code_class="2xx"} 5
remora_upstream_rq_total{cluster="catalog-v2.shop:8080",code_class="4xx"} 3
remora_upstream_rq_time_ms_bucket{cluster="catalog.shop:8080",le="0.5"} 5
)";

// gRPC calls to inventory from two sidecars: every failed call came in an HTTP 200.
constexpr const char* kGrpcA = R"(# TYPE remora_grpc_requests_total counter
remora_upstream_rq_total{cluster="inventory.shop:9090",code_class="2xx"} 100
remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="0"} 90
remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="1"} 0
remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="5"} 4
remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="14"} 6
remora_grpc_requests_total{cluster="local-app",grpc_status="14"} 50
)";
constexpr const char* kGrpcB =
    R"(remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="0"} 10
remora_grpc_requests_total{cluster="inventory.shop:9090",grpc_status="14"} 1
remora_grpc_requests_total{cluster="inventory-v2.shop:9090",grpc_status="16"} 2
)";

TEST(ProxyStats, SumsRequestsErrorsAndBucketsByDestinationService) {
  ServiceStatsMap totals;
  addPrometheusText(kSidecarA, totals);
  addPrometheusText(kSidecarB, totals);
  ASSERT_EQ(totals.size(), 3u);  // catalog, catalog-v2, orders; local-app and passthrough skipped
  const auto& catalog = totals.at("shop/catalog");
  EXPECT_EQ(catalog.service(), "catalog");
  EXPECT_EQ(catalog.namespace_(), "shop");
  EXPECT_EQ(catalog.requests(), 105u);
  EXPECT_EQ(catalog.errors(), 10u);
  // Cumulative -> per bucket: A gives 0, 50, 50, 0; B adds 5 to the first.
  EXPECT_EQ(catalog.latency_buckets(0), 5u);
  EXPECT_EQ(catalog.latency_buckets(1), 50u);
  EXPECT_EQ(catalog.latency_buckets(2), 50u);
  EXPECT_EQ(catalog.latency_buckets(3), 0u);
  const auto& orders = totals.at("shop/orders");
  EXPECT_EQ(orders.latency_buckets(0), 3u);
  EXPECT_EQ(orders.latency_buckets(1), 1u);
  EXPECT_EQ(totals.at("shop/catalog-v2").errors(), 0u);
  EXPECT_EQ(totals.at("shop/catalog-v2").requests(), 3u);
}

TEST(ProxyStats, SumsGrpcCallsByStatusLeavingOutCodesWithoutCalls) {
  ServiceStatsMap totals;
  addPrometheusText(kGrpcA, totals);
  addPrometheusText(kGrpcB, totals);
  ASSERT_EQ(totals.size(), 2u);  // local-app skipped
  const auto& inventory = totals.at("shop/inventory");
  EXPECT_EQ(inventory.requests(), 100u);
  EXPECT_EQ(inventory.errors(), 0u);  // no 5xx: the failures are in grpc-status
  const auto& statuses = inventory.grpc_statuses();
  EXPECT_EQ(statuses.size(), 3u);  // 0, 5, 14; status 1 had no calls
  EXPECT_EQ(statuses.at(0), 100u);
  EXPECT_EQ(statuses.at(5), 4u);
  EXPECT_EQ(statuses.at(14), 7u);
  EXPECT_EQ(statuses.count(1), 0u);
  EXPECT_EQ(totals.at("shop/inventory-v2").grpc_statuses().at(16), 2u);
}

TEST(ProxyStats, GrpcStatusesOutsideGrpcsCodesAreSkipped) {
  // A peer's text decides the label values: only 0..16 may become map keys.
  ServiceStatsMap totals;
  addPrometheusText(
      "remora_grpc_requests_total{cluster=\"s.n:1\",grpc_status=\"17\"} 5\n"
      "remora_grpc_requests_total{cluster=\"s.n:1\",grpc_status=\"4294967296\"} 5\n"
      "remora_grpc_requests_total{cluster=\"s.n:1\",grpc_status=\"-1\"} 5\n"
      "remora_grpc_requests_total{cluster=\"s.n:1\",grpc_status=\"OK\"} 5\n"
      "remora_grpc_requests_total{cluster=\"s.n:1\"} 5\n"
      "remora_grpc_requests_total{cluster=\"s.n:1\",grpc_status=\"13\"} 3\n",
      totals);
  ASSERT_EQ(totals.size(), 1u);
  const auto& statuses = totals.at("n/s").grpc_statuses();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses.at(13), 3u);
}

TEST(ProxyStats, MergingPerSidecarTotalsEqualsSummingInOnePass) {
  // The parallel scrape parses each sidecar into its own totals and merges them at the end.
  ServiceStatsMap one_pass;
  ServiceStatsMap merged;
  for (const char* text : {kSidecarA, kSidecarB, kGrpcA, kGrpcB}) {
    addPrometheusText(text, one_pass);
    ServiceStatsMap own;
    addPrometheusText(text, own);
    mergeServiceStats(own, merged);
  }
  ASSERT_EQ(merged.size(), one_pass.size());
  for (const auto& [key, s] : one_pass) {
    const auto& m = merged.at(key);
    EXPECT_EQ(m.service(), s.service());
    EXPECT_EQ(m.namespace_(), s.namespace_());
    EXPECT_EQ(m.requests(), s.requests()) << key;
    EXPECT_EQ(m.errors(), s.errors()) << key;
    ASSERT_EQ(m.latency_buckets_size(), s.latency_buckets_size());
    for (int i = 0; i < s.latency_buckets_size(); ++i) {
      EXPECT_EQ(m.latency_buckets(i), s.latency_buckets(i)) << key << " bucket " << i;
    }
    EXPECT_EQ(m.grpc_statuses().size(), s.grpc_statuses().size()) << key;
    for (const auto& [code, calls] : s.grpc_statuses()) {
      EXPECT_EQ(m.grpc_statuses().at(code), calls) << key << " grpc-status " << code;
    }
  }
  EXPECT_EQ(merged.at("shop/inventory").grpc_statuses().at(14), 7u);
}

TEST(ProxyStats, NoAdminsIsAnEmptyAnswer) {
  ScrapeFailures failures;
  failures.timeout = 9;
  auto out = collectProxyStats({}, ScrapeOptions(), &failures);
  EXPECT_EQ(out.proxies_scraped(), 0u);
  EXPECT_EQ(out.proxies_failed(), 0u);
  EXPECT_EQ(failures.timeout, 0u);
  EXPECT_GT(out.latency_bounds_ms_size(), 0);
}

TEST(ProxyStats, GarbageIsSkipped) {
  ServiceStatsMap totals;
  addPrometheusText("remora_upstream_rq_total{cluster=\"x\n{}}}\nnot a metric\n\n", totals);
  EXPECT_TRUE(totals.empty());
}

}  // namespace
}  // namespace remora::control
