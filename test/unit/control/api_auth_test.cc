#include "control/api_auth.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace remora::control {
namespace {

const char kToken[] = "s3cret-0123456789";

TEST(ApiAuth, WithoutATokenWritesAreOpenOnlyOnLoopback) {
  EXPECT_EQ(authorizeWrite("", true, ""), WriteAccess::kAllowed);
  EXPECT_EQ(authorizeWrite("", false, ""), WriteAccess::kNoTokenConfigured);
  EXPECT_EQ(authorizeWrite("", false, "Bearer anything-at-all"), WriteAccess::kNoTokenConfigured);
}

TEST(ApiAuth, WithATokenEveryWriteNeedsIt) {
  for (bool loopback : {true, false}) {
    EXPECT_EQ(authorizeWrite(kToken, loopback, ""), WriteAccess::kMissingToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Basic czNjcmV0"), WriteAccess::kMissingToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Bearer "), WriteAccess::kMissingToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Bearer s3cret-012345678"),
              WriteAccess::kWrongToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Bearer s3cret-01234567890"),
              WriteAccess::kWrongToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Bearer S3cret-0123456789"),
              WriteAccess::kWrongToken);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "Bearer s3cret-0123456789"), WriteAccess::kAllowed);
    EXPECT_EQ(authorizeWrite(kToken, loopback, "bearer   s3cret-0123456789 "),
              WriteAccess::kAllowed);
  }
}

TEST(ApiAuth, ConstantTimeEqualsComparesWholeValues) {
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcabc"));  // the repeated secret is not a match
  EXPECT_FALSE(constantTimeEquals("abc", ""));
  EXPECT_FALSE(constantTimeEquals("", ""));  // no secret: nothing matches
}

TEST(ApiAuth, ReasonsNameTheFixAndNeverTheToken) {
  const std::string forbidden = writeAccessReason(WriteAccess::kNoTokenConfigured, "0.0.0.0:15014");
  EXPECT_NE(forbidden.find("--api-token-file"), std::string::npos);
  EXPECT_NE(forbidden.find("0.0.0.0:15014"), std::string::npos);
  EXPECT_NE(writeAccessReason(WriteAccess::kMissingToken, "").find("Bearer"), std::string::npos);
  EXPECT_EQ(writeAccessReason(WriteAccess::kWrongToken, "").find(kToken), std::string::npos);
  EXPECT_EQ(writeAccessReason(WriteAccess::kAllowed, ""), "");
}

TEST(ApiAuth, LoopbackListenAddresses) {
  auto is = [](const char* a) { return isLoopbackAddress(common::parseSocketAddress(a).value()); };
  EXPECT_TRUE(is("127.0.0.1:15014"));
  EXPECT_TRUE(is("127.0.0.2:0"));
  EXPECT_TRUE(is("[::1]:15014"));
  EXPECT_FALSE(is("0.0.0.0:15014"));
  EXPECT_FALSE(is("[::]:15014"));
  EXPECT_FALSE(is("10.0.0.1:15014"));
}

TEST(ApiAuth, TokenFileIsTheTrimmedFirstLine) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  auto ok = readTokenFile(write("remora-token-ok", "  s3cret-0123456789 \r\nsecond line\n"));
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok.value(), kToken);
  EXPECT_FALSE(readTokenFile(write("remora-token-empty", "\n")).isOk());
  EXPECT_FALSE(readTokenFile(write("remora-token-short", "short\n")).isOk());
  EXPECT_FALSE(readTokenFile(write("remora-token-space", "s3cret 0123456789\n")).isOk());
  auto missing = readTokenFile(dir + "remora-token-absent");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("--api-token-file"), std::string::npos);
}

}  // namespace
}  // namespace remora::control
