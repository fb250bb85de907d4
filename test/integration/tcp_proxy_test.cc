// Opaque TCP through a real remora-sidecar: configured opaque listeners, protocol detection
// (non-HTTP first bytes, server-speaks-first), half-close and an upstream that is down.

#include <gtest/gtest.h>

#include <sys/socket.h>

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

// One listener "tcp" whose TCP traffic goes to a cluster "backend" at `backend`.
std::string tcpConfig(const std::string& backend, bool opaque,
                      const std::string& detect_timeout = "") {
  std::string y =
      "concurrency: 1\n"
      "access_log: {enabled: false}\n"
      "listeners:\n"
      "  - name: tcp\n"
      "    address: 127.0.0.1:0\n"
      "    tcp_cluster: backend\n";
  if (opaque) {
    y += "    protocol: OPAQUE\n";
  }
  if (!detect_timeout.empty()) {
    y += "    detect_timeout: " + detect_timeout + "\n";
  }
  y +=
      "static_resources:\n"
      "  clusters:\n"
      "    - name: backend\n"
      "      connect_timeout: 1s\n"
      "      endpoints: [{address: \"" +
      backend + "\"}]\n";
  return y;
}

class TcpProxyTest : public ::testing::Test {
 protected:
  // Starts `remora-echo --tcp` (plus `echo_flags`) and a sidecar in front of it.
  void startWith(bool opaque, std::vector<std::string> echo_flags = {},
                 const std::string& detect_timeout = "") {
    std::vector<std::string> flags = {"--tcp"};
    flags.insert(flags.end(), echo_flags.begin(), echo_flags.end());
    echo_ = Echo::start(dir_, "tcp-echo", flags);
    ASSERT_FALSE(echo_.address.empty()) << readFile(dir_.file("tcp-echo.err"));
    sidecar_ = Sidecar::config(dir_, tcpConfig(echo_.address, opaque, detect_timeout));
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
    ASSERT_EQ(sidecar_.listeners.count("tcp"), 1u);
  }
  const std::string& tcp() const { return sidecar_.listeners.at("tcp"); }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(TcpProxyTest, OpaqueListenerEchoesMessagesBothWays) {
  startWith(/*opaque=*/true);
  HttpClient c(tcp(), 3s);
  // The first message looks like HTTP: an opaque listener must pass it through untouched.
  for (int i = 0; i < 5; ++i) {
    std::string msg = i == 0 ? std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                             : "message " + std::to_string(i) + "\r\n" + randomBytes(100 + i, i);
    ASSERT_TRUE(c.sendRaw(msg).isOk());
    auto back = c.readExactly(msg.size());
    ASSERT_TRUE(back.isOk()) << "round " << i << ": " << back.status().message();
    EXPECT_TRUE(back.value() == msg) << "round " << i;
  }
  EXPECT_TRUE(eventually([&] { return sidecar_.stat("remora_tcp_cx_total{listener=\"tcp\"}") == 1; },
                         2s));
  EXPECT_EQ(sidecar_.stat("remora_downstream_rq_total{listener=\"tcp\",code_class=\"2xx\"}"), 0)
      << "an opaque listener must not parse HTTP";
}

TEST_F(TcpProxyTest, OneMiBStreamsByteForByteAndHalfCloseDeliversEverythingThenEof) {
  startWith(/*opaque=*/true);
  HttpClient c(tcp(), 8s);
  ASSERT_TRUE(c.connect().isOk());
  const std::string data = randomBytes(1024 * 1024, 7);
  // Write everything, then half-close, from another thread while this one reads: the echo
  // path holds far less than 1 MiB, so writing and reading must overlap (flow control).
  bool sent = false;
  int fd = c.fd();
  std::thread writer([&] {
    sent = sendAllFd(fd, data, 8s);
    if (sent) {
      ::shutdown(fd, SHUT_WR);
    }
  });
  auto all = c.readUntilClose();
  writer.join();
  ASSERT_TRUE(sent) << "the proxy stopped taking bytes";
  ASSERT_TRUE(all.isOk()) << all.status().message();
  ASSERT_EQ(all.value().size(), data.size()) << "bytes lost or added";
  if (all.value() != data) {
    size_t i = 0;
    while (i < data.size() && all.value()[i] == data[i]) {
      ++i;
    }
    ADD_FAILURE() << "first difference at byte " << i;
  }
  // Both sides are done: the proxy has let go of the connection.
  EXPECT_TRUE(eventually(
      [&] { return sidecar_.stat("remora_downstream_cx_active{listener=\"tcp\"}") == 0; }, 2s));
  EXPECT_TRUE(eventually(
      [&] { return sidecar_.stat("remora_upstream_cx_active{cluster=\"backend\"}") == 0; }, 2s));
}

TEST_F(TcpProxyTest, HalfCloseStillDeliversTheReplyBeforeEof) {
  startWith(/*opaque=*/true);
  HttpClient c(tcp(), 3s);
  ASSERT_TRUE(c.sendRaw("last words").isOk());
  ASSERT_TRUE(c.shutdownWrite().isOk());
  auto rest = c.readUntilClose();
  ASSERT_TRUE(rest.isOk()) << rest.status().message();
  EXPECT_EQ(rest.value(), "last words");
}

TEST_F(TcpProxyTest, ServerSpeaksFirstBannerArrivesAfterDetectTimeoutOnNonOpaqueListener) {
  startWith(/*opaque=*/false, {"--banner", "220 hello"}, "100ms");
  EXPECT_EQ(sidecar_.stat("remora_protocol_detect_timeout_total{listener=\"tcp\"}"), 0);
  size_t log_before = readFile(sidecar_.stderr_file).size();

  HttpClient c(tcp(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(c.connect().isOk());
  std::string got;
  while (got.find('\n') == std::string::npos && msSince(start) < 3000) {
    auto r = c.readRaw();
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_FALSE(r.value().empty()) << "closed before the banner; got '" << got << "'";
    got += r.value();
  }
  long long elapsed = msSince(start);
  EXPECT_EQ(got, "220 hello\n");
  EXPECT_LT(elapsed, 100 + 800) << "banner must come right after detect_timeout (100ms)";
  EXPECT_GE(elapsed, 50) << "the proxy cannot know it is opaque before detect_timeout";

  // The stream is a working byte pipe in both directions afterwards.
  ASSERT_TRUE(c.sendRaw("ping\n").isOk());
  auto echoed = c.readExactly(5);
  ASSERT_TRUE(echoed.isOk()) << echoed.status().message();
  EXPECT_EQ(echoed.value(), "ping\n");

  EXPECT_TRUE(eventually(
      [&] {
        return sidecar_.stat("remora_protocol_detect_timeout_total{listener=\"tcp\"}") == 1;
      },
      2s))
      << sidecar_.adminGet("/stats");
  // An info line, written after the connection came in, names the listener's port.
  std::string port = std::to_string(portOf(tcp()));
  bool logged = eventually(
      [&] {
        std::string log = readFile(sidecar_.stderr_file);
        if (log.size() <= log_before) {
          return false;
        }
        for (const std::string& line : splitLines(log.substr(log_before))) {
          if (line.find(port) != std::string::npos && line.find("info") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      2s);
  EXPECT_TRUE(logged) << "no info line naming port " << port << " in:\n"
                      << readFile(sidecar_.stderr_file);
}

TEST_F(TcpProxyTest, TlsLikeFirstBytesOnNonOpaqueListenerAreProxiedAsTcp) {
  // A long detect_timeout: the bytes, not the timer, must decide.
  startWith(/*opaque=*/false, {}, "5s");
  std::string hello("\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03", 11);
  hello += randomBytes(40, 3);
  HttpClient c(tcp(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(c.sendRaw(hello).isOk());
  auto back = c.readExactly(hello.size());
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(back.value() == hello);
  EXPECT_LT(msSince(start), 1000) << "detection must not wait for the timeout";
  EXPECT_EQ(sidecar_.stat("remora_protocol_detect_timeout_total{listener=\"tcp\"}"), 0);
  EXPECT_EQ(sidecar_.stat("remora_downstream_rq_bad_request_total{listener=\"tcp\"}"), 0);
  EXPECT_TRUE(eventually([&] { return sidecar_.stat("remora_tcp_cx_total{listener=\"tcp\"}") == 1; },
                         2s));
}

TEST_F(TcpProxyTest, FewerFirstBytesThanAMethodThatAreNotHttpAreProxiedAsTcp) {
  startWith(/*opaque=*/false, {}, "5s");
  HttpClient c(tcp(), 3s);
  ASSERT_TRUE(c.sendRaw("\x01").isOk());  // not the start of any method
  auto back = c.readExactly(1);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back.value(), "\x01");
}

TEST_F(TcpProxyTest, ClientThatStopsReadingPausesTheStreamAndProxyMemoryStaysBounded) {
  startWith(/*opaque=*/true);
  constexpr size_t kTotal = 32 * 1024 * 1024;
  std::string data(kTotal, '\0');
  for (size_t i = 0; i < kTotal; ++i) {
    data[i] = static_cast<char>((i * 131 + 17) & 0xff);
  }
  HttpClient c(tcp(), 10s);
  ASSERT_TRUE(c.connect().isOk());
  ASSERT_TRUE(c.sendRaw("warm").isOk());
  ASSERT_TRUE(c.readExactly(4).isOk());
  long baseline = sidecar_.process.rssKb();
  ASSERT_GT(baseline, 0);

  // The writer pushes 32 MiB; nobody reads the echo for ~1 s, so every buffer on the way back
  // fills and the proxy must stop reading the client (the writer blocks) instead of buffering.
  bool sent = false;
  int fd = c.fd();
  std::thread writer([&] { sent = sendAllFd(fd, data, 10s); });
  long peak = baseline;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    peak = std::max(peak, sidecar_.process.rssKb());
  }
  EXPECT_LT(peak - baseline, 16 * 1024)
      << "RSS " << baseline << " KiB -> " << peak << " KiB with a stalled reader";
  RecordProperty("rss_growth_kb", std::to_string(peak - baseline));

  size_t got = 0;
  size_t bad_at = kTotal;
  auto deadline = Clock::now() + 8s;
  while (got < kTotal && Clock::now() < deadline) {
    auto r = c.readRaw(1 << 20);
    if (!r.isOk() || r.value().empty()) {
      break;
    }
    const std::string& b = r.value();
    for (size_t i = 0; i < b.size() && bad_at == kTotal; ++i) {
      if (b[i] != data[got + i]) {
        bad_at = got + i;
      }
    }
    got += b.size();
  }
  writer.join();
  EXPECT_TRUE(sent) << "the writer could not finish";
  EXPECT_EQ(got, kTotal);
  EXPECT_EQ(bad_at, kTotal) << "first wrong byte at " << bad_at;
}

// The upstream port is free: nobody listens there.
class TcpProxyDownUpstreamTest : public ::testing::TestWithParam<bool> {};

TEST_P(TcpProxyDownUpstreamTest, ClientConnectionIsClosedNotHung) {
  bool opaque = GetParam();
  TempDir dir;
  uint16_t dead = pickFreePort();
  ASSERT_NE(dead, 0);
  Sidecar sidecar =
      Sidecar::config(dir, tcpConfig("127.0.0.1:" + std::to_string(dead), opaque, "5s"));
  ASSERT_FALSE(sidecar.admin.empty()) << readFile(sidecar.stderr_file);
  HttpClient c(sidecar.listeners.at("tcp"), 3s);
  auto start = Clock::now();
  // TLS-like bytes: on a non-opaque listener they make it TCP at once.
  // (A send that fails because the proxy already closed is as good as seeing the close.)
  auto sent = c.sendRaw(std::string("\x16\x03\x01\x00\x05hello", 10));
  EXPECT_TRUE(!sent.isOk() || c.waitForClose(2s)) << "the client is left hanging";
  EXPECT_LT(msSince(start), 1500);
  EXPECT_TRUE(eventually(
      [&] {
        return sidecar.stat("remora_upstream_cx_connect_fail_total{cluster=\"backend\"}") == 1;
      },
      2s))
      << sidecar.adminGet("/stats");
  EXPECT_TRUE(eventually(
      [&] { return sidecar.stat("remora_downstream_cx_active{listener=\"tcp\"}") == 0; }, 2s));
  EXPECT_TRUE(sidecar.process.running());
}

INSTANTIATE_TEST_SUITE_P(OpaqueAndDetected, TcpProxyDownUpstreamTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("OpaqueListener")
                                          : std::string("DetectedListener");
                         });

}  // namespace
}  // namespace remora::test
