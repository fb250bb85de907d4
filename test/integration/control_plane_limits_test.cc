// remora-control against hostile or careless peers (issue 9, B.9, B.12, B.13): the registration
// API's address and auth checks, registration sizes, xDS frame and connection limits, /v1/stats
// against silent and flooding admin addresses, and log lines that stay small whatever a peer
// sends. Everything on 127.0.0.1; every wait has a deadline.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.h"
#include "remora/xds/v1/discovery.pb.h"
#include "support/mesh.h"
#include "support/sockets.h"
#include "xds/framing.h"
#include "xds/resource_types.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

const char kServiceYaml[] =
    "apiVersion: v1\nkind: Service\nmetadata: {name: orders, namespace: shop}\nspec:\n"
    "  ports: [{name: http, port: 8080, targetPort: 8080}]\n";

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM); 0 when unknown.
long procStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// The value of a metric line starting with `prefix` in Prometheus text; -1 when absent.
long long metricValue(const std::string& text, const std::string& prefix) {
  for (const std::string& line : splitLines(text)) {
    if (line.rfind(prefix, 0) == 0 && line.size() > prefix.size() && line[prefix.size()] == ' ') {
      return std::strtoll(line.c_str() + prefix.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// A listening socket on 127.0.0.1:0 that never accepts: connects complete (the kernel's
// backlog) and requests are never answered.
struct SilentListener {
  int fd = -1;
  std::string address;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    address = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  ~SilentListener() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// A fake sidecar admin: answers each connection with `head` and then `body_bytes` of filler
// (or `body` when body_bytes is 0), one connection at a time, until destroyed. Every write is
// bounded by a deadline.
class FakeAdmin {
 public:
  FakeAdmin(std::string head, std::string body, uint64_t body_bytes)
      : head_(std::move(head)), body_(std::move(body)), body_bytes_(body_bytes) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeAdmin() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return listener_.address; }
  uint64_t bytesSent() const { return sent_.load(); }

 private:
  void run() {
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (!stop_ && std::chrono::steady_clock::now() < end) {
      pollfd p{listener_.fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        continue;
      }
      char buf[4096];
      (void)::recv(c, buf, sizeof(buf), 0);  // the request; its content does not matter
      bool ok = sendAllFd(c, head_, 2s);
      if (body_bytes_ == 0) {
        ok = ok && sendAllFd(c, body_, 2s);
      } else {
        const std::string chunk(256 * 1024, 'x');
        const auto stop_at = std::chrono::steady_clock::now() + 10s;
        for (uint64_t n = 0;
             ok && !stop_ && n < body_bytes_ && std::chrono::steady_clock::now() < stop_at;
             n += chunk.size()) {
          ok = sendAllFd(c, chunk, 1s);
          if (ok) {
            sent_ += chunk.size();
          }
        }
      }
      ::close(c);
    }
  }

  SilentListener listener_;
  std::string head_;
  std::string body_;
  uint64_t body_bytes_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

// An xDS connection after the handshake (101), or an unconnected client when it failed.
common::HttpClient xdsConnect(const std::string& xds) {
  common::HttpClient c(xds, 3s);
  auto r = c.get(std::string(xds::kXdsPath),
                 {{"connection", "Upgrade"}, {"upgrade", std::string(xds::kXdsUpgradeToken)}});
  if (!r.isOk() || r.value().status != 101) {
    c.close();
  }
  return c;
}

std::string requestFrame(const std::string& node_id, const std::string& admin = "",
                         const std::string& nonce = "", const std::string& error = "") {
  remora::xds::v1::DiscoveryRequest req;
  req.set_type_url(std::string(xds::kClusterType));
  req.mutable_node()->set_id(node_id);
  req.mutable_node()->set_service("frontend");
  req.mutable_node()->set_namespace_("shop");
  req.mutable_node()->set_admin_address(admin);
  req.set_response_nonce(nonce);
  if (!error.empty()) {
    req.mutable_error_detail()->set_code(3);
    req.mutable_error_detail()->set_message(error);
  }
  auto f = xds::encodeFrame(xds::FrameKind::kDiscoveryRequest, req);
  return f.isOk() ? f.value() : "";
}

// The 4 length bytes and kind byte of a DiscoveryRequest frame announcing `length`.
std::string frameHead(uint32_t length) {
  return std::string{static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length),
                     static_cast<char>(xds::FrameKind::kDiscoveryRequest)};
}

// Reads frames from `c` until a DiscoveryResponse arrives (within the client's timeout);
// returns its nonce, "" on failure.
std::string readResponseNonce(common::HttpClient& c) {
  xds::FrameDecoder decoder;
  for (int reads = 0; reads < 100; ++reads) {
    auto raw = c.readRaw();
    if (!raw.isOk() || raw.value().empty()) {
      return "";
    }
    decoder.feed(raw.value());
    for (;;) {
      auto f = decoder.next();
      if (!f.isOk() || !f.value()) {
        break;
      }
      if (f.value()->kind == xds::FrameKind::kDiscoveryResponse) {
        remora::xds::v1::DiscoveryResponse resp;
        resp.ParseFromArray(f.value()->payload.data(), static_cast<int>(f.value()->payload.size()));
        return resp.nonce();
      }
    }
  }
  return "";
}

class ControlPlaneLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = dir_.path() + "/manifests";
    ASSERT_EQ(::mkdir(manifests_.c_str(), 0755), 0);
    std::ofstream(manifests_ + "/shop.yaml") << kServiceYaml;
  }

  static std::string registration(const std::string& address, const std::string& extra = "") {
    return "{\"service\":\"orders\",\"namespace\":\"shop\",\"address\":\"" + address +
           "\",\"port\":8080" + extra + "}";
  }

  TempDir dir_;
  std::string manifests_;
};

TEST_F(ControlPlaneLimitsTest,
       LoopbackUnspecifiedAndLinkLocalRegistrationsAreRefusedWithoutTheFlag) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_, {}, /*allow_loopback=*/false);
  ASSERT_FALSE(cp.http.empty()) << readFile(cp.stderr_file);
  const std::vector<std::string> refused = {
      "127.0.0.1",        "127.1.2.3",       "0.0.0.0", "::1",           "::",
      "::ffff:127.0.0.1", "169.254.169.254", "fe80::1", "::ffff:0.0.0.0"};
  for (const std::string& a : refused) {
    auto r = common::HttpClient::fetch(cp.http, "POST", "/v1/registry/register",
                                       {{"content-type", "application/json"}}, registration(a));
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r.value().status, 400) << a;
    EXPECT_EQ(r.value().header("content-type"), "application/json") << a;
    EXPECT_NE(r.value().body.find("\"error\""), std::string::npos) << r.value().body;
    EXPECT_NE(r.value().body.find("--registry-allow-loopback"), std::string::npos)
        << r.value().body;
  }
  EXPECT_EQ(cp.post("/v1/registry/register", registration("10.1.2.3")), 200);
  EXPECT_EQ(cp.post("/v1/registry/register", registration("2001:db8::7")), 200);
  EXPECT_EQ(cp.get("/v1/services").find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(metricValue(cp.get("/metrics"), "remora_control_api_refused_total{reason=\"address\"}"),
            static_cast<long long>(refused.size()));
}

