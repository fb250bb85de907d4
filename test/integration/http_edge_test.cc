// The HTTP/1 edge through a real remora-sidecar: what reaches the upstream for a request the
// proxy rejects, transfer codings, trailers in both directions, and methods llhttp cannot
// parse. The upstream is a recording fake that keeps every byte each connection sent it.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http1_parser.h"
#include "common/http_client.h"
#include "support/configs.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;

// An upstream on 127.0.0.1:0 that records every byte each connection sends and answers each
// complete request (parsed with common::Http1Parser) with the bytes `respond` returns for it.
class RecordingUpstream {
 public:
  using Respond = std::function<std::string(const common::MessageHead&)>;

  explicit RecordingUpstream(Respond respond) : respond_(std::move(respond)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    thread_ = std::thread([this] { run(); });
  }

  ~RecordingUpstream() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    for (auto& c : conns_) {
      if (c->fd >= 0) {
        ::close(c->fd);
      }
    }
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
    }
  }

  const std::string& address() const { return address_; }

  // The bytes each accepted connection sent, in accept order.
  std::vector<std::string> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& c : conns_) {
      out.push_back(c->bytes);
    }
    return out;
  }
  std::string receivedAll() const {
    std::string all;
    for (const std::string& b : received()) {
      all += b;
    }
    return all;
  }
  size_t connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return conns_.size();
  }
  // Whether connection `i` was closed by the proxy.
  bool closedByPeer(size_t i) const {
    std::lock_guard<std::mutex> lock(mu_);
    return i < conns_.size() && conns_[i]->eof;
  }
  size_t requests() const { return requests_.load(); }

 private:
  struct Conn final : common::Http1Parser::Callbacks {
    explicit Conn(RecordingUpstream& up, int f)
        : owner(up), fd(f), parser(common::Http1Parser::Kind::kRequest, *this) {}
    common::HeadAction onHeaders(common::MessageHead&) noexcept override {
      return common::HeadAction::kContinue;
    }
    void onBody(std::string_view) noexcept override {}
    bool onMessageComplete() noexcept override {
      owner.requests_++;
      answers += owner.respond_(parser.head());
      return false;
    }
    RecordingUpstream& owner;
    int fd;
    common::Http1Parser parser;
    std::string bytes;
    std::string answers;
    bool eof = false;
  };

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& c : conns_) {
          fds.push_back({c->eof ? -1 : c->fd, POLLIN, 0});
        }
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) {
        continue;
      }
      if (fds[0].revents & POLLIN) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          std::lock_guard<std::mutex> lock(mu_);
          conns_.push_back(std::make_unique<Conn>(*this, fd));
        }
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) {
          continue;
        }
        Conn* c = nullptr;
        {
          std::lock_guard<std::mutex> lock(mu_);
          c = conns_[i - 1].get();
        }
        char buf[16384];
        ssize_t n = ::recv(c->fd, buf, sizeof(buf), 0);
        std::lock_guard<std::mutex> lock(mu_);
        if (n <= 0) {
          c->eof = true;
          continue;
        }
        c->bytes.append(buf, static_cast<size_t>(n));
        c->parser.feed(buf, static_cast<size_t>(n));
        if (!c->answers.empty()) {
          sendAllFd(c->fd, c->answers, 2000ms);
          c->answers.clear();
        }
      }
    }
  }

  Respond respond_;
  int listen_fd_ = -1;
  std::string address_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> requests_{0};
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

std::string okResponse(const common::MessageHead&) {
  return "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
}

// Listener "main" (protocol HTTP) and "detect" (DETECT), both routing everything to `upstream`.
std::string edgeConfig(const std::string& upstream, const std::string& listener_extra) {
  std::string yaml = oneRouteConfig(clusterYaml("up", {upstream}), "{cluster: up}");
  const std::string main =
      "- {name: main, address: 127.0.0.1:0, direction: OUTBOUND, route_config: r}\n";
  size_t at = yaml.find(main);
  if (at != std::string::npos) {
    yaml.replace(
        at, main.size(),
        "- {name: main, address: 127.0.0.1:0, route_config: r, protocol: HTTP" + listener_extra +
            "}\n- {name: detect, address: 127.0.0.1:0, route_config: r, protocol: DETECT}\n");
  }
  return yaml;
}

