#include "control/registry.h"

#include <google/protobuf/util/json_util.h>
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

TEST(Registry, SidecarFlagIsCarriedAndChangingItIsAChange) {
  Registry reg;
  bool changed = false;
  mesh::RegistrationRequest a;
  // As the API reads it: the JSON body's "sidecar" member.
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"service": "orders", "namespace": "shop", "address": "10.0.0.7",
                      "port": 15006, "sidecar": true})",
                  &a)
                  .ok());
  ASSERT_TRUE(reg.registerEndpoint(a, 0, &changed).isOk());
  ASSERT_EQ(reg.endpoints().size(), 1u);
  EXPECT_TRUE(reg.endpoints()[0].sidecar);
  ASSERT_TRUE(reg.registerEndpoint(a, 100, &changed).isOk());
  EXPECT_FALSE(changed);
  a.set_sidecar(false);
  ASSERT_TRUE(reg.registerEndpoint(a, 200, &changed).isOk());
  EXPECT_TRUE(changed);
  EXPECT_FALSE(reg.endpoints()[0].sidecar);
  // Without the member: no sidecar.
  ASSERT_TRUE(reg.registerEndpoint(req("orders", "10.0.0.8", 8080), 300, &changed).isOk());
  EXPECT_FALSE(reg.endpoints()[1].sidecar);
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
  auto r = reg.registerEndpoint(req("orders", "2001:db8::1", 8080), 0, &changed);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().id(), "shop/orders/[2001:db8::1]:8080");
}

TEST(AddressScope, ClassifiesIpv4Ipv6AndMappedAddresses) {
  struct Case {
    const char* ip;
    AddressScope scope;
  };
  const Case cases[] = {
      {"10.0.0.7", AddressScope::kUnicast},
      {"192.168.1.1", AddressScope::kUnicast},
      {"8.8.8.8", AddressScope::kUnicast},
      {"126.255.255.255", AddressScope::kUnicast},
      {"127.0.0.1", AddressScope::kLoopback},
      {"127.255.0.9", AddressScope::kLoopback},
      {"0.0.0.0", AddressScope::kUnspecified},
      {"0.1.2.3", AddressScope::kUnspecified},
      {"169.254.169.254", AddressScope::kLinkLocal},
      {"169.253.0.1", AddressScope::kUnicast},
      {"224.0.0.1", AddressScope::kMulticast},
      {"255.255.255.255", AddressScope::kMulticast},
      {"::1", AddressScope::kLoopback},
      {"0:0:0:0:0:0:0:1", AddressScope::kLoopback},
      {"::", AddressScope::kUnspecified},
      {"fe80::1", AddressScope::kLinkLocal},
      {"febf::1", AddressScope::kLinkLocal},
      {"fec0::1", AddressScope::kUnicast},
      {"ff02::1", AddressScope::kMulticast},
      {"2001:db8::1", AddressScope::kUnicast},
      {"fd00::1", AddressScope::kUnicast},
      {"::ffff:127.0.0.1", AddressScope::kLoopback},
      {"::ffff:7f00:1", AddressScope::kLoopback},
      {"::ffff:0.0.0.0", AddressScope::kUnspecified},
      {"::ffff:169.254.169.254", AddressScope::kLinkLocal},
      {"::ffff:10.0.0.1", AddressScope::kUnicast},
      {"", AddressScope::kInvalid},
      {"localhost", AddressScope::kInvalid},
      {"127.0.0.1:80", AddressScope::kInvalid},
      {"[::1]", AddressScope::kInvalid},
      {"fe80::1%eth0", AddressScope::kInvalid},
      {"010.0.0.1", AddressScope::kInvalid},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(addressScopeName(classifyAddress(c.ip)), addressScopeName(c.scope)) << c.ip;
  }
  EXPECT_EQ(classifyAddress(std::string(1000, '1')), AddressScope::kInvalid);
}

TEST(Registry, LocalAddressesAreRefusedUnlessAllowed) {
  Registry strict;
  bool changed = false;
  for (const char* ip :
       {"127.0.0.1", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1", "169.254.169.254", "fe80::1"}) {
    Refusal why = Refusal::kNone;
    auto r = strict.registerEndpoint(req("orders", ip, 15000), 0, &changed, &why);
    ASSERT_FALSE(r.isOk()) << ip;
    EXPECT_EQ(why, Refusal::kAddress) << ip;
    EXPECT_NE(r.status().message().find("--registry-allow-loopback"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(strict.size(), 0u);

  Registry allowing(/*allow_local_addresses=*/true);
  for (const char* ip : {"127.0.0.1", "::1", "169.254.1.1"}) {
    EXPECT_TRUE(allowing.registerEndpoint(req("orders", ip, 8080), 0, &changed).isOk()) << ip;
  }
  // Multicast is never an endpoint, allowed or not.
  Refusal why = Refusal::kNone;
  EXPECT_FALSE(
      allowing.registerEndpoint(req("orders", "224.0.0.1", 8080), 0, &changed, &why).isOk());
  EXPECT_EQ(why, Refusal::kAddress);
}

TEST(Registry, LabelsAreBoundedInCountAndBytes) {
  Registry reg;
  bool changed = false;
  auto refused = [&](const mesh::RegistrationRequest& r) {
    Refusal why = Refusal::kNone;
    auto res = reg.registerEndpoint(r, 0, &changed, &why);
    return !res.isOk() && why == Refusal::kTooLarge &&
           res.status().message().rfind("labels:", 0) == 0;
  };
  auto many = req("orders", "10.0.0.7", 8080);
  for (size_t i = 0; i <= Registry::kMaxLabels; ++i) {
    (*many.mutable_labels())["k" + std::to_string(i)] = "v";
  }
  EXPECT_TRUE(refused(many));
  auto long_value = req("orders", "10.0.0.7", 8080);
  (*long_value.mutable_labels())["k"] = std::string(Registry::kMaxLabelValueBytes + 1, 'v');
  EXPECT_TRUE(refused(long_value));
  auto long_key = req("orders", "10.0.0.7", 8080);
  (*long_key.mutable_labels())[std::string(Registry::kMaxLabelKeyBytes + 1, 'k')] = "v";
  EXPECT_TRUE(refused(long_key));
  auto total = req("orders", "10.0.0.7", 8080);
  for (int i = 0; i < 40; ++i) {
    (*total.mutable_labels())["key-" + std::to_string(i)] = std::string(250, 'v');
  }
  EXPECT_TRUE(refused(total));  // 40 x ~256 bytes > kMaxLabelBytes
  EXPECT_EQ(reg.size(), 0u);
  auto fine = req("orders", "10.0.0.7", 8080);
  (*fine.mutable_labels())["version"] = "v1";
  (*fine.mutable_labels())["app.kubernetes.io/name"] =
      std::string(Registry::kMaxLabelValueBytes, 'a');
  EXPECT_TRUE(reg.registerEndpoint(fine, 0, &changed).isOk());
}

TEST(Registry, PeerValuesInErrorsAreCapped) {
  Registry reg;
  bool changed = false;
  auto r = reg.registerEndpoint(req(std::string(100000, 'X'), "10.0.0.7", 8080), 0, &changed);
  ASSERT_FALSE(r.isOk());
  EXPECT_LT(r.status().message().size(), 300u);
}

}  // namespace
}  // namespace remora::control
