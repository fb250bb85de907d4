#include "common/http2/preface.h"

#include <gtest/gtest.h>

namespace remora::http2 {
namespace {

using V = PrefaceSniffer::Verdict;

TEST(PrefaceSniffer, PrefaceSplitAcrossReadsIsHttp2AndTheEarlierBytesAreHeld) {
  for (size_t cut = 1; cut < kClientPreface.size(); ++cut) {
    PrefaceSniffer s;
    EXPECT_EQ(s.feed(kClientPreface.substr(0, cut)), V::kUndecided) << cut;
    std::string rest = std::string(kClientPreface.substr(cut)) + "frames";
    EXPECT_EQ(s.feed(rest), V::kHttp2) << cut;
    EXPECT_EQ(s.takeHeld(), kClientPreface.substr(0, cut)) << cut;
  }
}

TEST(PrefaceSniffer, AnythingElseIsDecidedAtTheFirstDifferentByte) {
  PrefaceSniffer whole;
  EXPECT_EQ(whole.feed("GET / HTTP/1.1\r\n\r\n"), V::kOther);
  EXPECT_EQ(whole.takeHeld(), "");
  PrefaceSniffer pri;
  EXPECT_EQ(pri.feed("PRI * HTTP/2"), V::kUndecided);
  EXPECT_EQ(pri.feed(".1\r\n"), V::kOther);  // a PRI request line that is not the preface
  EXPECT_EQ(pri.takeHeld(), "PRI * HTTP/2");
  PrefaceSniffer exact;
  EXPECT_EQ(exact.feed(kClientPreface), V::kHttp2);
}

}  // namespace
}  // namespace remora::http2
