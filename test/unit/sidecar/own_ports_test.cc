// OwnPorts: which destinations lead back into the sidecar; LogLimiter: how many lines pass.

#include "sidecar/own_ports.h"

#include <gtest/gtest.h>

#include "sidecar/log_limiter.h"

namespace remora::sidecar {
namespace {

common::SocketAddress addr(const std::string& text) {
  auto a = common::parseSocketAddress(text);
  EXPECT_TRUE(a.isOk()) << text;
  return a.isOk() ? a.value() : common::SocketAddress{};
}

OwnPorts sidecarPorts() {
  OwnPorts own;
  for (uint16_t p : {15000, 15001, 15006}) {
    own.addPort(p);
  }
  own.addAddress(addr("10.1.2.3:0"));
  own.addAddress(addr("[fd00::5]:0"));
  return own;
}

TEST(OwnPortsTest, OurPortOnLoopbackUnspecifiedOrOurAddressIsSelf) {
  OwnPorts own = sidecarPorts();
  for (const char* target :
       {"127.0.0.1:15000", "127.1.2.3:15006", "0.0.0.0:15001", "10.1.2.3:15000", "[::1]:15000",
        "[::]:15006", "[fd00::5]:15001", "[::ffff:127.0.0.1]:15000", "[::ffff:10.1.2.3]:15006"}) {
    EXPECT_TRUE(own.isSelf(addr(target))) << target;
  }
}

TEST(OwnPortsTest, OtherPortsOrOtherHostsAreNotSelf) {
  OwnPorts own = sidecarPorts();
  for (const char* target :
       {"127.0.0.1:8080", "10.1.2.3:8080", "10.1.2.4:15000", "[fd00::6]:15000", "[::2]:15000",
        "192.168.0.1:15006", "127.0.0.1:14999", "127.0.0.1:15002"}) {
    EXPECT_FALSE(own.isSelf(addr(target))) << target;
  }
}

TEST(OwnPortsTest, NothingIsSelfUntilPortsAreAdded) {
  OwnPorts none;
  EXPECT_FALSE(none.isSelf(addr("127.0.0.1:15000")));
  EXPECT_FALSE(none.hasPort(15000));
  none.addPort(15000);
  EXPECT_TRUE(none.hasPort(15000));
  EXPECT_TRUE(none.isSelf(addr("127.0.0.1:15000")));
}

TEST(LogLimiterTest, LetsABurstThroughPerPeriodAndCountsTheRest) {
  LogLimiter limiter(2, 1000);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(5000, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(limiter.allow(5001, suppressed));
  EXPECT_FALSE(limiter.allow(5002, suppressed));
  EXPECT_FALSE(limiter.allow(5999, suppressed));
  EXPECT_FALSE(limiter.allow(5500, suppressed));
  // A new period: the first line says how many were held back.
  EXPECT_TRUE(limiter.allow(6000, suppressed));
  EXPECT_EQ(suppressed, 3u);
  EXPECT_TRUE(limiter.allow(6001, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_EQ(LogLimiter::note(0), "");
  EXPECT_EQ(LogLimiter::note(3), " (3 similar lines suppressed)");
}

}  // namespace
}  // namespace remora::sidecar
