// The access log line: client-controlled fields are quoted and escaped, so one line is one
// record and a peer cannot add or change fields.

#include "sidecar/access_log.h"

#include <gtest/gtest.h>

#include "common/utf8.h"

namespace remora::sidecar {
namespace {

filters::StreamInfo sample() {
  filters::StreamInfo i;
  i.method = "GET";
  i.path = "/orders?id=7";
  i.authority = "orders:8080";
  i.request_id = "abc";
  i.listener = "main";
  i.route = "all";
  i.cluster = "orders";
  i.status = 200;
  i.bytes_received = 3;
  i.bytes_sent = 42;
  i.duration_us = 1204;
  i.upstream_us = 950;
  filters::Attempt a;
  a.endpoint = "127.0.0.1:9001";
  i.attempts.push_back(a);
  return i;
}

std::string line(const filters::StreamInfo& i, bool http10 = false) {
  std::string out;
  formatAccessLog(i, http10 ? http::Protocol::kHttp10 : http::Protocol::kHttp11, out);
  return out;
}

TEST(AccessLogTest, OrdinaryRequestLineHasEveryField) {
  EXPECT_EQ(line(sample()),
            "\"GET /orders?id=7 HTTP/1.1\" 200 - 3 42 1.204ms 0.950ms \"orders:8080\" route=all "
            "cluster=orders upstream=127.0.0.1:9001 attempts=1 id=\"abc\" listener=main");
  filters::StreamInfo local;
  local.method = "GET";
  local.path = "/";
  local.status = 404;
  local.reason = filters::Reason::kNoRoute;
  local.listener = "main";
  local.duration_us = 7;
  EXPECT_EQ(line(local, true),
            "\"GET / HTTP/1.0\" 404 no-route 0 0 0.007ms 0.000ms \"\" route=- cluster=- "
            "upstream=- attempts=0 id=- listener=main");
}

TEST(AccessLogTest, RequestIdWithSpacesAndKeyValuePairsCannotForgeFields) {
  filters::StreamInfo i = sample();
  i.request_id = "abc listener=admin route=forged";
  std::string l = line(i);
  EXPECT_NE(l.find(" id=\"abc listener=admin route=forged\" listener=main"), std::string::npos)
      << l;
  // The forged pairs sit inside the quoted id: the real fields appear once, outside quotes.
  EXPECT_EQ(l.rfind(" listener="), l.find(" listener=main"));
}

TEST(AccessLogTest, QuotesAndBackslashesInPathAuthorityAndIdAreEscaped) {
  filters::StreamInfo i = sample();
  i.path = "/a\"b\\c";
  i.authority = "h\" route=x \"";
  i.request_id = "\"";
  std::string l = line(i);
  EXPECT_NE(l.find("\"GET /a\\\"b\\\\c HTTP/1.1\""), std::string::npos) << l;
  EXPECT_NE(l.find(" \"h\\\" route=x \\\"\" route=all "), std::string::npos) << l;
  EXPECT_NE(l.find(" id=\"\\\"\" "), std::string::npos) << l;
}

TEST(AccessLogTest, CrLfAndOtherControlBytesAreHexEscapedSoOneLineIsOneRecord) {
  filters::StreamInfo i = sample();
  i.request_id = "a\r\n[2026-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 200";
  i.authority = std::string("t\tx\x00\x7f", 5);
  std::string l = line(i);
  EXPECT_EQ(l.find('\n'), std::string::npos) << l;
  EXPECT_EQ(l.find('\r'), std::string::npos) << l;
  EXPECT_NE(l.find("id=\"a\\x0D\\x0A[2026-01-01T00:00:00.000Z] \\\"GET / HTTP/1.1\\\" 200\""),
            std::string::npos)
      << l;
  EXPECT_NE(l.find("\"t\\x09x\\x00\\x7F\""), std::string::npos) << l;
}

TEST(AccessLogTest, IllFormedUtf8IsHexEscapedAndWellFormedTextPasses) {
  filters::StreamInfo i = sample();
  i.authority = "caf\xC3\xA9.example";
  i.request_id = "x\xFF\xC0\xAF\xED\xA0\x80\xE2\x82";
  i.path = "/\xC2\x85\xE2\x80\xA8";  // NEL (C1) and LINE SEPARATOR: well-formed, unprintable
  std::string l = line(i);
  EXPECT_TRUE(common::isValidUtf8(l)) << l;
  EXPECT_NE(l.find("\"caf\xC3\xA9.example\""), std::string::npos) << l;
  EXPECT_NE(l.find("id=\"x\\xFF\\xC0\\xAF\\xED\\xA0\\x80\\xE2\\x82\""), std::string::npos) << l;
  EXPECT_NE(l.find("\"GET /\\xC2\\x85\\xE2\\x80\\xA8 HTTP/1.1\""), std::string::npos) << l;
}

TEST(AccessLogTest, EveryLineStartsWithTheUtcTimeToTheMillisecondInBrackets) {
  using namespace std::chrono;
  // 2026-11-22T17:00:00.123Z, then the same second again (cached), then the next day.
  const system_clock::time_point t{milliseconds(1795366800123LL)};
  std::string out;
  appendLogTimestamp(out, t);
  EXPECT_EQ(out, "[2026-11-22T17:00:00.123Z] ");
  out.clear();
  appendLogTimestamp(out, t + milliseconds(876));
  EXPECT_EQ(out, "[2026-11-22T17:00:00.999Z] ");
  out.clear();
  appendLogTimestamp(out, t + hours(24) + milliseconds(877));
  EXPECT_EQ(out, "[2026-11-23T17:00:01.000Z] ");
  out.clear();
  appendLogTimestamp(out, system_clock::time_point{milliseconds(7)});
  EXPECT_EQ(out, "[1970-01-01T00:00:00.007Z] ");
}

}  // namespace
}  // namespace remora::sidecar
