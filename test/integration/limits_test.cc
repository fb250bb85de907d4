// Resource limits of a real remora-sidecar: bounded memory under a slow reader (flow control),
// max_connections per listener, and the header read timeout (slowloris guard).

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <thread>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline char patternByte(uint64_t i) { return static_cast<char>((i * 31 + 7) & 0xff); }

// One listener "main" (HTTP) in front of one echo, with `listener_extra` lines added to it.
std::string limitsConfig(const std::string& backend, const std::string& listener_extra) {
  return "concurrency: 2\n"
         "access_log: {enabled: false}\n"
         "listeners:\n"
         "  - name: main\n"
         "    address: 127.0.0.1:0\n"
         "    route_config: r\n" +
         listener_extra +
         "static_resources:\n"
         "  clusters:\n"
         "    - name: echo\n"
         "      endpoints: [{address: \"" + backend + "\"}]\n"
         "  routes:\n"
         "    - name: r\n"
         "      virtual_hosts:\n"
         "        - name: vh\n"
         "          domains: [\"*\"]\n"
         "          routes:\n"
         "            - name: all\n"
         "              match: {prefix: /}\n"
         "              route: {cluster: echo, timeout: 30s}\n";
}

// ---- flow control ------------------------------------------------------------------------

TEST(LimitsTest, SlowClientKeepsProxyMemoryBoundedWhileA64MiBBodyWaits) {
  constexpr uint64_t kBody = 64ull * 1024 * 1024;
  constexpr uint64_t kFirst = 100 * 1024;
  TempDir dir;
  Echo echo = Echo::start(dir, "echo");
  ASSERT_FALSE(echo.address.empty());
  Sidecar s = Sidecar::quick(dir, {echo.address}, {"--access-log", "off"});
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);

  // Warm up (worker buffers, pools, admin) so the baseline is not the cold process.
  {
    HttpClient warm(s.main(), 5s);
    auto r = warm.get("/bytes/1048576");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_EQ(r.value().body.size(), 1048576u);
    s.adminGet("/stats");
  }
  long baseline = s.process.rssKb();
  ASSERT_GT(baseline, 0);

  HttpClient c(s.main(), 10s);
  ASSERT_TRUE(c.sendRaw("GET /bytes/" + std::to_string(kBody) + " HTTP/1.1\r\nHost: x\r\n\r\n")
                  .isOk());
  // The head, by hand: we read the body at our own pace.
  std::string got;
  size_t head_end = std::string::npos;
  auto deadline = Clock::now() + 5s;
  while ((head_end = got.find("\r\n\r\n")) == std::string::npos && Clock::now() < deadline) {
    auto r = c.readRaw(4096);
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_FALSE(r.value().empty()) << "closed before the response head";
    got += r.value();
  }
  ASSERT_NE(head_end, std::string::npos);
  std::string head = got.substr(0, head_end);
  ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  std::string lower_head = head;
  std::transform(lower_head.begin(), lower_head.end(), lower_head.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  EXPECT_NE(lower_head.find("content-length: " + std::to_string(kBody)), std::string::npos)
      << head;

  uint64_t offset = 0;       // body bytes read and checked
  uint64_t bad_at = kBody;   // first wrong byte
  auto consume = [&](std::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bad_at == kBody && bytes[i] != patternByte(offset + i)) {
        bad_at = offset + i;
      }
    }
    offset += bytes.size();
  };
  consume(std::string_view(got).substr(head_end + 4));
  while (offset < kFirst) {
    auto r = c.readRaw(std::min<uint64_t>(kFirst - offset, 16 * 1024));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_FALSE(r.value().empty()) << "closed after " << offset << " body bytes";
    consume(r.value());
  }

  // Stall ~1.5 s reading nothing, sampling the proxy's memory.
  long peak = baseline;
  auto stall_end = Clock::now() + 1500ms;
  while (Clock::now() < stall_end) {
    std::this_thread::sleep_for(100ms);
    peak = std::max(peak, s.process.rssKb());
  }
  long growth_kb = peak - baseline;
  RecordProperty("rss_baseline_kb", std::to_string(baseline));
  RecordProperty("rss_growth_kb", std::to_string(growth_kb));
  EXPECT_LT(growth_kb, 16 * 1024) << "the proxy buffered the body for a slow reader: RSS "
                                  << baseline << " KiB -> " << peak << " KiB";
  EXPECT_TRUE(s.process.running());

  // Now read the rest at full speed and check every byte.
  deadline = Clock::now() + 8s;
  while (offset < kBody && Clock::now() < deadline) {
    auto r = c.readRaw(1 << 20);
    ASSERT_TRUE(r.isOk()) << r.status().message() << " after " << offset << " bytes";
    ASSERT_FALSE(r.value().empty()) << "closed after " << offset << " of " << kBody << " bytes";
    consume(r.value());
  }
  EXPECT_EQ(offset, kBody) << "byte count";
  EXPECT_EQ(bad_at, kBody) << "first byte off the pattern at offset " << bad_at;
  // Still the same keep-alive connection, usable for another request.
  auto next = c.get("/after");
  ASSERT_TRUE(next.isOk()) << next.status().message();
  EXPECT_EQ(next.value().status, 200);
}

// ---- max_connections ---------------------------------------------------------------------

