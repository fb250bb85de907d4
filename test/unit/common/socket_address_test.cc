#include "common/socket_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace remora::common {
namespace {

std::string viaInetNtop(uint32_t addr_network_order) {
  char buf[INET_ADDRSTRLEN] = {0};
  in_addr a{};
  a.s_addr = addr_network_order;
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

SocketAddress v4(uint32_t addr_network_order, uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = addr_network_order;
  in.sin_port = htons(port);
  return fromSockaddr(reinterpret_cast<const sockaddr*>(&in));
}

TEST(SocketAddressTest, Ipv4HostIsFormattedAsInetNtopDoesForEveryOctetValueInEveryPosition) {
  for (int pos = 0; pos < 4; ++pos) {
    for (uint32_t v = 0; v < 256; ++v) {
      uint8_t octets[4] = {10, 0, 7, 255};
      octets[pos] = static_cast<uint8_t>(v);
      uint32_t addr;
      std::memcpy(&addr, octets, 4);
      EXPECT_EQ(v4(addr, 80).host(), viaInetNtop(addr)) << pos << " " << v;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 10000; ++i) {
    uint32_t addr = rng();
    ASSERT_EQ(v4(addr, 1).host(), viaInetNtop(addr));
  }
}

TEST(SocketAddressTest, ParsedAddressesRoundTripAndCompare) {
  auto a = parseSocketAddress("192.168.100.7:8080");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a.value().host(), "192.168.100.7");
  EXPECT_EQ(a.value().port(), 8080);
  EXPECT_EQ(a.value().toString(), "192.168.100.7:8080");
  EXPECT_FALSE(a.value().isV6());

  auto b = parseSocketAddress("[2001:db8::1]:443");
  ASSERT_TRUE(b.isOk());
  EXPECT_TRUE(b.value().isV6());
  EXPECT_EQ(b.value().host(), "2001:db8::1");
  EXPECT_EQ(b.value().toString(), "[2001:db8::1]:443");
  EXPECT_EQ(b.value().len(), sizeof(sockaddr_in6));

  auto c = parseSocketAddress("192.168.100.7:8080");
  ASSERT_TRUE(c.isOk());
  EXPECT_TRUE(a.value() == c.value());
  EXPECT_FALSE(a.value() == b.value());
  c.value().setPort(8081);
  EXPECT_FALSE(a.value() == c.value());
}

TEST(SocketAddressTest, HoldsIpv6WithoutTheRoomOfASockaddrStorage) {
  EXPECT_GE(sizeof(SocketAddress), sizeof(sockaddr_in6));
  EXPECT_LE(sizeof(SocketAddress), 32u);
  SocketAddress zero;
  EXPECT_EQ(zero.storage.ss_family, 0);
  EXPECT_EQ(zero.port(), 0);
}

}  // namespace
}  // namespace remora::common
