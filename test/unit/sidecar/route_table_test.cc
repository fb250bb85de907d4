// Route matching: virtual host selection by authority, then the first route whose conditions
// all hold.

#include "sidecar/route_table.h"

#include <gtest/gtest.h>

namespace remora::sidecar {
namespace {

RouteEntry prefixRoute(std::string name, std::string prefix, uint32_t cluster) {
  RouteEntry r;
  r.name = std::move(name);
  r.path_kind = RouteEntry::PathKind::kPrefix;
  r.path = std::move(prefix);
  r.cluster = cluster;
  return r;
}

const RouteEntry* match(const RouteTable& t, std::string_view authority, std::string_view path,
                        std::string_view method = "GET", const common::HeaderMap* h = nullptr) {
  static common::HeaderMap empty;
  return t.match(RouteRequest{authority, path, method, h ? h : &empty});
}

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VirtualHost orders{"orders", {prefixRoute("orders", "/", 1)}};
    table.addVirtualHost(std::move(orders),
                         {"orders", "orders:8080", "orders.shop", "orders.shop.svc.cluster.local"});
    VirtualHost wild{"wild", {prefixRoute("wild", "/", 2)}};
    table.addVirtualHost(std::move(wild), {"*.example.com"});
    VirtualHost pre{"pre", {prefixRoute("pre", "/", 3)}};
    table.addVirtualHost(std::move(pre), {"api.*"});
    VirtualHost any{"any", {prefixRoute("any", "/", 4)}};
    table.addVirtualHost(std::move(any), {"*"});
  }
  RouteTable table;
};

TEST_F(RouteTableTest, ExactDomainWinsWithOrWithoutPortAndInAnyCase) {
  EXPECT_EQ(match(table, "orders", "/")->name, "orders");
  EXPECT_EQ(match(table, "orders:8080", "/")->name, "orders");
  EXPECT_EQ(match(table, "ORDERS:9999", "/")->name, "orders");  // port stripped, then exact
  EXPECT_EQ(match(table, "orders.shop.svc.cluster.local:8080", "/x")->name, "orders");
}

TEST_F(RouteTableTest, WildcardsThenCatchAll) {
  EXPECT_EQ(match(table, "a.example.com", "/")->name, "wild");
  EXPECT_EQ(match(table, "api.internal:80", "/")->name, "pre");
  EXPECT_EQ(match(table, "unknown", "/")->name, "any");
  EXPECT_EQ(match(table, "example.com", "/")->name, "any");  // "*.example.com" needs a label
}

TEST(RouteMatchTest, PathKindsMethodsHeadersAndQuery) {
  RouteTable t;
  VirtualHost vh;
  vh.name = "vh";
  RouteEntry exact = prefixRoute("exact", "", 1);
  exact.path_kind = RouteEntry::PathKind::kExact;
  exact.path = "/exact";
  RouteEntry regex = prefixRoute("regex", "", 2);
  regex.path_kind = RouteEntry::PathKind::kRegex;
  regex.path = "/items/[0-9]+";
  regex.path_regex.emplace(regex.path);
  RouteEntry post = prefixRoute("post-only", "/api", 3);
  post.methods = {"POST"};
  RouteEntry header = prefixRoute("canary", "/api", 4);
  header.headers.push_back(HeaderCondition{"x-canary", StringMatch{StringMatch::Kind::kExact, "1", {}}, false});
  RouteEntry query = prefixRoute("debug", "/api", 5);
  query.query.push_back(QueryCondition{"debug", StringMatch{StringMatch::Kind::kPresent, "", {}}});
  RouteEntry fallback = prefixRoute("fallback", "/", 6);
  vh.routes = {exact, regex, post, header, query, fallback};
  t.addVirtualHost(std::move(vh), {"*"});

  EXPECT_EQ(match(t, "h", "/exact")->name, "exact");
  EXPECT_EQ(match(t, "h", "/exact?x=1")->name, "exact");  // the query is not part of the path
  EXPECT_EQ(match(t, "h", "/exact/more")->name, "fallback");
  EXPECT_EQ(match(t, "h", "/items/42")->name, "regex");
  EXPECT_EQ(match(t, "h", "/items/42x")->name, "fallback");  // regex matches the whole path
  EXPECT_EQ(match(t, "h", "/api/x", "POST")->name, "post-only");
  common::HeaderMap canary;
  canary.add("X-Canary", "1");
  EXPECT_EQ(match(t, "h", "/api/x", "GET", &canary)->name, "canary");
  EXPECT_EQ(match(t, "h", "/api/x?a=1&debug")->name, "debug");
  EXPECT_EQ(match(t, "h", "/api/x?debug=yes")->name, "debug");
  EXPECT_EQ(match(t, "h", "/api/x?nodebug=1")->name, "fallback");
}

TEST(RouteMatchTest, NoVirtualHostMeansNoRoute) {
  RouteTable t;
  VirtualHost vh{"only", {prefixRoute("r", "/", 0)}};
  t.addVirtualHost(std::move(vh), {"orders"});
  EXPECT_EQ(match(t, "payments", "/"), nullptr);
  EXPECT_NE(match(t, "orders", "/"), nullptr);
}

TEST(RouteMatchTest, InvertedHeaderMatchRequiresTheHeaderToDiffer) {
  RouteTable t;
  VirtualHost vh;
  RouteEntry r = prefixRoute("not-v2", "/", 0);
  r.headers.push_back(HeaderCondition{"x-version", StringMatch{StringMatch::Kind::kExact, "v2", {}}, true});
  vh.routes = {r};
  t.addVirtualHost(std::move(vh), {"*"});
  common::HeaderMap v2;
  v2.add("x-version", "v2");
  common::HeaderMap v1;
  v1.add("x-version", "v1");
  EXPECT_EQ(match(t, "h", "/", "GET", &v2), nullptr);
  EXPECT_NE(match(t, "h", "/", "GET", &v1), nullptr);
  EXPECT_NE(match(t, "h", "/"), nullptr);
}

}  // namespace
}  // namespace remora::sidecar
