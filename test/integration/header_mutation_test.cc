// Per-route header mutation and prefix rewrite through a real sidecar.

#include <gtest/gtest.h>

#include "common/http_client.h"
#include "support/process.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

TEST(HeaderMutationTest, RequestAndResponseHeadersChangeAndThePrefixIsRewritten) {
  TempDir dir;
  Echo echo = Echo::start(dir, "app");
  ASSERT_FALSE(echo.address.empty());
  std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- {name: main, address: 127.0.0.1:0, route_config: r}
static_resources:
  clusters:
  - {name: app, endpoints: [{address: )" + echo.address + R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - name: api
        match: {prefix: /api/v1}
        route: {cluster: app}
        prefix_rewrite: /internal
        request_headers:
          set: {x-team: checkout}
          add: {x-added: one}
          remove: [x-secret]
        response_headers:
          set: {x-served-by: remora}
          remove: [x-echo-id]
      - {name: rest, match: {prefix: /}, route: {cluster: app}}
)";
  Sidecar s = Sidecar::config(dir, yaml, {"--access-log", "off"});
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
  HttpClient c(s.main());
  auto r = c.get("/api/v1/orders?id=7", {{"X-Team", "spoofed"}, {"X-Secret", "s3cr3t"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const std::string& seen = r.value().body;
  EXPECT_NE(seen.find("\"path\":\"/internal/orders\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"query\":\"id=7\""), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"x-team\":\"checkout\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("spoofed"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"x-added\":\"one\""), std::string::npos) << seen;
  EXPECT_EQ(seen.find("s3cr3t"), std::string::npos) << seen;
  EXPECT_EQ(r.value().header("x-served-by"), "remora");
  EXPECT_FALSE(r.value().hasHeader("x-echo-id"));

  // Other routes are untouched.
  auto other = c.get("/api/v2/x", {{"X-Secret", "kept"}});
  ASSERT_TRUE(other.isOk());
  EXPECT_NE(other.value().body.find("\"path\":\"/api/v2/x\""), std::string::npos);
  EXPECT_NE(other.value().body.find("kept"), std::string::npos);
  EXPECT_TRUE(other.value().hasHeader("x-echo-id"));
  std::string reqs = s.adminGet("/requests?limit=2");
  EXPECT_NE(reqs.find("path rewritten to /internal/orders?id=7"), std::string::npos) << reqs;
}

TEST(HeaderMutationTest, PrefixRewriteWithoutAPrefixMatchIsAConfigError) {
  TempDir dir;
  std::string err = configErrorOf(dir, R"(admin: {address: 127.0.0.1:0}
listeners: [{name: main, address: 127.0.0.1:0, route_config: r}]
static_resources:
  clusters: [{name: app, endpoints: [{address: 127.0.0.1:9}]}]
  routes:
  - name: r
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {path: /exact}
        route: {cluster: app}
        prefix_rewrite: /x
)");
  EXPECT_NE(err.rfind("exit ", 0), 0u) << "the sidecar must exit with code 2: " << err;
  EXPECT_NE(err.find("bad.yaml:13:"), std::string::npos) << err;
  EXPECT_NE(err.find("prefix_rewrite needs a prefix match"), std::string::npos) << err;
}

}  // namespace
}  // namespace remora::test
