// The filter SDK's body hooks and response-side stop on a real worker, for HTTP/1 and HTTP/2
// clients: the sidecar's own code runs in this process (a Worker on a snapshot built from YAML)
// with a test-only filter appended to the route's chain, so no test code enters the binaries.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "filters/api/http_filter.h"
#include "sidecar/cluster_runtime.h"
#include "sidecar/snapshot.h"
#include "sidecar/worker.h"
#include "support/process.h"
#include "support/sockets.h"
#include "xds/bootstrap_loader.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;
using filters::BodyChunk;
using filters::FilterStatus;
using filters::StreamCtx;

// Request body: uppercased (same length), or answered 403 when it says "forbidden". Response:
// a 503 is replaced by a fallback answer; `x-probe-hold` holds the response 30 ms (a timer)
// then resumes; the body is wrapped in "<" ">" (content-length removed: the length changes).
class ProbeFilter final : public filters::HttpFilter {
 public:
  FilterStatus onRequestHeaders(http::RequestHead& head, StreamCtx&) noexcept override {
    hold_ = head.headers.has("x-probe-hold");
    return FilterStatus::kContinue;
  }
  FilterStatus onRequestData(BodyChunk& chunk, bool, StreamCtx& ctx) noexcept override {
    std::string upper(chunk.data());
    if (upper.find("forbidden") != std::string::npos) {
      ctx.sendLocalReply(filters::Reason::kBadRequest, "forbidden word", 403);
      return FilterStatus::kStop;
    }
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    chunk.replace(std::move(upper));
    return FilterStatus::kContinue;
  }
  FilterStatus onResponseHeaders(http::ResponseHead& head, bool end_stream,
                                 StreamCtx& ctx) noexcept override {
    if (head.status == 503) {
      filters::LocalReply fallback;
      fallback.status = 200;
      fallback.has_body = true;
      fallback.body = "fallback\n";
      fallback.headers.emplace_back("x-probe", "fallback");
      ctx.sendLocalReply(fallback);
      return FilterStatus::kStop;
    }
    head.headers.set("x-probe", "seen");
    if (!end_stream) {
      head.headers.remove("content-length");
      head.content_length = -1;
    }
    if (hold_) {
      timer_ = ctx.createTimer([&ctx] { ctx.resume(); });
      timer_->start(30);
      return FilterStatus::kStop;
    }
    return FilterStatus::kContinue;
  }
  FilterStatus onResponseData(BodyChunk& chunk, bool end_stream, StreamCtx&) noexcept override {
    std::string wrapped = first_ ? "<" : "";
    first_ = false;
    wrapped.append(chunk.data());
    if (end_stream) {
      wrapped.append(">");
    }
    chunk.replace(std::move(wrapped));
    return FilterStatus::kContinue;
  }
  void onDone(const filters::StreamInfo&) noexcept override { timer_.reset(); }

 private:
  bool hold_ = false;
  bool first_ = true;
  std::unique_ptr<common::Timer> timer_;
};

class ProbeFactory final : public filters::HttpFilterFactory {
 public:
  std::string_view name() const noexcept override { return "probe"; }
  std::unique_ptr<filters::HttpFilter> create() const override {
    return std::make_unique<ProbeFilter>();
  }
  filters::HookMask hooks() const noexcept override {
    return filters::kRequestDataHook | filters::kResponseDataHook;
  }
};

class FilterHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_ = programPath("curl");
    echo_ = Echo::start(dir_, "app");
    ASSERT_FALSE(echo_.address.empty());
    std::string yaml = R"(
