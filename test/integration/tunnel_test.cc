// HTTP Upgrade (WebSocket style) through a real remora-sidecar: the 101 is passed on and the
// connection becomes a byte tunnel to the same upstream connection, in both directions.

#include <gtest/gtest.h>

#include <thread>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

constexpr std::string_view kUpgradeRequest =
    "GET /ws HTTP/1.1\r\n"
    "Host: echo\r\n"
    "Connection: Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class TunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
    sidecar_ = Sidecar::quick(dir_, {echo_.address}, {"--access-log", "off"});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }

  // Sends the upgrade request on `c` and checks the 101.
  void upgrade(HttpClient& c) {
    ASSERT_TRUE(c.sendRaw(kUpgradeRequest).isOk());
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << r.status().message();
    ASSERT_EQ(r.value().status, 101) << r.value().body;
    EXPECT_EQ(lower(r.value().header("upgrade")), "websocket");
    EXPECT_NE(lower(r.value().header("connection")).find("upgrade"), std::string::npos)
        << "a 101 must say Connection: upgrade";
  }

  long long stat(const std::string& s) const { return sidecar_.stat(s); }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(TunnelTest, UpgradeGets101AndBytesEchoBothWaysThroughTheTunnel) {
  HttpClient c(sidecar_.main(), 5s);
  upgrade(c);
  if (HasFatalFailure()) {
    return;
  }
  // Several messages, including bytes that look like HTTP and binary zeros: no parsing now.
  std::vector<std::string> messages = {
      "hello",
      "GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n",
      std::string("\x81\x05\x00\x00\xff\r\n", 7),
      randomBytes(4096, 11),
  };
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_TRUE(c.sendRaw(messages[i]).isOk()) << "message " << i;
    auto back = c.readExactly(messages[i].size());
    ASSERT_TRUE(back.isOk()) << "message " << i << ": " << back.status().message();
    EXPECT_TRUE(back.value() == messages[i]) << "message " << i;
  }

  // 256 KiB at once: written from another thread while this one reads, so flow control in
  // the tunnel is exercised both ways.
  const std::string big = randomBytes(256 * 1024, 12);
  bool sent = false;
  int fd = c.fd();
  std::thread writer([&] { sent = sendAllFd(fd, big, 5s); });
  auto back = c.readExactly(big.size());
  writer.join();
  ASSERT_TRUE(sent);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(back.value() == big) << "the 256 KiB message came back changed";

  // One more small message after the big one: the tunnel still works.
  ASSERT_TRUE(c.sendRaw("bye").isOk());
  auto bye = c.readExactly(3);
  ASSERT_TRUE(bye.isOk()) << bye.status().message();
  EXPECT_EQ(bye.value(), "bye");

  // Close: our FIN reaches the echo, which closes; the proxy closes us and forgets both sides.
  ASSERT_TRUE(c.shutdownWrite().isOk());
  auto rest = c.readUntilClose();
  ASSERT_TRUE(rest.isOk()) << rest.status().message();
  EXPECT_EQ(rest.value(), "");
  EXPECT_TRUE(eventually([&] { return stat("remora_downstream_cx_active{listener=\"main\"}") == 0; },
                         2s))
      << sidecar_.adminGet("/stats");
  EXPECT_TRUE(
      eventually([&] { return stat("remora_upstream_cx_active{cluster=\"upstream\"}") == 0; }, 2s))
      << "the upgraded upstream connection must be closed, not pooled";
  // The upgrade is a request like any other in /requests.
  EXPECT_TRUE(eventually(
      [&] {
        return sidecar_.adminGet("/requests?limit=1").find("\"status\":101") != std::string::npos;
      },
      2s))
      << sidecar_.adminGet("/requests?limit=1");
}

TEST_F(TunnelTest, BytesSentRightAfterTheUpgradeRequestAreTunnelled) {
  HttpClient c(sidecar_.main(), 5s);
  // The first tunnel bytes travel in the same write as the request head.
  ASSERT_TRUE(c.sendRaw(std::string(kUpgradeRequest) + "early bytes").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r.value().status, 101);
  auto early = c.readExactly(11);
  ASSERT_TRUE(early.isOk()) << early.status().message();
  EXPECT_EQ(early.value(), "early bytes");
}

TEST_F(TunnelTest, ClientAbortClosesBothSidesOfTheTunnel) {
  {
    HttpClient c(sidecar_.main(), 5s);
    upgrade(c);
    if (HasFatalFailure()) {
      return;
    }
    ASSERT_TRUE(c.sendRaw("x").isOk());
    ASSERT_TRUE(c.readExactly(1).isOk());
    EXPECT_EQ(stat("remora_upstream_cx_active{cluster=\"upstream\"}"), 1);
    c.reset();  // RST
  }
  EXPECT_TRUE(eventually([&] { return stat("remora_downstream_cx_active{listener=\"main\"}") == 0; },
                         2s));
  EXPECT_TRUE(
      eventually([&] { return stat("remora_upstream_cx_active{cluster=\"upstream\"}") == 0; }, 2s));
}

TEST_F(TunnelTest, PlainRequestsStillWorkAfterATunnelEnded) {
  {
    HttpClient c(sidecar_.main(), 5s);
    upgrade(c);
    if (HasFatalFailure()) {
      return;
    }
    ASSERT_TRUE(c.sendRaw("ping").isOk());
    ASSERT_TRUE(c.readExactly(4).isOk());
    ASSERT_TRUE(c.shutdownWrite().isOk());
    ASSERT_TRUE(c.readUntilClose().isOk());
  }
  // A pooled upstream connection that was a tunnel would answer with echoed bytes.
  HttpClient plain(sidecar_.main(), 5s);
  for (int i = 0; i < 3; ++i) {
    auto r = plain.get("/after-tunnel");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().status, 200);
    EXPECT_NE(r.value().body.find("/after-tunnel"), std::string::npos) << r.value().body;
  }
}

}  // namespace
}  // namespace remora::test