// A recording upstream answering with `respond`, and a sidecar in front of it.
struct Edge {
  explicit Edge(RecordingUpstream::Respond respond, const std::string& listener_extra = "")
      : up(std::move(respond)),
        sidecar(Sidecar::config(dir, edgeConfig(up.address(), listener_extra),
                                {"--access-log", "off"})) {}
  bool ok() const { return !up.address().empty() && !sidecar.admin.empty(); }
  std::string log() const { return readFile(sidecar.stderr_file); }

  TempDir dir;
  RecordingUpstream up;
  Sidecar sidecar;
};

bool contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

// ---- nothing of a rejected request reaches the upstream ---------------------------------

class RejectedRequestTest : public ::testing::TestWithParam<const char*> {};

std::string badTeRequest(const std::string& coding) {
  return "POST /upload?te=" + coding + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
         "\r\n\r\nhello";
}

TEST_P(RejectedRequestTest, InvalidTransferEncodingNeverReachesAWarmUpstream) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  // Warm the pool: one good request leaves an idle keep-alive connection upstream.
  auto warm = HttpClient::fetch(s.main(), "GET", "/warm");
  ASSERT_TRUE(warm.isOk()) << warm.status().message();
  ASSERT_EQ(warm.value().status, 200);
  ASSERT_TRUE(eventually([&] { return up.requests() == 1; }, 2s));

  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw(badTeRequest(GetParam())).isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 400);
  EXPECT_EQ(r.value().header("x-remora-reason"), "bad-request");
  EXPECT_TRUE(c.waitForClose(2s));
  // Give stray bytes time to arrive, then check none did.
  EXPECT_FALSE(eventually([&] { return contains(up.receivedAll(), "/upload"); }, 300ms))
      << up.receivedAll();
  EXPECT_EQ(up.requests(), 1u);
  // The proxy still serves (on a connection that carried nothing of the rejected request).
  auto after = HttpClient::fetch(s.main(), "GET", "/after");
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after.value().status, 200);
}

TEST_P(RejectedRequestTest, InvalidTransferEncodingNeverReachesAConnectingUpstream) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw(badTeRequest(GetParam())).isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 400);
  EXPECT_FALSE(eventually([&] { return !up.receivedAll().empty(); }, 300ms)) << up.receivedAll();
  EXPECT_EQ(up.requests(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Codings, RejectedRequestTest,
                         ::testing::Values("identity", "xchunked", "gzip"));

TEST(RejectedBodyTest, ChunkedBodyThatGoesBadMidwayClosesTheUpstreamConnection) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("POST /midway HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nfirst\r\n")
                  .isOk());
  ASSERT_TRUE(eventually([&] { return contains(up.receivedAll(), "first"); }, 2s))
      << up.receivedAll();
  // One read: a good chunk, then a chunk size that is not hex.
  ASSERT_TRUE(c.sendRaw("6\r\nsecond\r\nzz\r\nbad\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 400);
  // The upstream connection that carried the head is closed, not pooled, and nothing of the
  // bad read reached it.
  EXPECT_TRUE(eventually([&] { return up.closedByPeer(0); }, 2s));
  EXPECT_FALSE(contains(up.receivedAll(), "second")) << up.receivedAll();
  auto after = HttpClient::fetch(s.main(), "GET", "/after");
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after.value().status, 200);
  EXPECT_EQ(up.connections(), 2u);
}

// ---- transfer codings ---------------------------------------------------------------

TEST(TransferCodingTest, RequestCodingsBeforeChunkedReachTheUpstream) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("POST /coded HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
                        "Transfer-Encoding:  chunked\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n")
                  .isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  std::string got = up.receivedAll();
  EXPECT_TRUE(contains(got, "\r\ntransfer-encoding: gzip, chunked\r\n")) << got;
  EXPECT_TRUE(contains(got, "\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n")) << got;
}

std::string codedResponse(const common::MessageHead&) {
  return "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n";
}