TEST_F(ControlPlaneLimitsTest, LoopbackRegistrationIsAcceptedWithTheFlag) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_, {"--registry-allow-loopback"});
  ASSERT_FALSE(cp.http.empty()) << readFile(cp.stderr_file);
  EXPECT_EQ(cp.post("/v1/registry/register", registration("127.0.0.1")), 200);
  EXPECT_TRUE(eventually(
      [&] { return cp.get("/v1/services").find("127.0.0.1:8080") != std::string::npos; }, 3s))
      << cp.get("/v1/services");
}

TEST_F(ControlPlaneLimitsTest, WritesNeedTheBearerTokenWhenTheApiListensBeyondLoopback) {
  // Without a token file: writes are refused (403, with the reason), reads stay open.
  ControlPlane open = ControlPlane::start(dir_, "open", manifests_,
                                          {"--http", "0.0.0.0:0", "--registry-allow-loopback"});
  ASSERT_FALSE(open.http.empty()) << readFile(open.stderr_file);
  const std::string api = "127.0.0.1:" + std::to_string(portOf(open.http));
  auto r =
      common::HttpClient::fetch(api, "POST", "/v1/registry/register", {}, registration("10.0.0.1"));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 403);
  EXPECT_NE(r.value().body.find("--api-token-file"), std::string::npos) << r.value().body;
  r = common::HttpClient::fetch(api, "GET", "/v1/services");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  open.process.stop();

  // With a token file: no token and a wrong one are refused, the right one is accepted.
  const std::string token_file = dir_.write("api-token", "s3cret-0123456789\n");
  ControlPlane cp = ControlPlane::start(
      dir_, "control", manifests_,
      {"--http", "0.0.0.0:0", "--api-token-file", token_file, "--registry-allow-loopback"});
  ASSERT_FALSE(cp.http.empty()) << readFile(cp.stderr_file);
  const std::string api2 = "127.0.0.1:" + std::to_string(portOf(cp.http));
  auto post = [&](const common::HttpClient::Headers& h) {
    auto res = common::HttpClient::fetch(api2, "POST", "/v1/registry/register", h,
                                         registration("10.0.0.1"));
    return res.isOk() ? res.value() : common::HttpClient::Response();
  };
  common::HttpClient::Response none = post({});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate").substr(0, 6), "Bearer");
  EXPECT_EQ(post({{"authorization", "Bearer wrong-0123456789"}}).status, 401);
  EXPECT_EQ(post({{"authorization", "Bearer s3cret-012345678"}}).status, 401);
  EXPECT_EQ(post({{"authorization", "Basic czNjcmV0"}}).status, 401);
  EXPECT_EQ(post({{"authorization", "Bearer s3cret-0123456789"}}).status, 200);
  // Reads need no token.
  EXPECT_TRUE(eventually(
      [&] {
        auto res = common::HttpClient::fetch(api2, "GET", "/v1/services");
        return res.isOk() && res.value().status == 200 &&
               res.value().body.find("10.0.0.1:8080") != std::string::npos;
      },
      3s));
  EXPECT_EQ(
      metricValue(cp.get("/metrics"), "remora_control_api_refused_total{reason=\"unauthorized\"}"),
      4);
}

