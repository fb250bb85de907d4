#include "common/logging.h"

#include <gtest/gtest.h>

#include <string>

namespace remora::common {
namespace {

TEST(LogValueTest, ShortPrintableValueIsKeptAsIs) {
  EXPECT_EQ(logValue("frontend-1"), "frontend-1");
  EXPECT_EQ(logValue(""), "");
  EXPECT_EQ(logValue("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");  // valid UTF-8
}

TEST(LogValueTest, LongValueIsCutWithTheNumberOfBytesLeftOut) {
  const std::string id(1024 * 1024, 'n');
  const std::string out = logValue(id);
  EXPECT_EQ(out, std::string(kLogValueMaxBytes, 'n') + "...(+" +
                     std::to_string(id.size() - kLogValueMaxBytes) + " bytes)");
  EXPECT_EQ(logValue("abcdef", 3), "abc...(+3 bytes)");
  EXPECT_EQ(logValue("abc", 3), "abc");
  EXPECT_EQ(logValue("abc", 0), "...(+3 bytes)");
}

TEST(LogValueTest, ControlBytesAndBackslashesAreEscapedSoALineStaysOneRecord) {
  EXPECT_EQ(logValue("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(logValue(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(logValue("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(logValue("a\\nb"), "a\\\\nb");  // a literal backslash-n cannot pass for an escape
}

TEST(LogValueTest, BytesThatAreNotUtf8AreEscaped) {
  EXPECT_EQ(logValue("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(logValue("\xc3"), "\\xc3");                             // truncated sequence
  EXPECT_EQ(logValue("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(logValue("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(logValue("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(LogValueTest, CapNeverSplitsAUtf8Sequence) {
  // "é" is two bytes: a cap of 2 keeps "a" and counts the 2 bytes of "é" as left out.
  EXPECT_EQ(logValue("a\xc3\xa9", 2), "a...(+2 bytes)");
  EXPECT_EQ(logValue("a\xc3\xa9", 3), "a\xc3\xa9");
}

TEST(LogValueTest, OutputIsBoundedForAnyInput) {
  std::string worst(100000, '\x01');
  EXPECT_LE(logValue(worst).size(), 4 * kLogValueMaxBytes + 32);
  EXPECT_EQ(logValue(worst, 2), "\\x01\\x01...(+99998 bytes)");
}

}  // namespace
}  // namespace remora::common
