// remoractl status: the table rendered from a canned GET /v1/proxies body, NACK lines included.

#include <gtest/gtest.h>

#include <string>

#include "control/cli/api_client.h"
#include "control/cli/status_command.h"

namespace remora::control::cli {
namespace {

constexpr const char* kProxies = R"({"proxies": [
  {"node_id": "cart-1", "service": "cart", "namespace": "shop", "peer": "127.0.0.1:40001",
   "admin": "127.0.0.1:15000", "connected_seconds": 7384, "status": "NACKED",
   "types": {
     "clusters": {"sent": "3f2a9c01deadbeef", "acked": "3f2a9c01deadbeef", "status": "SYNCED"},
     "endpoints": {"sent": "77aa00bb11", "acked": "77aa00bb11", "status": "SYNCED"},
     "routes": {"sent": "e5e5e5e5e5e5", "acked": "d4d4d4d4d4d4", "status": "NACKED",
                "error": "route 'canary': unknown cluster\nsecond line"},
     "listeners": {"sent": "abc", "acked": "abc", "status": "SYNCED"}}},
  {"node_id": "frontend-1", "service": "frontend", "namespace": "shop",
   "admin": "127.0.0.1:15001", "connected_seconds": 5, "status": "STALE",
   "future_field": {"ignored": true},
   "types": {
     "clusters": {"sent": "3f2a9c01deadbeef", "acked": "", "status": "STALE"},
     "endpoints": {"sent": "77aa00bb11", "acked": "77aa00bb11", "status": "SYNCED"},
     "routes": {"sent": "", "acked": "", "status": "STALE"}}},
  {"node_id": "lonely", "connected_seconds": 200}
]})";

TEST(RemoractlStatus, RendersOneRowPerProxyAndOneLinePerNack) {
  auto proxies = parseProxies(kProxies);
  ASSERT_TRUE(proxies.isOk()) << proxies.status().message();
  EXPECT_EQ(renderStatus(proxies.value()),
            "NAME         SERVICE         CLUSTERS          ENDPOINTS         ROUTES            "
            "LISTENERS    ADMIN             AGE\n"
            "cart-1       cart.shop       SYNCED 3f2a9c01   SYNCED 77aa00bb   NACKED d4d4d4d4   "
            "SYNCED abc   127.0.0.1:15000   2h\n"
            "frontend-1   frontend.shop   STALE 3f2a9c01    SYNCED 77aa00bb   NOT SENT          "
            "NOT SENT     127.0.0.1:15001   5s\n"
            "lonely       -               NOT SENT          NOT SENT          NOT SENT          "
            "NOT SENT     -                 3m\n"
            "\n"
            "cart-1 routes: route 'canary': unknown cluster second line\n");
}

TEST(RemoractlStatus, NoProxiesSaysSo) {
  auto proxies = parseProxies(R"({"proxies": []})");
  ASSERT_TRUE(proxies.isOk());
  EXPECT_EQ(renderStatus(proxies.value()), "no proxies connected\n");
  auto empty = parseProxies("{}");
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(renderStatus(empty.value()), "no proxies connected\n");
}

TEST(RemoractlStatus, BadJsonIsAOneLineError) {
  auto bad = parseProxies(R"({"proxies": [{"node_id": 12, )");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message().rfind("bad JSON from GET /v1/proxies: ", 0), 0u)
      << bad.status().message();
  EXPECT_EQ(bad.status().message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace remora::control::cli