TEST_F(ControlPlaneLimitsTest, RegistrationSizesAreBounded) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_, {"--registry-allow-loopback"});
  ASSERT_FALSE(cp.http.empty()) << readFile(cp.stderr_file);
  std::string many;
  for (int i = 0; i < 1000; ++i) {
    many += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":\"v\"";
  }
  EXPECT_EQ(
      cp.post("/v1/registry/register", registration("10.0.0.1", ",\"labels\":{" + many + "}")),
      400);
  EXPECT_EQ(
      cp.post("/v1/registry/register",
              registration("10.0.0.1", ",\"labels\":{\"k\":\"" + std::string(4096, 'v') + "\"}")),
      400);
  // A 2 MiB body is refused before it is parsed.
  EXPECT_EQ(cp.post("/v1/registry/register",
                    registration("10.0.0.1", ",\"labels\":{\"k\":\"" +
                                                 std::string(2 * 1024 * 1024, 'v') + "\"}")),
            413);
  EXPECT_EQ(cp.post("/v1/registry/register",
                    registration("10.0.0.1", ",\"labels\":{\"version\":\"v1\"}")),
            200);
  EXPECT_EQ(cp.get("/v1/services").find("k0"), std::string::npos);
}

TEST_F(ControlPlaneLimitsTest, HalfSentFramesAreRefusedOrTimedOutAndHoldNoMemory) {
  ControlPlane cp = ControlPlane::start(
      dir_, "control", manifests_, {"--xds-frame-timeout", "1s", "--xds-max-connections", "200"});
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  const long rss0 = procStatusKb(cp.process.pid(), "VmRSS");
  // 40 peers that announce a 16 MiB frame and send 1 MiB of it before identifying themselves.
  std::vector<common::HttpClient> big;
  for (int i = 0; i < 40; ++i) {
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected());
    (void)c.sendRaw(frameHead(16u * 1024 * 1024) + std::string(1024 * 1024, 'x'));
    big.push_back(std::move(c));
  }
  // 40 peers that start a frame under the small limit and then go quiet.
  std::vector<common::HttpClient> slow;
  for (int i = 0; i < 40; ++i) {
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.sendRaw(frameHead(60 * 1024) + std::string(30 * 1024, 'x')).isOk());
    slow.push_back(std::move(c));
  }
  const long rss1 = procStatusKb(cp.process.pid(), "VmRSS");
  std::printf("VmRSS %ld KiB before, %ld KiB with 80 half-sent frames\n", rss0, rss1);
  EXPECT_LT(rss1 - rss0, 12 * 1024);
  for (auto& c : big) {
    EXPECT_TRUE(c.waitForClose(1s));
  }
  // The slow frames are cut at the frame deadline (1 s).
  auto t0 = std::chrono::steady_clock::now();
  for (auto& c : slow) {
    EXPECT_TRUE(c.waitForClose(3s));
  }
  EXPECT_LT(msSince(t0), 3000);
  // A refusal is counted as its connection closes: the client may see the close first.
  std::string metrics;
  EXPECT_TRUE(eventually(
      [&] {
        metrics = cp.get("/metrics");
        return metricValue(metrics, "remora_control_xds_refused_total{reason=\"frame_timeout\"}") >=
                   40 &&
               metricValue(metrics,
                           "remora_control_xds_refused_total{reason=\"frame_too_large\"}") >= 40;
      },
      2s));
  EXPECT_EQ(metricValue(metrics, "remora_control_xds_refused_total{reason=\"frame_too_large\"}"),
            40);
  EXPECT_EQ(metricValue(metrics, "remora_control_xds_refused_total{reason=\"frame_timeout\"}"), 40);
}

