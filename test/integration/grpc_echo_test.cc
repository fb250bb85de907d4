// remora-echo --grpc against real clients: the grpcio test client (test/grpc/echo_client.py)
// runs each scenario directly against it, and curl (HTTP/2 with prior knowledge) checks what
// a grpcio client cannot show: the server's own grpc-timeout, 415 and framing errors.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "support/grpc_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kService = "/remora.echo.v1.Echo/";

// One gRPC message: the 5-byte prefix (uncompressed) and `payload`.
std::string grpcMessage(const std::string& payload) {
  std::string out(5, '\0');
  out[3] = static_cast<char>(payload.size() >> 8);
  out[4] = static_cast<char>(payload.size() & 0xff);
  return out + payload;
}

// EchoRequest{delay_ms: 3000} by hand: field 3, varint 3000 (0xb8 0x17).
const std::string kDelay3000 = std::string("\x18\xb8\x17", 3);

// remora-echo --grpc on a free port, talked to with curl.
class GrpcEchoServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "grpc-echo-1", {"--grpc", "--log-level", "debug"});
    ASSERT_FALSE(echo_.address.empty()) << readFile(dir_.file("grpc-echo-1.err"));
  }

  // A POST by curl; -i: the response head (and trailers) before the body. An empty `body`
  // sends none (END_STREAM on the HEADERS frame): curl 7.88 does not see the end of a response
  // that arrives complete before it has sent its body.
  RunResult curlGrpc(const std::string& method, const std::string& body,
                     const std::vector<std::string>& headers) {
    std::vector<std::string> argv = {kCurl, "-v", "-s", "-i",  "--http2-prior-knowledge",
                                     "-m",  "10", "-X", "POST"};
    if (!body.empty()) {
      argv.insert(argv.end(),
                  {"--data-binary", "@" + dir_.write("body" + std::to_string(++bodies_), body)});
    }
    for (const auto& h : headers) {
      argv.insert(argv.end(), {"-H", h});
    }
    argv.push_back("http://" + echo_.address + kService + method);
    return runToExit(dir_, "curl" + std::to_string(++runs_), argv, 60s);
  }

  std::string echoLog() { return readFile(dir_.file("grpc-echo-1.err")); }

  // An empty EchoRequest to Unary is answered OK.
  void expectServing() {
    RunResult r =
        curlGrpc("Unary", grpcMessage(""), {"content-type: application/grpc", "te: trailers"});
    EXPECT_NE(r.out.find("grpc-status: 0"), std::string::npos) << r.out << r.err;
  }

  TempDir dir_;
  Echo echo_;
  int bodies_ = 0;
  int runs_ = 0;
};

// And the grpcio client (test/grpc/echo_client.py), skipped where python3 has no grpc.
class GrpcEchoTest : public GrpcEchoServerTest {
 protected:
  void SetUp() override {
    if (std::string why = grpcClientMissing(dir_); !why.empty()) {
      GTEST_SKIP() << why;
    }
    GrpcEchoServerTest::SetUp();
  }

  // One scenario of the client against `address` (default: the fixture's server).
  RunResult scenario(const std::string& name, std::vector<std::string> extra = {},
                     std::string address = "") {
    return runGrpcScenario(dir_, address.empty() ? echo_.address : address, name, extra);
  }

  // The scenario's expectations held (the client says which did not, otherwise).
  static void expectPassed(const RunResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << r.out;
  }

  // Runs a scenario that must pass, its first call ending with `code`; returns its output.
  RunResult expectScenario(const std::string& name, const std::string& code,
                           std::vector<std::string> extra = {}, std::string address = "") {
    RunResult r = scenario(name, std::move(extra), std::move(address));
    expectPassed(r);
    EXPECT_EQ(jsonStrings(r.out)["code"], code) << r.out;
    return r;
  }
};

TEST_F(GrpcEchoTest, UnaryEchoesTheMessageAndTheInstanceId) {
  RunResult r = expectScenario("unary", "OK");
  EXPECT_EQ(jsonStrings(r.out)["instance_id"], "grpc-echo-1");
}

