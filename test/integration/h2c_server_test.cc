// common::HttpServer speaks HTTP/2 with prior knowledge (h2c) on the same port as HTTP/1:
// remora-echo (an HttpServer) driven by clients nobody here wrote — curl
// --http2-prior-knowledge, and h2load (Debian's nghttp2-client) for many streams on one
// connection — and by a raw socket that breaks the protocol after the preface.

#include <gtest/gtest.h>
#include <chrono>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

class H2cServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_ = programPath("curl");
    ASSERT_FALSE(curl_.empty()) << "curl is not installed (scripts/setup.sh installs it)";
    echo_ = Echo::start(dir_, "up");
    ASSERT_FALSE(echo_.address.empty());
  }

  // curl --http2-prior-knowledge with `args`; `out` ends with "\n<http version> <status>".
  RunResult curl(std::vector<std::string> args) {
    args.insert(args.begin(), {curl_, "-sS", "--http2-prior-knowledge", "--max-time", "10", "-w",
                               "\n%{http_version} %{http_code}"});
    return runToExit(dir_, "curl" + std::to_string(++runs_), args, 15000ms);
  }

  static std::string verdict(const RunResult& r) {
    const size_t nl = r.out.rfind('\n');
    return nl == std::string::npos ? r.out : r.out.substr(nl + 1);
  }
  static std::string body(const RunResult& r) {
    const size_t nl = r.out.rfind('\n');
    return nl == std::string::npos ? "" : r.out.substr(0, nl);
  }

  TempDir dir_;
  Echo echo_;
  std::string curl_;
  int runs_ = 0;
};

TEST_F(H2cServerTest, CurlGetsTheSameAnswersOverH2cAsOverHttp1) {
  const std::string url = "http://" + echo_.address;
  RunResult get = curl({"-H", "x-a: b", url + "/hello?x=1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(verdict(get), "2 200");
  const std::string seen = body(get);
  EXPECT_NE(seen.find(R"("method":"GET")"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("path":"/hello")"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("query":"x=1")"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("x-a":"b")"), std::string::npos) << seen;
  // The authority arrives as the host field, as HTTP/1 sends it.
  EXPECT_NE(seen.find(R"("host":")" + echo_.address + "\""), std::string::npos) << seen;

  // A request body, every byte value, comes back whole.
  const std::string sent = randomBytes(200000, 7);
  const std::string file = dir_.write("body.bin", sent);
  RunResult post = curl({"--data-binary", "@" + file, url + "/echo-body"});
  ASSERT_EQ(post.exit_code, 0) << post.err;
  EXPECT_EQ(verdict(post), "2 200");
  EXPECT_TRUE(body(post) == sent) << "the echoed body differs (" << body(post).size() << " bytes)";

  // A streamed answer (a body source, 3 MB: far past the stream's flow-control window) is the
  // same byte for byte as the HTTP/1 one.
  RunResult big = curl({url + "/bytes/3000000"});
  ASSERT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(verdict(big), "2 200");
  common::HttpClient h1(echo_.address, 5000ms);
  auto plain = h1.get("/bytes/3000000");
  ASSERT_TRUE(plain.isOk()) << plain.status().message();
  ASSERT_EQ(plain.value().body.size(), 3000000u);
  EXPECT_TRUE(body(big) == plain.value().body) << "h2c and HTTP/1 bodies differ";

  // A HEAD answer has the length and no body.
  RunResult head = curl({"-I", url + "/bytes/1234"});
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_NE(head.out.find("content-length: 1234"), std::string::npos) << head.out;
}

TEST_F(H2cServerTest, H2loadRunsManyConcurrentStreamsOnOneConnection) {
  const std::string h2load = programPath("h2load");
  if (h2load.empty()) {
    GTEST_SKIP() << "h2load is not installed (Debian's nghttp2-client)";
  }
  // 400 requests, 20 streams at a time on each of 2 connections; some answers are streamed
  // bodies larger than h2load's 64 KiB stream window.
  RunResult r = runToExit(
      dir_, "h2load",
      {h2load, "-n", "400", "-c", "2", "-m", "20", "http://" + echo_.address + "/bytes/100000"},
      30000ms);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("400 2xx"), std::string::npos) << r.out;
}

TEST_F(H2cServerTest, BrokenFramesAfterThePrefaceGetGoawayAndClose) {
  common::HttpClient c(echo_.address, 2000ms);
  // The preface, then a frame header announcing a HEADERS frame on stream 0 (a connection
  // error).
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // our SETTINGS
  bytes += std::string("\x00\x00\x01\x01\x05\x00\x00\x00\x00\x82", 10);
  ASSERT_TRUE(c.sendRaw(bytes).isOk());
  auto answer = c.readUntilClose();
  ASSERT_TRUE(answer.isOk()) << answer.status().message();
  // Somewhere in what came back: a GOAWAY frame (type 7 on stream 0) with PROTOCOL_ERROR (1).
  const std::string& got = answer.value();
  bool goaway = false;
  for (size_t at = 0; at + 17 <= got.size();) {
    const size_t len = (static_cast<unsigned char>(got[at]) << 16) |
                       (static_cast<unsigned char>(got[at + 1]) << 8) |
                       static_cast<unsigned char>(got[at + 2]);
    if (got[at + 3] == 7 && len >= 8 && at + 9 + len <= got.size()) {
      goaway = got[at + 9 + 7] == 1;  // the low byte of the error code
    }
    at += 9 + len;
  }
  EXPECT_TRUE(goaway) << "no GOAWAY PROTOCOL_ERROR among " << got.size() << " bytes";

  // Other connections are not affected.
  common::HttpClient d(echo_.address, 2000ms);
  auto ok = d.get("/healthz");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok.value().status, 200);
}

}  // namespace
}  // namespace remora::test