TEST_F(ControlPlaneLimitsTest, PeerThatNeverIdentifiesIsClosedAtTheDeadline) {
  ControlPlane cp =
      ControlPlane::start(dir_, "control", manifests_, {"--xds-frame-timeout", "500ms"});
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  common::HttpClient c = xdsConnect(cp.xds);
  ASSERT_TRUE(c.connected());
  // Pings keep a connection alive, but not one that never said who it is.
  remora::xds::v1::Ping ping;
  auto frame = xds::encodeFrame(xds::FrameKind::kPing, ping);
  ASSERT_TRUE(frame.isOk());
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    (void)c.sendRaw(frame.value());
    auto pong = c.readRaw();  // the Pong, or the close
    closed = !pong.isOk() || pong.value().empty() || c.waitForClose(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(msSince(t0), 2500);
  // A TCP connection that never sends its upgrade request is answered 408 and closed too.
  common::HttpClient raw(cp.xds, 3s);
  ASSERT_TRUE(raw.connect().isOk());
  t0 = std::chrono::steady_clock::now();
  auto rest = raw.readUntilClose();
  ASSERT_TRUE(rest.isOk()) << rest.status().message();
  EXPECT_EQ(rest.value().rfind("HTTP/1.1 408", 0), 0u) << rest.value();
  EXPECT_LT(msSince(t0), 2500);
  const std::string metrics = cp.get("/metrics");
  EXPECT_EQ(metricValue(metrics, "remora_control_xds_refused_total{reason=\"not_identified\"}"), 1);
  EXPECT_EQ(metricValue(metrics, "remora_control_xds_refused_total{reason=\"handshake\"}"), 1);
}

TEST_F(ControlPlaneLimitsTest, ConnectionCapRefusesTheNextConnectionAndCountsIt) {
  ControlPlane cp =
      ControlPlane::start(dir_, "control", manifests_, {"--xds-max-connections", "4"});
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  std::vector<common::HttpClient> held;
  for (int i = 0; i < 4; ++i) {
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected()) << i;
    ASSERT_TRUE(c.sendRaw(requestFrame("p" + std::to_string(i))).isOk());
    held.push_back(std::move(c));
  }
  ASSERT_TRUE(
      eventually([&] { return cp.get("/v1/proxies").find("\"p3\"") != std::string::npos; }, 3s));
  common::HttpClient fifth(cp.xds, 2s);
  ASSERT_TRUE(fifth.connect().isOk());  // the kernel accepts; the control plane closes it
  EXPECT_TRUE(fifth.waitForClose(1500ms));
  for (auto& c : held) {
    EXPECT_FALSE(c.waitForClose(50ms));
  }
  EXPECT_EQ(metricValue(cp.get("/metrics"),
                        "remora_control_xds_refused_total{reason=\"connection_limit\"}"),
            1);
  // A slot freed is a slot taken again.
  held.pop_back();
  EXPECT_TRUE(eventually(
      [&] {
        common::HttpClient c = xdsConnect(cp.xds);
        return c.connected() && c.sendRaw(requestFrame("p9")).isOk() && !c.waitForClose(200ms);
      },
      3s));
}

TEST_F(ControlPlaneLimitsTest, StatsAnswersWithinATimeoutWithTwentySilentAdmins) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  std::vector<std::unique_ptr<SilentListener>> admins;
  std::vector<common::HttpClient> proxies;
  for (int i = 0; i < 20; ++i) {
    admins.push_back(std::make_unique<SilentListener>());
    ASSERT_FALSE(admins.back()->address.empty());
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(
        c.sendRaw(requestFrame("silent-" + std::to_string(i), admins.back()->address)).isOk());
    proxies.push_back(std::move(c));
  }
  ASSERT_TRUE(
      eventually([&] { return cp.get("/v1/proxies").find("silent-19") != std::string::npos; }, 3s));
  auto t0 = std::chrono::steady_clock::now();
  auto r = common::HttpClient::fetch(cp.http, "GET", "/v1/stats", {}, {}, 30s);
  const long long took = msSince(t0);
  std::printf("/v1/stats with 20 silent admins: %lld ms\n", took);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_LT(took, 2000);
  EXPECT_EQ(jsonInt(r.value().body, "proxies_failed"), 20);
}

