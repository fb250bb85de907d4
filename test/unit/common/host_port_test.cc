#include "common/host_port.h"

#include <gtest/gtest.h>

namespace remora::common {
namespace {

std::string errorOf(std::string_view text) {
  auto r = parseHostPort(text);
  EXPECT_FALSE(r.isOk()) << text;
  return r.isOk() ? "" : r.status().message();
}

TEST(AddressTest, ParsesIpv4AndPort) {
  auto r = parseHostPort("127.0.0.1:15001");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().host, "127.0.0.1");
  EXPECT_EQ(r.value().port, 15001);
  EXPECT_FALSE(r.value().ipv6);
}

TEST(AddressTest, ParsesBracketedIpv6AndPort) {
  auto r = parseHostPort("[::1]:8080");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().host, "::1");
  EXPECT_EQ(r.value().port, 8080);
  EXPECT_TRUE(r.value().ipv6);

  auto full = parseHostPort("[2001:db8::ff00:42:8329]:443");
  ASSERT_TRUE(full.isOk());
  EXPECT_EQ(full.value().host, "2001:db8::ff00:42:8329");
  EXPECT_TRUE(parseHostPort("[::ffff:10.0.0.1]:80").isOk());
}

TEST(AddressTest, AcceptsPortsZeroThrough65535) {
  EXPECT_EQ(parseHostPort("0.0.0.0:0").value().port, 0);
  EXPECT_EQ(parseHostPort("10.1.2.3:65535").value().port, 65535);
  EXPECT_EQ(parseHostPort("[::]:0").value().port, 0);
}

TEST(AddressTest, RejectsPortsOutOfRangeOrNotNumeric) {
  EXPECT_NE(errorOf("127.0.0.1:65536").find("0..65535"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1:100000").find("0..65535"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1:-1").find("0..65535"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1:+80").find("0..65535"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1:http").find("0..65535"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1: 80").find("0..65535"), std::string::npos);
}

TEST(AddressTest, RejectsMissingPort) {
  EXPECT_NE(errorOf("127.0.0.1").find("missing ':PORT'"), std::string::npos);
  EXPECT_NE(errorOf("127.0.0.1:").find("missing port"), std::string::npos);
  EXPECT_NE(errorOf("[::1]").find("missing ':PORT'"), std::string::npos);
  EXPECT_NE(errorOf("[::1]80").find("missing ':PORT'"), std::string::npos);
  EXPECT_NE(errorOf("[::1]:").find("missing port"), std::string::npos);
}

TEST(AddressTest, RejectsHostNames) {
  EXPECT_EQ(errorOf("localhost:80"),
            "invalid address \"localhost:80\": \"localhost\" is not an IPv4 address (host names "
            "are not allowed)");
  EXPECT_FALSE(parseHostPort("[localhost]:80").isOk());
}

TEST(AddressTest, RejectsMalformedIps) {
  EXPECT_FALSE(parseHostPort("1.2.3:80").isOk());
  EXPECT_FALSE(parseHostPort("1.2.3.4.5:80").isOk());
  EXPECT_FALSE(parseHostPort("256.0.0.1:80").isOk());
  EXPECT_FALSE(parseHostPort("01.2.3.4:80").isOk());
  EXPECT_FALSE(parseHostPort(":80").isOk());
  EXPECT_FALSE(parseHostPort("").isOk());
  EXPECT_FALSE(parseHostPort("[::1:80").isOk());
  EXPECT_FALSE(parseHostPort("[]:80").isOk());
  EXPECT_FALSE(parseHostPort("[1.2.3.4]:80").isOk());
  EXPECT_FALSE(parseHostPort("[fe80::1%eth0]:80").isOk());
}

TEST(AddressTest, RejectsUnbracketedIpv6) {
  EXPECT_NE(errorOf("::1:80").find("need brackets"), std::string::npos);
}

}  // namespace
}  // namespace remora::common