TEST_F(GrpcEchoTest, ServerStreamSendsCountRepliesInOrder) {
  RunResult r = expectScenario("server-stream", "OK");
  EXPECT_NE(r.out.find("\"index\":4"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"index\":5"), std::string::npos) << r.out;
}

TEST_F(GrpcEchoTest, ClientStreamCountsTheMessagesAndBytesReceived) {
  RunResult r = expectScenario("client-stream", "OK");
  EXPECT_EQ(jsonInt(r.out, "received"), 4) << r.out;
}

TEST_F(GrpcEchoTest, BidiRepliesToEachRequestBeforeTheNextIsSent) {
  expectScenario("bidi", "OK");
}

TEST_F(GrpcEchoTest, MetadataComesBackInTheReplyAndAsPrefixedInitialMetadata) {
  RunResult r = expectScenario("metadata", "OK");
  EXPECT_EQ(jsonStrings(r.out)["x-echo-md-x-trace-me"], "abc") << r.out;
}

TEST_F(GrpcEchoTest, DelayLongerThanTheDeadlineIsDeadlineExceeded) {
  expectScenario("deadline", "DEADLINE_EXCEEDED");
}

TEST_F(GrpcEchoTest, ClientCancellationDropsTheStreamAndItsTimers) {
  expectScenario("cancel", "CANCELLED");
  // The server heard the reset and dropped the stream's pending delay.
  auto deadline = Clock::now() + 5s;
  const std::string line = "grpc /remora.echo.v1.Echo/ServerStream reset (remote-reset)";
  while (echoLog().find(line) == std::string::npos && Clock::now() < deadline) {
    usleep(20000);
  }
  EXPECT_NE(echoLog().find(line), std::string::npos) << echoLog();
  // And never sent the rest (1000 replies were asked for).
  EXPECT_EQ(echoLog().find("ServerStream ended"), std::string::npos) << echoLog();
}

TEST_F(GrpcEchoTest, RequestedStatusEndsTheCallAfterTheRepliesSoFar) {
  expectScenario("error", "NOT_FOUND");
}

TEST_F(GrpcEchoTest, UnknownMethodIsUnimplemented) {
  expectScenario("unimplemented", "UNIMPLEMENTED");
}

TEST_F(GrpcEchoTest, FailRateMetadataInjectsUnavailable) {
  expectScenario("unavailable", "UNAVAILABLE");
}

TEST_F(GrpcEchoTest, FailRateFlagFailsEveryCallUnlessTheMetadataOverrides) {
  Echo failing = Echo::start(dir_, "grpc-failing", {"--grpc", "--fail-rate", "1"});
  ASSERT_FALSE(failing.address.empty()) << readFile(dir_.file("grpc-failing.err"));
  RunResult r =
      expectScenario("unary", "UNAVAILABLE", {"--expect-code", "UNAVAILABLE"}, failing.address);
  EXPECT_NE(jsonStrings(r.out)["details"].find("injected failure"), std::string::npos) << r.out;
  expectScenario("unary", "OK", {"--expect-code", "OK", "--metadata", "x-echo-fail-rate=0"},
                 failing.address);
  // A custom --fail-status.
  Echo aborted =
      Echo::start(dir_, "grpc-aborted", {"--grpc", "--fail-rate", "1", "--fail-status", "10"});
  ASSERT_FALSE(aborted.address.empty()) << readFile(dir_.file("grpc-aborted.err"));
  expectScenario("unary", "ABORTED", {"--expect-code", "ABORTED"}, aborted.address);
}

TEST_F(GrpcEchoTest, MessageOverFourMebibytesIsResourceExhausted) {
  expectScenario("too-large", "RESOURCE_EXHAUSTED");
}

TEST_F(GrpcEchoTest, ConcurrentCallsShareOneConnectionAndOverlap) {
  RunResult r = expectScenario("concurrent", "OK");
  EXPECT_EQ(jsonInt(r.out, "calls_made"), 20) << r.out;
}