TEST(LimitsTest, ConnectionOverMaxConnectionsIsClosedAtOnceAndCounted) {
  TempDir dir;
  Echo echo = Echo::start(dir, "echo");
  ASSERT_FALSE(echo.address.empty());
  Sidecar s = Sidecar::config(dir, limitsConfig(echo.address, "    max_connections: 3\n"));
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
  const std::string overflow = "remora_downstream_cx_overflow_total{listener=\"main\"}";

  // Three connections, each past detection with one complete request, then kept open.
  std::vector<HttpClient> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(s.main(), 3s);
    auto r = held.back().get("/held/" + std::to_string(i));
    ASSERT_TRUE(r.isOk()) << "connection " << i << ": " << r.status().message();
    ASSERT_EQ(r.value().status, 200);
    ASSERT_TRUE(r.value().keep_alive);
  }
  EXPECT_EQ(s.stat("remora_downstream_cx_active{listener=\"main\"}"), 3);
  EXPECT_EQ(s.stat(overflow), 0);

  // The fourth is closed by the proxy without a word.
  // (The reset can come back before connect() even returns: that counts as closed at once.)
  HttpClient fourth(s.main(), 3s);
  auto start = Clock::now();
  auto connected = fourth.connect();
  if (connected.isOk()) {
    EXPECT_TRUE(fourth.waitForClose(1s)) << "the connection over the limit was kept open";
  } else {
    EXPECT_NE(connected.message().find("reset"), std::string::npos)
        << "not refused, reset: " << connected.message();
  }
  EXPECT_LT(msSince(start), 500) << "not closed at once";
  EXPECT_TRUE(eventually([&] { return s.stat(overflow) == 1; }, 2s)) << s.adminGet("/stats");

  // The held ones still work.
  for (int i = 0; i < 3; ++i) {
    auto r = held[i].get("/again");
    ASSERT_TRUE(r.isOk()) << "connection " << i << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 200);
  }
  EXPECT_EQ(s.stat(overflow), 1);

  // Once one goes away there is room again.
  held[0].close();
  bool served = eventually(
      [&] {
        auto r = HttpClient::fetch(s.main(), "GET", "/room", {}, {}, 1s);
        return r.isOk() && r.value().status == 200;
      },
      3s, 50ms);
  EXPECT_TRUE(served) << "no room after a connection closed";
}

// ---- header read timeout -----------------------------------------------------------------

class LimitsHeaderTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
    sidecar_ = Sidecar::config(dir_, limitsConfig(echo_.address, "    header_read_timeout: 300ms\n"));
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  // Reads the answer to a request head that never completed: a 408, then the close.
  void expect408ThenClose(HttpClient& c, Clock::time_point since) {
    auto r = c.readResponseRaw();
    long long took = msSince(since);
    ASSERT_TRUE(r.isOk()) << "no 408: " << r.status().message();
    EXPECT_EQ(r.value().status, 408);
    EXPECT_FALSE(r.value().keep_alive) << "a 408 must close";
    EXPECT_GE(took, 250) << "header_read_timeout is 300ms";
    EXPECT_LT(took, 1000) << "header_read_timeout is 300ms";
    EXPECT_TRUE(c.waitForClose(1s)) << "connection left open after the 408";
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(LimitsHeaderTimeoutTest, HalfARequestHeadGets408AndCloseWhileOtherConnectionsWork) {
  HttpClient slow(sidecar_.main(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(slow.sendRaw("GET /slowloris HTTP/1.1\r\nHost: x\r\nX-Partial: ye").isOk());

  // Meanwhile a complete request on another connection is served.
  auto ok = HttpClient::fetch(sidecar_.main(), "GET", "/fine");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok.value().status, 200);

  expect408ThenClose(slow, start);
  // And after it.
  auto later = HttpClient::fetch(sidecar_.main(), "GET", "/fine-later");
  ASSERT_TRUE(later.isOk()) << later.status().message();
  EXPECT_EQ(later.value().status, 200);
}

TEST_F(LimitsHeaderTimeoutTest, DribblingHeaderLinesDoesNotExtendTheDeadline) {
  HttpClient slow(sidecar_.main(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(slow.sendRaw("GET /dribble HTTP/1.1\r\nHost: x\r\n").isOk());
  // One more header line every 50 ms until the proxy says something (bounded: 40 lines).
  for (int i = 0; i < 40; ++i) {
    pollfd p{slow.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      break;  // the 408 (or the close) is there
    }
    if (!slow.sendRaw("X-Drip-" + std::to_string(i) + ": 1\r\n").isOk()) {
      break;
    }
  }
  expect408ThenClose(slow, start);
}

TEST_F(LimitsHeaderTimeoutTest, SecondRequestHeadOnAKeepAliveConnectionIsTimedToo) {
  HttpClient c(sidecar_.main(), 3s);
  auto first = c.get("/first");
  ASSERT_TRUE(first.isOk()) << first.status().message();
  ASSERT_EQ(first.value().status, 200);
  ASSERT_TRUE(first.value().keep_alive);
  auto start = Clock::now();
  ASSERT_TRUE(c.sendRaw("GET /second HTTP/1.1\r\nHost: x\r\n").isOk());
  expect408ThenClose(c, start);
}

TEST_F(LimitsHeaderTimeoutTest, SlowButCompleteHeadWithinTheTimeoutIsServed) {
  HttpClient c(sidecar_.main(), 3s);
  ASSERT_TRUE(c.sendRaw("GET /in-time HTTP/1.1\r\n").isOk());
  std::this_thread::sleep_for(100ms);  // part of the scenario: a pause well inside 300ms
  ASSERT_TRUE(c.sendRaw("Host: x\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  // The timer only guards heads: an idle keep-alive connection outlives it.
  EXPECT_FALSE(c.waitForClose(500ms)) << "idle keep-alive connection closed by the head timer";
}

}  // namespace
}  // namespace remora::test
