#include "xds/duration.h"

#include <gtest/gtest.h>

namespace remora::xds {
namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

nanoseconds ok(std::string_view text) {
  auto r = parseDuration(text);
  EXPECT_TRUE(r.isOk()) << text << ": " << (r.isOk() ? "" : r.status().message());
  return r.isOk() ? r.value() : nanoseconds{-1};
}

std::string errorOf(std::string_view text) {
  auto r = parseDuration(text);
  EXPECT_FALSE(r.isOk()) << text << " parsed as " << (r.isOk() ? r.value().count() : 0) << "ns";
  return r.isOk() ? "" : r.status().message();
}

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(ok("7ns"), 7ns);
  EXPECT_EQ(ok("100us"), 100us);
  EXPECT_EQ(ok("100\xC2\xB5s"), 100us);
  EXPECT_EQ(ok("250ms"), 250ms);
  EXPECT_EQ(ok("5s"), 5s);
  EXPECT_EQ(ok("2m"), 2min);
  EXPECT_EQ(ok("1h"), 1h);
}

TEST(DurationTest, ParsesFractions) {
  EXPECT_EQ(ok("1.5s"), 1500ms);
  EXPECT_EQ(ok("0.25s"), 250ms);
  EXPECT_EQ(ok(".5s"), 500ms);
  EXPECT_EQ(ok("1.000340012s"), 1000340012ns);
  EXPECT_EQ(ok("1.5h"), 90min);
  EXPECT_EQ(ok("2.5ms"), 2500us);
}

TEST(DurationTest, ParsesZeroWithAndWithoutUnit) {
  EXPECT_EQ(ok("0"), 0ns);
  EXPECT_EQ(ok("0s"), 0ns);
  EXPECT_EQ(ok("0ms"), 0ns);
  EXPECT_EQ(ok("0.0s"), 0ns);
}

TEST(DurationTest, ParsesCompoundDurations) {
  EXPECT_EQ(ok("1h30m"), 90min);
  EXPECT_EQ(ok("1m30.5s"), 90500ms);
}

TEST(DurationTest, ParsesTheLargestValue) {
  EXPECT_EQ(ok("9223372036854775807ns"), nanoseconds::max());
}

TEST(DurationTest, RejectsNegativeValues) {
  EXPECT_NE(errorOf("-1s").find("negative"), std::string::npos);
  EXPECT_NE(errorOf("-0s").find("negative"), std::string::npos);
}

TEST(DurationTest, RejectsMissingUnitExceptBareZero) {
  EXPECT_NE(errorOf("5").find("missing unit"), std::string::npos);
  EXPECT_NE(errorOf("1.5").find("missing unit"), std::string::npos);
  EXPECT_NE(errorOf("1h30").find("missing unit"), std::string::npos);
}

TEST(DurationTest, RejectsUnknownUnitsAndGarbage) {
  EXPECT_EQ(errorOf("5x"),
            "invalid duration \"5x\": unknown unit \"x\" (use ns, us, ms, s, m or h)");
  EXPECT_NE(errorOf("5sec").find("unknown unit"), std::string::npos);
  EXPECT_NE(errorOf("5S").find("unknown unit"), std::string::npos);
  EXPECT_NE(errorOf("5 s").find("unknown unit"), std::string::npos);
  EXPECT_NE(errorOf("5s ").find("unknown unit"), std::string::npos);
  EXPECT_FALSE(parseDuration("").isOk());
  EXPECT_FALSE(parseDuration("s").isOk());
  EXPECT_FALSE(parseDuration(" 5s").isOk());
  EXPECT_FALSE(parseDuration("+5s").isOk());
  EXPECT_FALSE(parseDuration("1.s").isOk());
  EXPECT_FALSE(parseDuration("1..5s").isOk());
  EXPECT_FALSE(parseDuration("abc").isOk());
  EXPECT_FALSE(parseDuration("1e3s").isOk());
}

TEST(DurationTest, RejectsPrecisionFinerThanANanosecond) {
  EXPECT_NE(errorOf("1.5ns").find("1ns"), std::string::npos);
  EXPECT_NE(errorOf("0.0000000001s").find("1ns"), std::string::npos);
}

TEST(DurationTest, RejectsValuesBeyondInt64Nanoseconds) {
  EXPECT_NE(errorOf("9223372036854775808ns").find("too large"), std::string::npos);
  EXPECT_NE(errorOf("3000000h").find("too large"), std::string::npos);
  EXPECT_NE(errorOf("99999999999999999999999h").find("too large"), std::string::npos);
}

}  // namespace
}  // namespace remora::xds