TEST(TransferCodingTest, ResponseCodingsBeforeChunkedReachHttp11Clients) {
  Edge e(codedResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /coded HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").isOk());
  auto raw = c.readUntilClose();
  ASSERT_TRUE(raw.isOk()) << raw.status().message();
  EXPECT_TRUE(contains(raw.value(), "HTTP/1.1 200 OK\r\n")) << raw.value();
  EXPECT_TRUE(contains(raw.value(), "\r\ntransfer-encoding: gzip, chunked\r\n")) << raw.value();
  EXPECT_TRUE(contains(raw.value(), "\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n")) << raw.value();
}

TEST(TransferCodingTest, ResponseCodingsCannotReachHttp10ClientsAndGive502) {
  Edge e(codedResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /coded HTTP/1.0\r\nHost: x\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 502);
  EXPECT_EQ(r.value().header("x-remora-reason"), "upstream-reset");
  EXPECT_FALSE(contains(r.value().body, "GZIP")) << r.value().body;
}

TEST(TransferCodingTest, CloseDelimitedCodedResponseIsReChunkedWithItsCodings) {
  Edge e([](const common::MessageHead&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nGZIP");
  });
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  // The body runs until the upstream closes (this fake never does): read until the coded
  // bytes arrive and check how the client is told their framing.
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /coded HTTP/1.1\r\nHost: x\r\n\r\n").isOk());
  std::string got;
  ASSERT_TRUE(eventually(
      [&] {
        auto r = c.readRaw();
        if (r.isOk()) {
          got += r.value();
        }
        return contains(got, "GZIP");
      },
      3s))
      << got;
  EXPECT_TRUE(contains(got, "\r\ntransfer-encoding: gzip, chunked\r\n")) << got;
  EXPECT_TRUE(contains(got, "\r\n\r\n4\r\nGZIP\r\n")) << got;
}

// ---- trailers --------------------------------------------------------------------

TEST(TrailerTest, RequestTrailersReachTheUpstreamWithoutForbiddenFields) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "Trailer: x-checksum\r\n\r\n"
                        "5\r\nhello\r\n0\r\nX-Checksum: abc123\r\nCookie: session=trailer-cookie\r\n"
                        "Host: evil\r\nx-request-id: forged\r\nGrpc-Status: 0\r\n\r\n")
                  .isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  std::string got = up.receivedAll();
  EXPECT_TRUE(contains(got, "5\r\nhello\r\n0\r\nX-Checksum: abc123\r\nGrpc-Status: 0\r\n\r\n"))
      << got;
  EXPECT_FALSE(contains(got, "evil")) << got;
  EXPECT_FALSE(contains(got, "forged")) << got;
  EXPECT_FALSE(contains(got, "trailer-cookie")) << got;
  // Trailers are not header fields: they never show up in the head.
  EXPECT_LT(got.find("X-Checksum"), got.size());
  EXPECT_GT(got.find("X-Checksum"), got.find("\r\n\r\n"));
}

