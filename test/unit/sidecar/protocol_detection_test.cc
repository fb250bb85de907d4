// Protocol detection: which first bytes are HTTP/1, which are opaque TCP, and that the decision
// does not depend on how the bytes were split into reads.

#include "sidecar/protocol_detection.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace remora::sidecar {
namespace {

using namespace std::string_literals;

struct Sample {
  std::string name;
  std::string bytes;
  Detect decision;
  DetectReason reason;
};

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

std::vector<Sample> samples() {
  return {
      {"Get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"Propfind", "PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n", Detect::kHttp,
       DetectReason::kRequestLine},
      {"Report", "REPORT /r HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"Mkcol", "MKCOL /c HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"Purge", "PURGE /cache HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"UnknownTokenMethod", "FOO / HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"TokenWithEveryPunctuation", "!#$%&'*+-.^_`|~09az / HTTP/1.1\r\n", Detect::kHttp,
       DetectReason::kRequestLine},
      {"LowercaseTokenIsStillAToken", "get key\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"LeadingCrlf", "\r\nGET / HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"SeveralLeadingLineBreaks", "\r\n\n\r\n\rPOST /x HTTP/1.1\r\n\r\n", Detect::kHttp,
       DetectReason::kRequestLine},
      {"TabAfterTheMethod", "GET\t/ HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"LeadingBlank", " GET / HTTP/1.1\r\n\r\n", Detect::kHttp, DetectReason::kRequestLine},
      {"PriThatIsNotThePreface", "PRI / HTTP/1.1\r\n\r\n", Detect::kHttp,
       DetectReason::kRequestLine},
      {"LongTokenWithoutSpace", std::string(kDetectMaxBytes + 10, 'A'), Detect::kHttp,
       DetectReason::kSizeBound},
      {"ManyLineBreaks", std::string(kDetectMaxBytes, '\n') + "GET / HTTP/1.1\r\n", Detect::kHttp,
       DetectReason::kSizeBound},
      {"TlsClientHello", "\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03"s, Detect::kOpaque,
       DetectReason::kNotRequestLine},
      {"RedisInline", "PING\r\n", Detect::kOpaque, DetectReason::kNotRequestLine},
      {"RedisResp", "*1\r\n$4\r\nPING\r\n", Detect::kOpaque, DetectReason::kNotRequestLine},
      {"SshBanner", "SSH-2.0-OpenSSH_9.6\r\n", Detect::kOpaque, DetectReason::kNotRequestLine},
      {"PostgresStartup", "\x00\x00\x00\x08\x04\xd2\x16\x2f"s, Detect::kOpaque,
       DetectReason::kNotRequestLine},
      {"AmqpHeader", "AMQP\x00\x00\x09\x01"s, Detect::kOpaque, DetectReason::kNotRequestLine},
      {"LdapBind", "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"s, Detect::kOpaque,
       DetectReason::kNotRequestLine},
      {"SpaceWithoutMethod", "\r\n / HTTP/1.1\r\n"s, Detect::kOpaque,
       DetectReason::kNotRequestLine},
      {"ByteOutsideTcharInMethod", "GE(T / HTTP/1.1\r\n", Detect::kOpaque,
       DetectReason::kNotRequestLine},
      {"Http2Preface", kPreface + "\x00\x00\x12\x04\x00"s, Detect::kHttp,
       DetectReason::kHttp2Preface},
  };
}

class DetectHttpTest : public ::testing::TestWithParam<Sample> {};

TEST_P(DetectHttpTest, DecidesTheSameWhateverTheReadBoundaries) {
  const Sample& s = GetParam();
  Detection whole = detectHttp(s.bytes);
  ASSERT_EQ(whole.decision, s.decision);
  EXPECT_EQ(whole.reason, s.reason) << detectReasonName(whole.reason);
  // The detector sees the bytes read so far, one more read at a time: whatever prefix it
  // decides on first, the decision and reason are those of the whole input.
  for (size_t n = 0; n < s.bytes.size(); ++n) {
    Detection part = detectHttp(std::string_view(s.bytes).substr(0, n));
    if (part.decision == Detect::kMaybe) {
      // Had the timeout fired here, bytes that may still be a request line are HTTP.
      Detection late = detectAtTimeout(std::string_view(s.bytes).substr(0, n));
      EXPECT_EQ(late.decision, n == 0 ? Detect::kOpaque : Detect::kHttp) << "prefix " << n;
      EXPECT_EQ(late.reason, n == 0 ? DetectReason::kSilent : DetectReason::kPartialAtTimeout);
      continue;
    }
    EXPECT_EQ(part.decision, s.decision) << "prefix of " << n << " bytes";
    EXPECT_EQ(part.reason, s.reason) << "prefix of " << n << " bytes";
  }
  // Once decided, more bytes change nothing.
  Detection more = detectHttp(s.bytes + "\x16 more \r\n");
  EXPECT_EQ(more.decision, s.decision);
  EXPECT_EQ(more.reason, s.reason);
}

INSTANTIATE_TEST_SUITE_P(Samples, DetectHttpTest, ::testing::ValuesIn(samples()),
                         [](const ::testing::TestParamInfo<Sample>& p) { return p.param.name; });

TEST(DetectHttp, WaitsWhileTheBytesMayStillBecomeARequestLine) {
  for (std::string_view partial :
       {"", "G", "GE", "GET", "PROPFIN", "\r", "\r\n", "\r\nGE", "FOO", "PRI * HTTP/2.0\r\n"}) {
    EXPECT_EQ(detectHttp(partial).decision, Detect::kMaybe) << "'" << partial << "'";
  }
}

TEST(DetectHttp, TimeoutWithNoByteIsSilentTcpAndWithPartialBytesIsHttp) {
  Detection silent = detectAtTimeout("");
  EXPECT_EQ(silent.decision, Detect::kOpaque);
  EXPECT_EQ(silent.reason, DetectReason::kSilent);
  Detection ge = detectAtTimeout("GE");
  EXPECT_EQ(ge.decision, Detect::kHttp);
  EXPECT_EQ(ge.reason, DetectReason::kPartialAtTimeout);
  Detection crlf = detectAtTimeout("\r\n");
  EXPECT_EQ(crlf.decision, Detect::kHttp);
  // Bytes that already decided keep their decision at the timeout.
  EXPECT_EQ(detectAtTimeout("\x16\x03").reason, DetectReason::kNotRequestLine);
}

TEST(DetectHttp, EveryNonTcharByteBeforeTheSpaceMeansTcp) {
  const std::string tchars = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    char ch = static_cast<char>(c);
    bool tchar = std::isalnum(c) != 0 || tchars.find(ch) != std::string::npos;
    Detection d = detectHttp(std::string("GE") + ch + "T / HTTP/1.1\r\n");
    if (tchar) {
      EXPECT_EQ(d.decision, Detect::kHttp) << "byte " << c;
    } else if (ch == ' ' || ch == '\t') {
      EXPECT_EQ(d.decision, Detect::kHttp) << "byte " << c << " ends the method 'GE'";
    } else {
      EXPECT_EQ(d.decision, Detect::kOpaque) << "byte " << c;
      EXPECT_EQ(d.reason, DetectReason::kNotRequestLine) << "byte " << c;
    }
  }
}

TEST(DetectHttp, ReasonNamesAndProtocolsAreTheMetricLabels) {
  std::vector<std::pair<std::string_view, std::string_view>> want = {
      {"http", "request-line"}, {"http", "partial-at-timeout"}, {"http", "size-bound"},
      {"tcp", "silent"},        {"tcp", "not-request-line"},    {"http2", "http2-preface"}};
  ASSERT_EQ(want.size(), kDetectReasonCount);
  for (size_t i = 0; i < kDetectReasonCount; ++i) {
    auto r = static_cast<DetectReason>(i);
    EXPECT_EQ(detectProtocolName(r), want[i].first);
    EXPECT_EQ(detectReasonName(r), want[i].second);
  }
}

}  // namespace
}  // namespace remora::sidecar
