#include "common/header_map.h"
#include "common/recycled.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace remora::common {
namespace {

struct Known {
  std::string name;
  Wk wk;
};

const std::vector<Known>& knownNames() {
  static const std::vector<Known> k = {
      {"te", Wk::kTe},
      {"host", Wk::kHost},
      {"expect", Wk::kExpect},
      {"upgrade", Wk::kUpgrade},
      {"trailer", Wk::kTrailer},
      {"connection", Wk::kConnection},
      {"keep-alive", Wk::kKeepAlive},
      {"traceparent", Wk::kTraceparent},
      {"x-request-id", Wk::kXRequestId},
      {"content-length", Wk::kContentLength},
      {"x-forwarded-for", Wk::kXForwardedFor},
      {"proxy-connection", Wk::kProxyConnection},
      {"x-remora-attempt", Wk::kXRemoraAttempt},
      {"transfer-encoding", Wk::kTransferEncoding},
      {"x-forwarded-proto", Wk::kXForwardedProto},
      {"x-remora-orig-proto", Wk::kXRemoraOrigProto},
  };
  return k;
}

TEST(ClassifyHeaderTest, KnowsEveryWellKnownNameInAnyCase) {
  for (const Known& k : knownNames()) {
    std::string upper = k.name;
    std::string mixed = k.name;
    for (size_t i = 0; i < upper.size(); ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
      if (i % 2 == 0) {
        mixed[i] = upper[i];
      }
    }
    EXPECT_EQ(classifyHeader(k.name), k.wk) << k.name;
    EXPECT_EQ(classifyHeader(upper), k.wk) << upper;
    EXPECT_EQ(classifyHeader(mixed), k.wk) << mixed;
  }
}

TEST(ClassifyHeaderTest, AnyOtherByteInAnyPositionIsNotTheName) {
  // Every one-byte change of every name, including the bytes that equal a letter or '-' once
  // the case bit is set (0x0D | 0x20 == '-', '@' | 0x20 == '`'), is an unknown header.
  for (const Known& k : knownNames()) {
    for (size_t i = 0; i < k.name.size(); ++i) {
      for (int c = 0; c < 256; ++c) {
        std::string n = k.name;
        n[i] = static_cast<char>(c);
        bool same_letter = std::tolower(c) == static_cast<unsigned char>(k.name[i]);
        if (same_letter) {
          continue;
        }
        ASSERT_EQ(classifyHeader(n), Wk::kNone) << k.name << " with byte " << c << " at " << i;
      }
    }
  }
}

TEST(ClassifyHeaderTest, OtherLengthsAndPrefixesAreUnknown) {
  EXPECT_EQ(classifyHeader(""), Wk::kNone);
  EXPECT_EQ(classifyHeader("hos"), Wk::kNone);
  EXPECT_EQ(classifyHeader("hosts"), Wk::kNone);
  EXPECT_EQ(classifyHeader("content-type"), Wk::kNone);
  EXPECT_EQ(classifyHeader("x-remora-attempts"), Wk::kNone);
  EXPECT_EQ(classifyHeader(std::string_view("host\0", 5)), Wk::kNone);
}

TEST(HeaderMapTest, WellKnownAndOtherNamesAreFoundRemovedAndReplacedAlike) {
  HeaderMap h;
  h.add("Host", "a.example");
  h.add("X-Custom", "1");
  h.add("x-forwarded-for", "10.0.0.1");
  h.add("X-Forwarded-For", "10.0.0.2");
  h.add("x-custom", "2");
  EXPECT_EQ(h.size(), 5u);
  EXPECT_EQ(h.get("HOST"), "a.example");
  EXPECT_EQ(h.get("X-FORWARDED-FOR"), "10.0.0.1");
  EXPECT_EQ(h.get("x-custom"), "1");
  EXPECT_EQ(h.count(Wk::kXForwardedFor), 2);
  EXPECT_TRUE(h.has("x-CUSTOM"));
  EXPECT_FALSE(h.has("x-remora-attempt"));

  h.set("x-forwarded-for", "10.0.0.3");
  EXPECT_EQ(h.count(Wk::kXForwardedFor), 1);
  EXPECT_EQ(h.get(Wk::kXForwardedFor), "10.0.0.3");
  h.set("X-Custom", "3");
  EXPECT_EQ(h.get("x-custom"), "3");
  EXPECT_EQ(h.size(), 3u);

  EXPECT_EQ(h.remove("x-remora-attempt"), 0);
  EXPECT_EQ(h.remove("HOST"), 1);
  EXPECT_FALSE(h.has(Wk::kHost));
  EXPECT_EQ(h.get("host"), "");
  EXPECT_EQ(h.remove("x-custom"), 1);
  EXPECT_EQ(h.size(), 1u);

  std::vector<std::string> seen;
  h.forEach([&](std::string_view n, std::string_view v) {
    seen.push_back(std::string(n) + "=" + std::string(v));
  });
  EXPECT_EQ(seen, std::vector<std::string>{"x-forwarded-for=10.0.0.3"});
}

TEST(HeaderMapTest, ParsedEntriesAreClassifiedWhenComplete) {
  HeaderMap h;
  h.appendNamePiece("X-Remora-");
  h.appendNamePiece("Attempt");
  h.appendValuePiece("2");
  EXPECT_EQ(h.finishEntry(), Wk::kXRemoraAttempt);
  h.appendNamePiece("x-other");
  h.appendValuePiece("v");
  EXPECT_EQ(h.finishEntry(), Wk::kNone);
  EXPECT_EQ(h.get(Wk::kXRemoraAttempt), "2");
  EXPECT_EQ(h.get("x-other"), "v");
}

}  // namespace
}  // namespace remora::common

namespace remora::common {
namespace {

TEST(HeaderMapSpareTest, ReleasedMapIsEmptyAndUsableAndItsStorageGoesToTheNextMap) {
  HeaderMap a;
  a.add("host", "example.com");
  a.add("x-long", std::string(200, 'x'));
  a.release();
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.byteSize(), 0u);
  EXPECT_FALSE(a.has(Wk::kHost));
  EXPECT_EQ(a.entries().capacity(), 0u) << "a released map holds no storage";

  HeaderMap b;
  b.reuseSpare();
#if REMORA_RECYCLE
  EXPECT_GT(b.entries().capacity(), 0u) << "the spare storage was taken";
#endif
  b.add("host", "b.example");
  EXPECT_EQ(b.get(Wk::kHost), "b.example");
  EXPECT_EQ(b.size(), 1u);

  a.add("host", "again");  // the released map fills again from nothing
  EXPECT_EQ(a.get("host"), "again");
  b.release();
  a.release();
}

}  // namespace
}  // namespace remora::common