TEST_F(GrpcEchoTest, ClientThatStopsReadingCostsTheServerBoundedMemory) {
  // 100,000 replies of 60 kB asked for (6 GB), one read, then 2 s without reading.
  long base_kb = echo_.process.rssKb();
  Process client;
  ASSERT_TRUE(client.start({kPython, grpcClientScript(), echo_.address, "slow-reader"},
                           dir_.file("slow.out"), dir_.file("slow.err")));
  auto deadline = Clock::now() + 20s;
  while (readFile(dir_.file("slow.err")).find("holding") == std::string::npos &&
         Clock::now() < deadline && client.running()) {
    usleep(20000);
  }
  ASSERT_NE(readFile(dir_.file("slow.err")).find("holding"), std::string::npos)
      << readFile(dir_.file("slow.err"));
  long peak_kb = 0;
  for (auto until = Clock::now() + 1500ms; Clock::now() < until;) {
    peak_kb = std::max(peak_kb, echo_.process.rssKb());
    usleep(50000);
  }
  EXPECT_EQ(client.wait(20s), 0) << readFile(dir_.file("slow.out"));
  EXPECT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, base_kb + 32 * 1024)
      << "RSS " << base_kb << " kB before, " << peak_kb << " kB while the client was not reading";
}

TEST_F(GrpcEchoServerTest, ServerAnswersDeadlineExceededAtTheGrpcTimeoutItWasSent) {
  // curl has no deadline of its own here: the answer at ~200 ms is the server's.
  RunResult r = curlGrpc("Unary", grpcMessage(kDelay3000),
                         {"content-type: application/grpc", "te: trailers", "grpc-timeout: 200m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HTTP/2 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("content-type: application/grpc"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x-echo-id: grpc-echo-1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("grpc-status: 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("grpc-message: deadline of 200 ms exceeded"), std::string::npos) << r.out;
  EXPECT_GE(r.elapsed, 190ms);
  EXPECT_LT(r.elapsed, 2500ms);
}

TEST_F(GrpcEchoServerTest, StreamedRepliesEndWithTrailers) {
  // EchoRequest{message: "hi", count: 2}: the replies, then grpc-status in trailers.
  std::string request = std::string("\x0a\x02hi\x10\x02", 6);
  RunResult r = curlGrpc("ServerStream", grpcMessage(request),
                         {"content-type: application/grpc", "te: trailers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t body = r.out.find("\r\n\r\n");
  size_t status = r.out.find("grpc-status: 0");
  ASSERT_NE(body, std::string::npos) << r.out;
  ASSERT_NE(status, std::string::npos) << r.out;
  EXPECT_GT(status, body) << "grpc-status must come after the replies: " << r.out;
  std::string replies = r.out.substr(body, status - body);
  size_t ids = 0;
  for (size_t at = replies.find("grpc-echo-1"); at != std::string::npos;
       at = replies.find("grpc-echo-1", at + 1)) {
    ++ids;
  }
  EXPECT_EQ(ids, 2u) << "two replies, each with the instance id: " << r.out;
}

TEST_F(GrpcEchoServerTest, WrongContentTypeIsUnsupportedMediaType) {
  RunResult r = curlGrpc("Unary", "", {"content-type: application/json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HTTP/2 415"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("grpc-status"), std::string::npos) << r.out;
}

TEST_F(GrpcEchoServerTest, BadFramingIsInternal) {
  std::vector<std::string> grpc_headers = {"content-type: application/grpc", "te: trailers"};
  // A message cut short by the end of the request.
  RunResult truncated = curlGrpc("Unary", grpcMessage("abcdef").substr(0, 8), grpc_headers);
  ASSERT_EQ(truncated.exit_code, 0) << truncated.err;
  EXPECT_NE(truncated.out.find("grpc-status: 13"), std::string::npos) << truncated.out;
  EXPECT_NE(truncated.out.find("grpc-message: request ended inside a message"), std::string::npos)
      << truncated.out;
  // The compressed flag without a negotiated encoding.
  std::string compressed = grpcMessage("abc");
  compressed[0] = 1;
  RunResult c = curlGrpc("Unary", compressed, grpc_headers);
  EXPECT_NE(c.out.find("grpc-status: 13"), std::string::npos) << c.out;
  // A payload that is not an EchoRequest (field 1 claims 100 bytes).
  RunResult junk = curlGrpc("Unary", grpcMessage(std::string("\x0a\x64", 2)), grpc_headers);
  EXPECT_NE(junk.out.find("grpc-status: 13"), std::string::npos) << junk.out;
  // A malformed grpc-timeout.
  std::vector<std::string> bad_timeout = grpc_headers;
  bad_timeout.push_back("grpc-timeout: soon");
  RunResult t = curlGrpc("Unary", "", bad_timeout);
  EXPECT_NE(t.out.find("grpc-message: malformed grpc-timeout 'soon'"), std::string::npos) << t.out;
  // The server is still serving.
  expectServing();
}

TEST_F(GrpcEchoServerTest, Http1RequestGetsNoAnswerAndTheServerGoesOn) {
  RunResult r =
      runToExit(dir_, "curl-h1", {kCurl, "-s", "-m", "5", "http://" + echo_.address + "/"}, 60s);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("HTTP/1.1 200"), std::string::npos) << r.out;
  expectServing();
}

TEST_F(GrpcEchoServerTest, SigtermStopsTheServerCleanlyWithACallWaitingOnItsDelay) {
  expectServing();
  // A call whose reply is 3 s away (its timer armed) when the signal comes.
  Process waiting;
  ASSERT_TRUE(waiting.start(
      {kCurl, "-s", "-i", "--http2-prior-knowledge", "-m", "10", "--data-binary",
       "@" + dir_.write("delayed", grpcMessage(kDelay3000)), "-H", "content-type: application/grpc",
       "-H", "te: trailers", "http://" + echo_.address + kService + "Unary"},
      dir_.file("delayed.out"), dir_.file("delayed.err")));
  auto deadline = Clock::now() + 10s;
  const std::string armed = "grpc /remora.echo.v1.Echo/Unary: request complete (1 messages)";
  // The second such line (the first was expectServing's).
  auto armedTwice = [&] {
    std::string log = echoLog();
    size_t first = log.find(armed);
    return first != std::string::npos && log.find(armed, first + 1) != std::string::npos;
  };
  while (!armedTwice() && Clock::now() < deadline) {
    usleep(20000);
  }
  ASSERT_TRUE(armedTwice()) << echoLog();
  auto signalled = Clock::now();
  echo_.process.signal(SIGTERM);
  EXPECT_EQ(echo_.process.wait(5s), 0) << echoLog();
  EXPECT_LT(Clock::now() - signalled, 2s) << "the pending 3 s delay held the exit";
  EXPECT_NE(echoLog().find("grpc calls ended with grpc-status 0: 1"), std::string::npos)
      << echoLog();
  EXPECT_NE(echoLog().find("grpc calls reset before their end: 1"), std::string::npos) << echoLog();
  EXPECT_NE(waiting.wait(10s), -1);
  EXPECT_EQ(readFile(dir_.file("delayed.out")).find("grpc-status: 0"), std::string::npos);
}

TEST(GrpcEchoFlags, ConflictingOrInvalidGrpcFlagsAreRefused) {
  TempDir dir;
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--grpc", "--tcp"},
        std::vector<std::string>{"--grpc", "--fail-status", "503"},
        std::vector<std::string>{"--grpc", "--fail-status", "0"}}) {
    std::vector<std::string> argv = {echoBin(), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    RunResult r = runToExit(dir, "echo-flags", argv, 60s);
    EXPECT_EQ(r.exit_code, 2) << flags[1] << ": " << r.err;
    EXPECT_NE(r.err.find("see --help"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace remora::test
