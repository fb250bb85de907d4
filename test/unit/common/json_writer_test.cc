// JsonWriter / jsonQuote: escaping, and valid UTF-8 output whatever bytes a string holds
// (ill-formed input replaced by U+FFFD per maximal subpart, as WHATWG's decoder does).

#include "common/json_writer.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace remora::common {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(jsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(jsonQuote("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(jsonQuote(std::string("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(jsonQuote("plain ascii /path?q=1"), "\"plain ascii /path?q=1\"");
}

TEST(JsonQuoteTest, WellFormedUtf8PassesUnchanged) {
  // 2, 3 and 4 byte forms, the edges of each range, U+FFFD itself and U+10FFFF.
  for (std::string s : {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                        "\xEF\xBF\xBD", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "caf\xC3\xA9"}) {
    EXPECT_EQ(jsonQuote(s), "\"" + s + "\"") << s;
  }
}

struct Invalid {
  const char* what;
  std::string in;
  std::string out;  // between the quotes
};

TEST(JsonQuoteTest, EveryClassOfIllFormedUtf8BecomesReplacementCharacters) {
  const std::vector<Invalid> cases = {
      {"stray continuation byte", "a\x80z", "a" + kFffd + "z"},
      {"two stray continuation bytes", "\x80\xBF", kFffd + kFffd},
      {"invalid lead C0/C1 (always overlong)", "\xC0\xAF", kFffd + kFffd},
      {"overlong 3-byte form of '/'", "\xE0\x80\xAF", kFffd + kFffd + kFffd},
      {"overlong 4-byte form", "\xF0\x80\x80\xAF", kFffd + kFffd + kFffd + kFffd},
      {"surrogate U+D800", "\xED\xA0\x80", kFffd + kFffd + kFffd},
      {"surrogate U+DFFF", "\xED\xBF\xBF", kFffd + kFffd + kFffd},
      {"above U+10FFFF (F4 90)", "\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},
      {"lead F5..FF", "\xF5\xFF", kFffd + kFffd},
      {"truncated 2-byte at the end", "x\xC3", "x" + kFffd},
      {"truncated 3-byte then ASCII: one U+FFFD", "\xE2\x82y", kFffd + "y"},
      {"truncated 4-byte then ASCII: one U+FFFD", "\xF0\x9F\x98y", kFffd + "y"},
      {"lead followed by another lead", "\xC3\xC3\xA9", kFffd + "\xC3\xA9"},
      {"invalid continuation then a quote", "\xE2\"", kFffd + "\\\""},
  };
  for (const Invalid& c : cases) {
    std::string q = jsonQuote(c.in);
    EXPECT_EQ(q, "\"" + c.out + "\"") << c.what;
    EXPECT_TRUE(isValidUtf8(q)) << c.what;
  }
}

TEST(JsonWriterTest, KeysAndValuesFromPeersStayValidUtf8) {
  JsonWriter w;
  w.beginObject();
  w.field("authority", "h\xFF\xFEst");
  w.field("request_id\xC0", "id\xED\xA0\x80");
  w.endObject();
  std::string out = w.take();
  EXPECT_TRUE(isValidUtf8(out)) << out;
  EXPECT_EQ(out, "{\"authority\":\"h" + kFffd + kFffd + "st\",\"request_id" + kFffd + "\":\"id" +
                     kFffd + kFffd + kFffd + "\"}");
}

TEST(Utf8Test, ToValidUtf8ReplacesOnlyIllFormedSubparts) {
  EXPECT_EQ(toValidUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(toValidUtf8("a\xFF"
                        "b\xE2\x82"),
            "a" + kFffd + "b" + kFffd);
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(isValidUtf8("\xC1\xBF"));
}

}  // namespace
}  // namespace remora::common
