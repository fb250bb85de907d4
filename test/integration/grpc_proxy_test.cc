// gRPC through real sidecars with Python grpcio (Debian's python3-grpcio) as the client and
// remora-echo --grpc as the server: unary, server-, client- and bidi-streaming calls with
// metadata, deadlines, cancellation and error statuses, through one sidecar and through two;
// retries on UNAVAILABLE; the proxy's own answers as trailers-only responses with the mapped
// grpc-status; remora_grpc_requests_total by grpc-status.
//
// One listener per case (the client's target is host:port, so a listener stands for a route):
//   main    -> cluster grpc (HTTP/2) -> the echo
//   retry   -> cluster flaky (HTTP/2, a failing echo and a good one, retry on unavailable)
//   two     -> cluster back (HTTP/2) -> a second sidecar -> the echo
//   limited -> the echo, 1 request per minute
//   noroute -> a route table that matches nothing

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "support/grpc_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

class GrpcProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = grpcClientMissing(dir_); !why.empty()) {
      GTEST_SKIP() << why;
    }
    echo_ = Echo::start(dir_, "grpc-echo", {"--grpc", "--log-level", "debug"});
    ASSERT_FALSE(echo_.address.empty()) << readFile(dir_.file("grpc-echo.err"));
    failing_ = Echo::start(dir_, "grpc-failing", {"--grpc", "--fail-rate", "1"});
    ASSERT_FALSE(failing_.address.empty());
    back_ = Sidecar::config(back_dir_, R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- {name: main, address: 127.0.0.1:0, route_config: r}
static_resources:
  clusters:
  - {name: grpc, protocol: HTTP2, endpoints: [{address: )" +
                                           echo_.address +
                                           R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: grpc}}]}
)");
    ASSERT_FALSE(back_.admin.empty()) << readFile(back_.stderr_file);
    front_ = Sidecar::config(dir_, R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
listeners:
- {name: main, address: 127.0.0.1:0, route_config: main}
- {name: retry, address: 127.0.0.1:0, route_config: retry}
- {name: two, address: 127.0.0.1:0, route_config: two}
- {name: limited, address: 127.0.0.1:0, route_config: limited}
- {name: noroute, address: 127.0.0.1:0, route_config: none}
static_resources:
  clusters:
  - {name: grpc, protocol: HTTP2, endpoints: [{address: )" +
                                       echo_.address +
                                       R"(}]}
  - name: flaky
    protocol: HTTP2
    endpoints: [{address: )" + failing_.address +
                                       R"(}, {address: )" + echo_.address + R"(}]
    retry_policy: {num_retries: 2, retry_on: [unavailable], backoff: {base_interval: 1ms}}
    circuit_breakers: {max_retries: 100}
  - {name: back, protocol: HTTP2, endpoints: [{address: )" +
                                       back_.main() +
                                       R"(}]}
  routes:
  - name: main
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: grpc}}]}
  - name: retry
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: flaky}}]}
  - name: two
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: back}}]}
  - name: limited
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {prefix: /}
        route: {cluster: grpc}
        rate_limit: {requests_per_unit: 1, unit: MINUTE}
  - name: none
    virtual_hosts:
    - {name: other, domains: [other.example], routes: [{match: {prefix: /}, route: {cluster: grpc}}]}
)");
    ASSERT_FALSE(front_.admin.empty()) << readFile(front_.stderr_file);
  }

  // Runs a scenario through `listener` of the front sidecar; it must pass, its first call
  // ending with `code`.
  RunResult expectScenario(const std::string& listener, const std::string& scenario,
                           const std::string& code, std::vector<std::string> extra = {}) {
    RunResult r = runGrpcScenario(dir_, front_.listeners.at(listener), scenario, extra);
    EXPECT_EQ(r.exit_code, 0) << scenario << ": " << r.out << r.err;
    EXPECT_NE(r.out.find("\"ok\":true"), std::string::npos) << scenario << ": " << r.out;
    EXPECT_EQ(jsonStrings(r.out)["code"], code) << scenario << ": " << r.out;
    return r;
  }

  long long grpcCount(const std::string& cluster, int status) const {
    return front_.stat("remora_grpc_requests_total{cluster=\"" + cluster + "\",grpc_status=\"" +
                       std::to_string(status) + "\"}");
  }

  TempDir dir_;
  TempDir back_dir_;  // (each sidecar's files are named after the binary)
  Echo echo_;
  Echo failing_;
  Sidecar back_;
  Sidecar front_;
};

TEST_F(GrpcProxyTest, EveryKindOfCallThroughOneSidecar) {
  expectScenario("main", "unary", "OK");
  RunResult s = expectScenario("main", "server-stream", "OK");
  EXPECT_NE(s.out.find("\"index\":4"), std::string::npos) << s.out;
  RunResult c = expectScenario("main", "client-stream", "OK");
  EXPECT_EQ(jsonInt(c.out, "received"), 4) << c.out;
  expectScenario("main", "bidi", "OK");
  RunResult m = expectScenario("main", "metadata", "OK");
  EXPECT_EQ(jsonStrings(m.out)["x-echo-md-x-trace-me"], "abc") << m.out;
  expectScenario("main", "concurrent", "OK");
  // Trailers came through: every OK call was counted by its grpc-status, not by HTTP 200.
  EXPECT_GE(grpcCount("grpc", 0), 25);
  EXPECT_EQ(grpcCount("grpc", 14), 0);
}

