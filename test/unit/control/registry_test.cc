#include "control/registry.h"

#include <gtest/gtest.h>

namespace remora::control {
namespace {

mesh::RegistrationRequest req(std::string service, std::string address, uint32_t port,
                              uint32_t ttl = 0, std::string ns = "shop") {
  mesh::RegistrationRequest r;
  r.set_service(std::move(service));
  r.set_namespace_(std::move(ns));
  r.set_address(std::move(address));
  r.set_port(port);
  r.set_ttl_seconds(ttl);
  return r;
}

TEST(Registry, RegisterAddsAnEndpointWithItsTtl) {
  Registry reg;
  bool changed = false;
  auto r = reg.registerEndpoint(req("orders", "10.0.0.7", 8080, 10), 1000, &changed);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(changed);
  EXPECT_EQ(r.value().id(), "shop/orders/10.0.0.7:8080");
  EXPECT_EQ(r.value().ttl_seconds(), 10u);
  ASSERT_EQ(reg.endpoints().size(), 1u);
  EXPECT_EQ(reg.endpoints()[0].service, "orders");
  EXPECT_EQ(reg.endpoints()[0].ns, "shop");
  EXPECT_EQ(reg.endpoints()[0].port, 8080u);
  EXPECT_EQ(*reg.nextExpiry(), 11000u);
}

TEST(Registry, DefaultsNamespaceAndTtl) {
  Registry reg;
  bool changed = false;
  auto r = reg.registerEndpoint(req("orders", "10.0.0.7", 8080, 0, ""), 0, &changed);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().id(), "default/orders/10.0.0.7:8080");
  EXPECT_EQ(r.value().ttl_seconds(), Registry::kDefaultTtlSeconds);
}

TEST(Registry, ReRegisteringTheSameEndpointIsNotAChangeUnlessLabelsDiffer) {
  Registry reg;
  bool changed = false;
  auto a = req("orders", "10.0.0.7", 8080, 5);
  ASSERT_TRUE(reg.registerEndpoint(a, 0, &changed).isOk());
  ASSERT_TRUE(reg.registerEndpoint(a, 100, &changed).isOk());
  EXPECT_FALSE(changed);
  (*a.mutable_labels())["version"] = "v2";
  ASSERT_TRUE(reg.registerEndpoint(a, 200, &changed).isOk());
  EXPECT_TRUE(changed);
  EXPECT_EQ(reg.size(), 1u);
}

TEST(Registry, HeartbeatsKeepAnEndpointAliveAndSilenceExpiresIt) {
  Registry reg;
  bool changed = false;
  ASSERT_TRUE(reg.registerEndpoint(req("orders", "10.0.0.7", 8080, 2), 0, &changed).isOk());
  ASSERT_TRUE(reg.heartbeat(req("orders", "10.0.0.7", 8080), 1500).isOk());
  EXPECT_TRUE(reg.expire(2500).empty());  // renewed at 1.5 s: lives until 3.5 s
  auto gone = reg.expire(3500);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], "shop/orders/10.0.0.7:8080");
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_FALSE(reg.nextExpiry().has_value());
  // Gone for good: a heartbeat does not bring it back.
  auto hb = reg.heartbeat(req("orders", "10.0.0.7", 8080), 3600);
  ASSERT_FALSE(hb.isOk());
  EXPECT_EQ(hb.status().code(), common::StatusCode::kNotFound);
}

TEST(Registry, DeregisterRemoves) {
  Registry reg;
  bool changed = false;
  ASSERT_TRUE(reg.registerEndpoint(req("orders", "10.0.0.7", 8080), 0, &changed).isOk());
  EXPECT_TRUE(reg.deregister(req("orders", "10.0.0.7", 8080)).isOk());
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.deregister(req("orders", "10.0.0.7", 8080)).code(), common::StatusCode::kNotFound);
}

TEST(Registry, BadRequestsAreRefusedWithTheField) {
  Registry reg;
  bool changed = false;
  auto check = [&](mesh::RegistrationRequest r, std::string_view field) {
    auto res = reg.registerEndpoint(r, 0, &changed);
    ASSERT_FALSE(res.isOk());
    EXPECT_EQ(res.status().code(), common::StatusCode::kInvalidArgument);
    EXPECT_EQ(res.status().message().rfind(std::string(field) + ":", 0), 0u)
        << res.status().message();
  };
  check(req("Orders", "10.0.0.7", 8080), "service");
  check(req("", "10.0.0.7", 8080), "service");
  check(req("orders", "10.0.0.7", 8080, 0, "Shop_1"), "namespace");
  check(req("orders", "orders.example", 8080), "address");
  check(req("orders", "10.0.0.7", 0), "port");
  check(req("orders", "10.0.0.7", 70000), "port");
  check(req("orders", "10.0.0.7", 80, Registry::kMaxTtlSeconds + 1), "ttl_seconds");
  EXPECT_EQ(reg.size(), 0u);
}

TEST(Registry, Ipv6AddressesGetBrackets) {
  Registry reg;
  bool changed = false;
  auto r = reg.registerEndpoint(req("orders", "::1", 8080), 0, &changed);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().id(), "shop/orders/[::1]:8080");
}

}  // namespace
}  // namespace remora::control