TEST_F(ControlPlaneLimitsTest, StatsCapsAHugeAdminAnswerAndKeepsTheOthers) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  FakeAdmin huge(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n", "",
      1024ull * 1024 * 1024);
  const std::string text =
      "remora_upstream_rq_total{cluster=\"orders.shop:8080\",code_class=\"2xx\"} 7\n";
  FakeAdmin small("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                      std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n",
                  text, 0);
  ASSERT_FALSE(huge.address().empty());
  common::HttpClient p1 = xdsConnect(cp.xds);
  common::HttpClient p2 = xdsConnect(cp.xds);
  ASSERT_TRUE(p1.sendRaw(requestFrame("huge", huge.address())).isOk());
  ASSERT_TRUE(p2.sendRaw(requestFrame("small", small.address())).isOk());
  ASSERT_TRUE(eventually(
      [&] {
        const std::string p = cp.get("/v1/proxies");
        return p.find("\"huge\"") != std::string::npos && p.find("\"small\"") != std::string::npos;
      },
      3s));
  const long hwm0 = procStatusKb(cp.process.pid(), "VmHWM");
  auto t0 = std::chrono::steady_clock::now();
  auto r = common::HttpClient::fetch(cp.http, "GET", "/v1/stats", {}, {}, 30s);
  const long long took = msSince(t0);
  const long hwm1 = procStatusKb(cp.process.pid(), "VmHWM");
  std::printf(
      "/v1/stats with a 1 GiB admin answer: %lld ms, VmHWM %ld -> %ld KiB, %llu bytes "
      "streamed\n",
      took, hwm0, hwm1, static_cast<unsigned long long>(huge.bytesSent()));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_LT(took, 2000);
  EXPECT_LT(hwm1 - hwm0, 48 * 1024);
  EXPECT_EQ(jsonInt(r.value().body, "proxies_failed"), 1);
  EXPECT_EQ(jsonInt(r.value().body, "proxies_scraped"), 1);
  EXPECT_NE(r.value().body.find("\"requests\":\"7\""), std::string::npos) << r.value().body;
  EXPECT_EQ(metricValue(cp.get("/metrics"),
                        "remora_control_stats_scrape_failures_total{reason=\"too_large\"}"),
            1);
}

TEST_F(ControlPlaneLimitsTest, PeerControlledValuesAreCappedInTheLog) {
  ControlPlane cp = ControlPlane::start(dir_, "control", manifests_);
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  // A 1 MiB node id.
  {
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected());
    (void)c.sendRaw(requestFrame(std::string(1024 * 1024, 'n')));
    (void)c.waitForClose(1s);
  }
  // A 48 KiB node id (under any frame limit) that then NACKs with a 1 MiB message full of
  // control bytes.
  {
    const std::string id(48 * 1024, 'i');
    common::HttpClient c = xdsConnect(cp.xds);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.sendRaw(requestFrame(id)).isOk());
    const std::string nonce = readResponseNonce(c);
    ASSERT_FALSE(nonce.empty());
    std::string message(1024 * 1024, 'e');
    for (size_t i = 0; i < message.size(); i += 100) {
      message[i] = '\n';
    }
    ASSERT_TRUE(c.sendRaw(requestFrame(id, "", nonce, message)).isOk());
    ASSERT_TRUE(eventually(
        [&] {
          return cp.get("/metrics").find("remora_control_xds_nacks_total{type=\"clusters\"} 1") !=
                 std::string::npos;
        },
        3s));
  }
  ASSERT_TRUE(eventually(
      [&] { return readFile(cp.stderr_file).find("disconnected") != std::string::npos; }, 3s));
  const std::string log = readFile(cp.stderr_file);
  std::printf("control plane log: %zu bytes\n", log.size());
  EXPECT_LT(log.size(), 16u * 1024) << log.substr(0, 2000);
  EXPECT_NE(log.find("bytes)"), std::string::npos);
  for (const std::string& line : splitLines(log)) {
    EXPECT_EQ(line.find("eeeeeeeeee\neeee"), std::string::npos);
    EXPECT_LT(line.size(), 2048u);
  }
}

}  // namespace
}  // namespace remora::test