TEST_F(GrpcProxyTest, DeadlinesCancellationAndErrorStatusesPassThrough) {
  expectScenario("main", "deadline", "DEADLINE_EXCEEDED");
  expectScenario("main", "cancel", "CANCELLED");
  expectScenario("main", "error", "NOT_FOUND");
  expectScenario("main", "unimplemented", "UNIMPLEMENTED");
  expectScenario("main", "too-large", "RESOURCE_EXHAUSTED");
  // The upstream's statuses, counted from its trailers (or trailers-only answers).
  EXPECT_EQ(grpcCount("grpc", 5), 1);   // NOT_FOUND
  EXPECT_EQ(grpcCount("grpc", 9), 1);   // FAILED_PRECONDITION
  EXPECT_EQ(grpcCount("grpc", 10), 1);  // ABORTED
  EXPECT_EQ(grpcCount("grpc", 12), 1);  // UNIMPLEMENTED
  EXPECT_EQ(grpcCount("grpc", 8), 1);   // RESOURCE_EXHAUSTED
  // The cancelled stream was reset towards the echo too.
  EXPECT_TRUE(eventually(
      [&] {
        return readFile(dir_.file("grpc-echo.err")).find("ServerStream reset") != std::string::npos;
      },
      3s))
      << readFile(dir_.file("grpc-echo.err"));
}

TEST_F(GrpcProxyTest, EveryKindOfCallThroughTwoSidecars) {
  expectScenario("two", "unary", "OK");
  expectScenario("two", "server-stream", "OK");
  expectScenario("two", "client-stream", "OK");
  expectScenario("two", "bidi", "OK");
  expectScenario("two", "metadata", "OK");
  expectScenario("two", "error", "NOT_FOUND");
  expectScenario("two", "deadline", "DEADLINE_EXCEEDED");
  EXPECT_GE(back_.stat("remora_grpc_requests_total{cluster=\"grpc\",grpc_status=\"0\"}"), 5);
}

TEST_F(GrpcProxyTest, UnavailableIsRetriedOnAnotherEndpoint) {
  // Round robin sends every other first try to the failing echo: all 20 calls still succeed.
  expectScenario("retry", "concurrent", "OK");
  long long retries = front_.stat("remora_upstream_rq_retry_total{cluster=\"flaky\"}");
  EXPECT_GE(retries, 5);
  EXPECT_EQ(grpcCount("flaky", 0), 20);
  EXPECT_EQ(grpcCount("flaky", 14), 0);  // the retried answers never reached the client
}

TEST_F(GrpcProxyTest, ProxyAnswersAreTrailersOnlyWithTheMappedStatus) {
  RunResult nr =
      expectScenario("noroute", "unary", "UNIMPLEMENTED", {"--expect-code", "UNIMPLEMENTED"});
  EXPECT_NE(jsonStrings(nr.out)["details"].find("no-route"), std::string::npos) << nr.out;
  expectScenario("limited", "unary", "OK", {"--expect-code", "OK"});
  RunResult rl = expectScenario("limited", "unary", "RESOURCE_EXHAUSTED",
                                {"--expect-code", "RESOURCE_EXHAUSTED"});
  EXPECT_NE(jsonStrings(rl.out)["details"].find("rate-limited"), std::string::npos) << rl.out;
  EXPECT_EQ(grpcCount("grpc", 8), 1);
}

TEST_F(GrpcProxyTest, DrainSendsGoAwayAndLetsTheCallInFlightFinish) {
  Process client;
  ASSERT_TRUE(client.start({"/usr/bin/python3", grpcClientScript(), front_.main(), "slow-stream"},
                           dir_.file("slow.out"), dir_.file("slow.err")));
  ASSERT_TRUE(eventually(
      [&] {
        return readFile(dir_.file("grpc-echo.err")).find("ServerStream") != std::string::npos;
      },
      10s))
      << readFile(dir_.file("slow.err"));
  front_.process.signal(SIGTERM);
  // The graceful GOAWAY, then the final one once the client answered the PING.
  EXPECT_TRUE(eventually(
      [&] { return front_.stat("remora_http2_goaway_sent_total{reason=\"no_error\"}") >= 1; }, 3s));
  EXPECT_EQ(client.wait(20s), 0) << readFile(dir_.file("slow.out"))
                                 << readFile(dir_.file("slow.err"));
  EXPECT_NE(readFile(dir_.file("slow.out")).find("\"ok\":true"), std::string::npos)
      << readFile(dir_.file("slow.out"));
  EXPECT_EQ(front_.process.wait(10s), 0);
}

}  // namespace
}  // namespace remora::test