admin: {address: 127.0.0.1:0}
concurrency: 1
access_log: {enabled: false}
listeners:
- {name: main, address: 127.0.0.1:0, route_config: r}
static_resources:
  clusters:
  - {name: app, endpoints: [{address: )" +
                       echo_.address + R"(}]}
  routes:
  - name: r
    virtual_hosts:
    - {name: all, domains: ["*"], routes: [{name: all, match: {prefix: /}, route: {cluster: app}}]}
)";
    auto config = xds::parseBootstrap(yaml, "filter_hooks_test");
    ASSERT_TRUE(config.isOk()) << config.status().message();
    sidecar::SnapshotContext ctx{stats_, pool_ids_, runtimes_, 1};
    auto snap = sidecar::buildSnapshot(config.value(), ctx, 1);
    ASSERT_TRUE(snap.isOk()) << snap.status().message();
    // The test's filter joins the route's chain before any worker sees the snapshot.
    auto& vhosts = const_cast<std::vector<sidecar::VirtualHost>&>(
        snap.value()->route_tables.at(0).virtualHosts());
    vhosts.at(0).routes.at(0).filters.push_back(std::make_shared<ProbeFactory>());

    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(fd, 64), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    address_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    worker_ = std::make_unique<sidecar::Worker>(0, stats_, 16);
    worker_->start(snap.value(), {fd}, {&runtime_});
  }

  void TearDown() override {
    if (worker_) {
      worker_->stop();
    }
  }

  // curl with HTTP/2 prior knowledge; -D - puts the head first.
  RunResult curlH2(const std::vector<std::string>& args, const std::string& path) {
    std::vector<std::string> argv = {curl_, "-sS", "--http2-prior-knowledge", "-D", "-"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("http://" + address_ + path);
    return runToExit(dir_, "curl" + std::to_string(++runs_), argv, 20s);
  }

  TempDir dir_;
  Echo echo_;
  common::StatsStore stats_{3};
  sidecar::PoolIds pool_ids_;
  sidecar::ClusterRuntimes runtimes_;
  sidecar::ListenerRuntime runtime_;
  std::unique_ptr<sidecar::Worker> worker_;
  std::string address_;
  std::string curl_;
  int runs_ = 0;
};

TEST_F(FilterHooksTest, BodyHooksChangeTheRequestAndTheResponseOverHttp1) {
  HttpClient c(address_);
  auto r = c.post("/echo-body", "hello world");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "<HELLO WORLD>");
  EXPECT_EQ(r.value().header("x-probe"), "seen");
  EXPECT_TRUE(r.value().chunked);  // the filter removed the length it changed
}

TEST_F(FilterHooksTest, ARequestBodyHookAnswersOverHttp1) {
  HttpClient c(address_);
  auto r = c.post("/echo-body", "a forbidden word");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 403);
  EXPECT_NE(r.value().body.find("forbidden word"), std::string::npos) << r.value().body;
}

TEST_F(FilterHooksTest, AResponseHeadersHookAnswersInsteadOfTheUpstreamOverHttp1) {
  HttpClient c(address_);
  auto r = c.get("/healthz", {{"x-echo-status", "503"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(r.value().body, "fallback\n");
  EXPECT_EQ(r.value().header("x-probe"), "fallback");
}

TEST_F(FilterHooksTest, AHeldResponseResumesWithItsWholeBodyOverHttp1) {
  HttpClient c(address_);
  c.setTimeout(10s);
  // 200,000 bytes: more than the 64 KiB held, so the upstream is paused meanwhile.
  auto start = std::chrono::steady_clock::now();
  auto r = c.get("/bytes/200000", {{"x-probe-hold", "1"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_GE(msSince(start), 30);  // the filter's 30 ms hold
  EXPECT_EQ(r.value().status, 200);
  ASSERT_EQ(r.value().body.size(), 200002u);
  EXPECT_EQ(r.value().body.front(), '<');
  EXPECT_EQ(r.value().body.back(), '>');
}

TEST_F(FilterHooksTest, TheSameHooksRunOverHttp2) {
  if (curl_.empty()) {
    GTEST_SKIP() << "curl is not installed";
  }
  RunResult body = curlH2({"--data-binary", "hello h2"}, "/echo-body");
  ASSERT_EQ(body.exit_code, 0) << body.err;
  EXPECT_EQ(body.out.rfind("HTTP/2 200", 0), 0u) << body.out;
  EXPECT_NE(body.out.find("x-probe: seen"), std::string::npos) << body.out;
  EXPECT_NE(body.out.find("\r\n\r\n<HELLO H2>"), std::string::npos) << body.out;

  RunResult refused = curlH2({"--data-binary", "forbidden"}, "/echo-body");
  ASSERT_EQ(refused.exit_code, 0) << refused.err;
  EXPECT_EQ(refused.out.rfind("HTTP/2 403", 0), 0u) << refused.out;

  RunResult fallback = curlH2({"-H", "x-echo-status: 503"}, "/healthz");
  ASSERT_EQ(fallback.exit_code, 0) << fallback.err;
  EXPECT_EQ(fallback.out.rfind("HTTP/2 200", 0), 0u) << fallback.out;
  EXPECT_NE(fallback.out.find("fallback\n"), std::string::npos) << fallback.out;

  RunResult held = curlH2(
      {"-H", "x-probe-hold: 1", "-o", "/dev/null", "-w", "size=%{size_download}"}, "/bytes/200000");
  ASSERT_EQ(held.exit_code, 0) << held.err;
  EXPECT_NE(held.out.find("size=200002"), std::string::npos) << held.out;
}

}  // namespace
}  // namespace remora::test