TEST(TrailerTest, TooManyRequestTrailerFieldsGet431AndTheUpstreamConnectionCloses) {
  Edge e(okResponse, ", max_request_headers_count: 5");
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  std::string req =
      "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n";
  ASSERT_TRUE(c.sendRaw(req).isOk());
  ASSERT_TRUE(eventually([&] { return contains(up.receivedAll(), "hello"); }, 2s));
  std::string trailers = "0\r\n";
  for (int i = 0; i < 6; ++i) {
    trailers += "X-T" + std::to_string(i) + ": v\r\n";
  }
  ASSERT_TRUE(c.sendRaw(trailers + "\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 431);
  EXPECT_EQ(r.value().header("x-remora-reason"), "header-too-large");
  EXPECT_TRUE(eventually([&] { return up.closedByPeer(0); }, 2s));
  EXPECT_FALSE(contains(up.receivedAll(), "X-T0")) << up.receivedAll();
}

std::string trailerResponse(const common::MessageHead&) {
  return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n"
         "4\r\nbody\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\nSet-Cookie: a=b\r\n"
         "Location: /elsewhere\r\n\r\n";
}

TEST(TrailerTest, ResponseTrailersReachHttp11ClientsWithoutForbiddenFields) {
  Edge e(trailerResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").isOk());
  auto raw = c.readUntilClose();
  ASSERT_TRUE(raw.isOk()) << raw.status().message();
  const std::string& got = raw.value();
  EXPECT_TRUE(
      contains(got, "\r\n\r\n4\r\nbody\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n"))
      << got;
  EXPECT_FALSE(contains(got, "a=b")) << got;
  EXPECT_FALSE(contains(got, "elsewhere")) << got;
}

TEST(TrailerTest, ResponseTrailersAreDroppedForHttp10Clients) {
  Edge e(trailerResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("GET /t HTTP/1.0\r\nHost: x\r\n\r\n").isOk());
  auto raw = c.readUntilClose();
  ASSERT_TRUE(raw.isOk()) << raw.status().message();
  const std::string& got = raw.value();
  ASSERT_TRUE(contains(got, "\r\n\r\n")) << got;
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "body");
  EXPECT_FALSE(contains(got, "grpc-status")) << got;
}

// ---- methods llhttp cannot parse --------------------------------------------------

void expectNotImplemented(HttpClient& c, const std::string& method) {
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << method << ": " << r.status().message();
  EXPECT_EQ(r.value().status, 501) << method;
  EXPECT_EQ(r.value().header("x-remora-reason"), "method-not-implemented") << method;
  EXPECT_TRUE(contains(r.value().body, method)) << r.value().body;
  EXPECT_TRUE(c.waitForClose(2s)) << method;
}

TEST(ExtensionMethodTest, UnknownMethodGets501OnAnHttpListenerAndNothingGoesUpstream) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  for (const std::string method : {"FOO", "PROPFOO", "GETS", "DESCRIBE"}) {
    HttpClient c(s.main());
    ASSERT_TRUE(
        c.sendRaw(method + " /m HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").isOk());
    expectNotImplemented(c, method);
  }
  // Split inside the method and inside the request line: the same answer.
  HttpClient c(s.main());
  ASSERT_TRUE(c.sendRaw("F").isOk());
  ASSERT_FALSE(c.waitForClose(100ms));
  ASSERT_TRUE(c.sendRaw("OO /split HT").isOk());
  ASSERT_FALSE(c.waitForClose(100ms));
  ASSERT_TRUE(c.sendRaw("TP/1.1\r\nHost: x\r\n\r\n").isOk());
  expectNotImplemented(c, "FOO");
  // A malformed line stays a bad request.
  HttpClient bad(s.main());
  ASSERT_TRUE(bad.sendRaw("FOO /x HTTP/9\r\n\r\n").isOk());
  auto r = bad.readResponseRaw();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 400);
  EXPECT_EQ(up.connections(), 0u) << up.receivedAll();
  std::string requests = s.adminGet("/requests");
  EXPECT_TRUE(contains(requests, "\"method\":\"FOO\"")) << requests;
}

TEST(ExtensionMethodTest, UnknownMethodAfterDetectionGets501AndKnownExtensionMethodsAreForwarded) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  RecordingUpstream& up = e.up;
  Sidecar& s = e.sidecar;
  const std::string& detect = s.listeners.at("detect");
  // Detected as HTTP by the first request; the next ones reach the same parser.
  HttpClient c(detect);
  ASSERT_TRUE(c.sendRaw("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                        "PROPFIND /dav HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                        "FOO /foo HTTP/1.1\r\nHost: x\r\n\r\n")
                  .isOk());
  for (int i = 0; i < 2; ++i) {
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << i << ": " << r.status().message();
    EXPECT_EQ(r.value().status, 200) << i;
  }
  expectNotImplemented(c, "FOO");
  EXPECT_TRUE(contains(up.receivedAll(), "PROPFIND /dav HTTP/1.1\r\n")) << up.receivedAll();
  EXPECT_FALSE(contains(up.receivedAll(), "/foo")) << up.receivedAll();
}

TEST(ExtensionMethodTest, UnknownMethodGets501OnTheAdminPort) {
  Edge e(okResponse);
  ASSERT_TRUE(e.ok()) << e.log();
  Sidecar& s = e.sidecar;
  HttpClient c(s.admin);
  ASSERT_TRUE(c.sendRaw("FOO /server_info HTTP/1.1\r\nHost: x\r\n\r\n").isOk());
  expectNotImplemented(c, "FOO");
}

}  // namespace
}  // namespace remora::test
