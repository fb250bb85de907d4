// HttpServer on a real loopback socket, driven by HttpClient. The server runs on its own loop
// thread; every wait is a deadline, never a sleep.

#include "common/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.h"
#include "common/http_client.h"
#include "common/timer.h"
#include "common/tls_context.h"
#include "common/tls_session.h"
#include "control/webhook_certs.h"

namespace remora::common {
namespace {

using namespace std::chrono_literals;

// Polls `cond` until it holds or the deadline passes.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds within = 1500ms) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) {
      return true;
    }
    std::this_thread::yield();
  }
  return cond();
}

class HttpServerTest : public ::testing::Test {
 protected:
  // libuv writes with write(2): a peer that went away would raise SIGPIPE.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  // Starts a server on its own loop thread; `handler` runs there.
  void start(HttpServer::Handler handler, HttpServer::Options options = HttpServer::Options()) {
    std::promise<std::string> bound;
    std::future<std::string> bound_future = bound.get_future();
    thread_ = std::thread([this, handler = std::move(handler), options, &bound]() mutable {
      server_ = std::make_unique<HttpServer>(loop_, std::move(handler), options);
      Status s = server_->listen("127.0.0.1:0");
      bound.set_value(s.isOk() ? server_->boundAddress().toString() : std::string());
      loop_.run();
      timers_.clear();
      server_->close();
      server_.reset();
      // Close callbacks and deferred deletions run within a few iterations; then only the
      // EventLoop's own handles (async + check, and the spare timers it keeps) may be left.
      for (int i = 0; i < 5; ++i) {
        uv_run(loop_.uv(), UV_RUN_NOWAIT);
      }
      uv_walk(
          loop_.uv(), [](uv_handle_t*, void* n) { ++*static_cast<int*>(n); }, &handles_left_);
      handles_left_ -= static_cast<int>(loop_.spareTimers());
      close_rc_ = loop_.closeAll();
    });
    address_ = bound_future.get();
    ASSERT_FALSE(address_.empty());
  }

  void TearDown() override {
    if (thread_.joinable()) {
      loop_.stop();
      thread_.join();
      EXPECT_EQ(handles_left_, 2) << "the server leaked libuv handles";
      EXPECT_EQ(close_rc_, 0);
    }
  }

  // Loop thread only: runs fn after ms.
  void after(uint64_t ms, std::function<void()> fn) {
    auto t = std::make_unique<Timer>(loop_.uv(), std::move(fn));
    t->start(ms);
    timers_.push_back(std::move(t));
  }

  HttpClient client() { return HttpClient(address_, 1500ms); }

  EventLoop loop_;
  std::unique_ptr<HttpServer> server_;
  std::vector<std::unique_ptr<Timer>> timers_;
  std::thread thread_;
  std::string address_;
  int handles_left_ = 0;
  int close_rc_ = -1;
};

// Answers "<path> <request number on the connection>".
void echoPath(HttpRequest& req, Responder r) {
  r.respond(200, req.path + " " + std::to_string(req.request_on_connection));
}

TEST_F(HttpServerTest, KeepAliveReusesTheConnection) {
  start(echoPath);
  HttpClient c = client();
  auto a = c.get("/a");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().status, 200);
  EXPECT_EQ(a.value().body, "/a 1");
  EXPECT_EQ(a.value().header("content-length"), "4");
  EXPECT_TRUE(a.value().keep_alive);
  int fd = c.fd();
  auto b = c.get("/b?x=1");
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(b.value().body, "/b 2");
  EXPECT_EQ(c.fd(), fd);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  start([this](HttpRequest& req, Responder r) {
    if (req.path == "/slow") {
      after(100, [r]() mutable { r.respond(200, "slow"); });
      return;
    }
    r.respond(200, req.path);
  });
  HttpClient c = client();
  ASSERT_TRUE(c.send("GET", "/slow").isOk());
  ASSERT_TRUE(c.send("GET", "/fast1").isOk());
  ASSERT_TRUE(c.send("HEAD", "/fast2").isOk());
  ASSERT_TRUE(c.send("GET", "/fast3").isOk());
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    auto r = c.readResponse();
    ASSERT_TRUE(r.isOk()) << r.status().message();
    bodies.push_back(r.value().body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"slow", "/fast1", "", "/fast3"}));
}

TEST_F(HttpServerTest, ManyPipelinedRequestsInOneWrite) {
  start(echoPath);
  HttpClient c = client();
  std::string raw;
  for (int i = 0; i < 100; ++i) {
    raw += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  ASSERT_TRUE(c.sendRaw(raw).isOk());
  for (int i = 0; i < 100; ++i) {
    auto r = c.readResponseRaw();
    ASSERT_TRUE(r.isOk()) << i << ": " << r.status().message();
    EXPECT_EQ(r.value().body, "/" + std::to_string(i) + " " + std::to_string(i + 1));
  }
}

TEST_F(HttpServerTest, GarbageGets400AndClose) {
  start(echoPath);
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("THIS IS NOT HTTP\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 400);
  EXPECT_EQ(r.value().header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, HugeHeadersGet431AndClose) {
  HttpServer::Options o;
  o.limits.max_header_bytes = 2048;
  start(echoPath, o);
  HttpClient c = client();
  auto r = c.get("/", {{"x-big", std::string(8192, 'a')}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 431);
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, BodyOverTheLimitGets413) {
  HttpServer::Options o;
  o.max_body_bytes = 1000;
  start(echoPath, o);
  HttpClient c = client();
  auto ok = c.post("/small", std::string(1000, 'x'));
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok.value().status, 200);
  auto big = c.post("/big", std::string(5000, 'x'));
  ASSERT_TRUE(big.isOk()) << big.status().message();
  EXPECT_EQ(big.value().status, 413);
  EXPECT_TRUE(c.waitForClose(1500ms));
  // Chunked bodies are counted too.
  HttpClient d = client();
  ASSERT_TRUE(d.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "800\r\n" +
                        std::string(0x800, 'y') + "\r\n0\r\n\r\n")
                  .isOk());
  auto chunked = d.readResponseRaw();
  ASSERT_TRUE(chunked.isOk()) << chunked.status().message();
  EXPECT_EQ(chunked.value().status, 413);
}

TEST_F(HttpServerTest, DelayedAnswerAfterTheClientResetIsHarmless) {
  std::atomic<bool> received{false};
  std::atomic<bool> answered{false};
  std::atomic<bool> was_connected{true};
  start([this, &received, &answered, &was_connected](HttpRequest& req, Responder r) {
    if (req.path != "/slow") {
      r.respond(200, "ok");
      return;
    }
    received = true;
    after(150, [r, &answered, &was_connected]() mutable {
      was_connected = r.connected();
      r.respond(200, "too late");
      answered = true;
    });
  });
  HttpClient c = client();
  ASSERT_TRUE(c.send("GET", "/slow").isOk());
  // Reset only once the server holds the request (a reset before accept looks like an EOF).
  ASSERT_TRUE(eventually([&] { return received.load(); }));
  c.reset();
  ASSERT_TRUE(eventually([&] { return answered.load(); }));
  EXPECT_FALSE(was_connected.load());
  HttpClient d = client();
  auto r = d.get("/ok");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().body, "ok");
}

TEST_F(HttpServerTest, DelayedAnswerAfterTheClientClosedIsHarmless) {
  std::atomic<bool> answered{false};
  start([this, &answered](HttpRequest&, Responder r) {
    after(100, [r, &answered]() mutable {
      r.respond(200, std::string(100000, 'z'));
      answered = true;
    });
  });
  HttpClient c = client();
  ASSERT_TRUE(c.send("GET", "/slow").isOk());
  c.close();
  ASSERT_TRUE(eventually([&] { return answered.load(); }));
}

TEST_F(HttpServerTest, HeadHasTheLengthButNoBody) {
  start([](HttpRequest&, Responder r) { r.respond(200, "hello"); });
  HttpClient c = client();
  auto h = c.head("/");
  ASSERT_TRUE(h.isOk()) << h.status().message();
  EXPECT_EQ(h.value().status, 200);
  EXPECT_EQ(h.value().header("content-length"), "5");
  EXPECT_EQ(h.value().body, "");
  auto g = c.get("/");  // no stray body bytes on the connection
  ASSERT_TRUE(g.isOk()) << g.status().message();
  EXPECT_EQ(g.value().body, "hello");
}

TEST_F(HttpServerTest, UpgradeHandsOverAByteStream) {
  std::atomic<bool> tunnel_closed{false};
  start([&tunnel_closed](HttpRequest& req, Responder r) {
    if (!req.upgrade) {
      r.respond(400, "no upgrade");
      return;
    }
    HttpResponse resp(101, "");
    resp.headers.add("Upgrade", req.header("upgrade"));
    TunnelHandler t;
    t.on_data = [](Tunnel& tunnel, std::string_view data) { tunnel.write(data); };
    t.on_close = [&tunnel_closed] { tunnel_closed = true; };
    r.upgrade(std::move(resp), std::move(t));
  });
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                        "Upgrade: echo-test\r\n\r\nearly")
                  .isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 101);
  EXPECT_EQ(r.value().header("upgrade"), "echo-test");
  EXPECT_EQ(r.value().header("connection"), "Upgrade");
  auto early = c.readExactly(5);
  ASSERT_TRUE(early.isOk()) << early.status().message();
  EXPECT_EQ(early.value(), "early");
  std::string big(200000, 'q');
  ASSERT_TRUE(c.sendRaw(big).isOk());
  auto back = c.readExactly(big.size());
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ(back.value(), big);
  ASSERT_TRUE(c.shutdownWrite().isOk());
  EXPECT_TRUE(c.waitForClose(1500ms));
  EXPECT_TRUE(eventually([&] { return tunnel_closed.load(); }));
}

TEST_F(HttpServerTest, DeclinedUpgradeKeepsSpeakingHttp) {
  start([](HttpRequest& req, Responder r) { r.respond(200, req.upgrade ? "declined" : "plain"); });
  HttpClient c = client();
  auto a = c.get("/", {{"Connection", "Upgrade"}, {"Upgrade", "whatever"}});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().body, "declined");
  auto b = c.get("/");
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(b.value().body, "plain");
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  start(echoPath);
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("GET /old HTTP/1.0\r\n\r\n").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().body, "/old 1");
  EXPECT_FALSE(r.value().keep_alive);
  EXPECT_TRUE(c.waitForClose(1500ms));

  HttpClient d = client();
  ASSERT_TRUE(d.sendRaw("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").isOk());
  auto k = d.readResponseRaw();
  ASSERT_TRUE(k.isOk()) << k.status().message();
  EXPECT_EQ(k.value().header("connection"), "keep-alive");
  ASSERT_TRUE(d.sendRaw("GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").isOk());
  auto k2 = d.readResponseRaw();
  ASSERT_TRUE(k2.isOk()) << k2.status().message();
  EXPECT_EQ(k2.value().body, "/ka2 2");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonouredBothWays) {
  start([](HttpRequest& req, Responder r) {
    HttpResponse resp(200, "bye");
    if (req.path == "/server-closes") {
      resp.headers.add("Connection", "close");
    }
    r.respond(std::move(resp));
  });
  HttpClient c = client();
  auto a = c.get("/", {{"Connection", "close"}});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(1500ms));
  auto b = c.get("/server-closes");  // reconnects by itself
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(b.value().header("connection"), "close");
  EXPECT_FALSE(b.value().keep_alive);
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, SlowReaderGetsTheWholeLastAnswer) {
  HttpServer::Options o;
  o.linger_ms = 50;  // shorter than the reader's pause: lingering must wait for the flush
  start([](HttpRequest&, Responder r) { r.respond(200, std::string(8 << 20, 's')); }, o);
  HttpClient c = client();
  ASSERT_TRUE(c.send("GET", "/", {{"Connection", "close"}}).isOk());
  auto deadline = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();  // not reading: the server's queue fills up
  }
  auto r = c.readResponse();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().body.size(), size_t{8 << 20});
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServer::Options o;
  o.idle_timeout_ms = 150;
  start(echoPath, o);
  HttpClient c = client();
  auto a = c.get("/");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, DrippedRequestGets408AtTheRequestDeadline) {
  HttpServer::Options o;
  o.request_timeout_ms = 300;  // the idle timeout (60 s) never fires: bytes keep coming
  std::atomic<int> refused{0};
  start(echoPath, o);
  loop_.post([&] { server_->onRefused([&](int status) { refused += status == 408 ? 1 : 100; }); });
  HttpClient c = client();
  auto a = c.get("/first");  // a complete request in time is answered as usual
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().status, 200);
  const std::string head = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    (void)c.sendRaw(i == 0 ? head : "a");
    closed = c.waitForClose(50ms);
  }
  // waitForClose keeps the 408 bytes it read instead of a close; either way the server gave up.
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(eventually([&] { return refused.load() == 1; }));
}

TEST_F(HttpServerTest, SilentConnectionIsClosedAtTheRequestDeadline) {
  HttpServer::Options o;
  o.request_timeout_ms = 200;
  start(echoPath, o);
  HttpClient c = client();
  ASSERT_TRUE(c.connect().isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 408);
  EXPECT_TRUE(c.waitForClose(1500ms));
}

TEST_F(HttpServerTest, ConnectionsOverTheCapAreClosedAndReported) {
  HttpServer::Options o;
  o.max_connections = 2;
  std::atomic<int> refused{0};
  start(echoPath, o);
  loop_.post([&] { server_->onRefused([&](int status) { refused += status == 0 ? 1 : 100; }); });
  HttpClient a = client();
  HttpClient b = client();
  ASSERT_TRUE(a.get("/a").isOk());
  ASSERT_TRUE(b.get("/b").isOk());
  HttpClient third = client();
  ASSERT_TRUE(third.connect().isOk());
  EXPECT_TRUE(third.waitForClose(1500ms));
  EXPECT_TRUE(eventually([&] { return refused.load() == 1; }));
  a.close();
  EXPECT_TRUE(eventually([&] {
    HttpClient again = client();
    auto r = again.get("/again");
    return r.isOk() && r.value().status == 200;
  }));
}

TEST_F(HttpServerTest, ClientDropsAnAnswerOverItsBodyLimit) {
  start([](HttpRequest&, Responder r) { r.respond(200, std::string(1 << 20, 'b')); });
  HttpClient c = client();
  c.setMaxBodyBytes(64 * 1024);
  auto r = c.get("/big");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(c.lastError(), HttpClient::Error::kTooLarge);
  EXPECT_FALSE(c.connected());
  c.setMaxBodyBytes(2 << 20);
  auto ok = c.get("/big");
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok.value().body.size(), 1u << 20);
}

TEST_F(HttpServerTest, ClientDeadlineBoundsTheWholeExchange) {
  // Kept unanswered until the server goes away.
  auto held = std::make_shared<std::vector<Responder>>();
  start([held](HttpRequest&, Responder r) { held->push_back(std::move(r)); });
  HttpClient c(address_, 5000ms);
  c.setDeadline(std::chrono::steady_clock::now() + 200ms);
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.get("/never");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(c.lastError(), HttpClient::Error::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
}

TEST_F(HttpServerTest, DroppedResponderAnswers500) {
  start([](HttpRequest&, Responder) {});
  HttpClient c = client();
  auto a = c.get("/");
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().status, 500);
}

TEST_F(HttpServerTest, SplitsPathAndQuery) {
  start([](HttpRequest& req, Responder r) {
    r.respond(200, req.method + "|" + req.path + "|" + req.query_string + "|" + req.query("y") +
                       "|" + (req.hasQuery("z") ? "z" : "-") + "|" +
                       std::string(req.header("X-A")));
  });
  HttpClient c = client();
  auto a = c.get("/p/a?x=1&y=a%20b+c&z", {{"x-a", "v"}});
  ASSERT_TRUE(a.isOk()) << a.status().message();
  EXPECT_EQ(a.value().body, "GET|/p/a|x=1&y=a%20b+c&z|a b c|z|v");
  auto b = c.get("http://example.com/abs?y=2");
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(b.value().body, "GET|/abs|y=2|2|-|");
}

TEST_F(HttpServerTest, StreamsABodySourceChunked) {
  constexpr uint64_t kLen = 3 * 1024 * 1024 + 7;
  auto byte = [](uint64_t i) { return static_cast<char>((i * 31 + 7) & 0xff); };
  start([&byte](HttpRequest& req, Responder r) {
    HttpResponse resp(200, "", "application/octet-stream");
    resp.chunked = req.path == "/chunked";
    resp.setBodySource(kLen, [&byte](uint64_t off, size_t n, std::string& out) {
      for (size_t i = 0; i < n; ++i) {
        out.push_back(byte(off + i));
      }
    });
    r.respond(std::move(resp));
  });
  HttpClient c = client();
  for (std::string path : {"/chunked", "/plain"}) {
    auto a = c.get(path);
    ASSERT_TRUE(a.isOk()) << a.status().message();
    EXPECT_EQ(a.value().chunked, path == "/chunked");
    ASSERT_EQ(a.value().body.size(), kLen);
    bool same = true;
    for (uint64_t i = 0; i < kLen && same; ++i) {
      same = a.value().body[i] == byte(i);
    }
    EXPECT_TRUE(same);
  }
}

TEST_F(HttpServerTest, ExpectContinueGets100First) {
  start([](HttpRequest& req, Responder r) { r.respond(200, req.body); });
  HttpClient c = client();
  ASSERT_TRUE(c.sendRaw("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        "Content-Length: 5\r\n\r\n")
                  .isOk());
  auto cont = c.readRaw();
  ASSERT_TRUE(cont.isOk()) << cont.status().message();
  EXPECT_EQ(cont.value(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.sendRaw("hello").isOk());
  auto r = c.readResponseRaw();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().body, "hello");
}

TEST_F(HttpServerTest, ResetAndCloseWithoutAnswering) {
  start([](HttpRequest& req, Responder r) {
    if (req.path == "/reset") {
      r.reset();
    } else if (req.path == "/close") {
      r.close();
    } else {
      r.respond(200, "ok");
    }
  });
  HttpClient c = client();
  auto a = c.get("/reset");
  EXPECT_FALSE(a.isOk());
  EXPECT_EQ(c.lastError(), HttpClient::Error::kReset);
  HttpClient d = client();
  ASSERT_TRUE(d.get("/").isOk());
  auto b = d.get("/close");
  EXPECT_FALSE(b.isOk());
  EXPECT_EQ(d.lastError(), HttpClient::Error::kClosed);
}

TEST_F(HttpServerTest, CloseEndsEveryConnection) {
  std::atomic<bool> tunnel_closed{false};
  start([&tunnel_closed](HttpRequest& req, Responder r) {
    if (req.upgrade) {
      TunnelHandler t;
      t.on_close = [&tunnel_closed] { tunnel_closed = true; };
      r.upgrade(HttpResponse(101, ""), std::move(t));
      return;
    }
    r.respond(200, "ok");
  });
  HttpClient c = client();
  ASSERT_TRUE(c.get("/").isOk());
  HttpClient t = client();
  auto up = t.get("/", {{"Connection", "upgrade"}, {"Upgrade", "x"}});
  ASSERT_TRUE(up.isOk()) << up.status().message();
  ASSERT_EQ(up.value().status, 101);
  loop_.post([this] { server_->close(); });
  EXPECT_TRUE(c.waitForClose(1500ms));
  EXPECT_TRUE(t.waitForClose(1500ms));
  EXPECT_TRUE(eventually([&] { return tunnel_closed.load(); }));
  HttpClient d = client();
  EXPECT_FALSE(d.connect().isOk());
}

// ---- HTTPS: the same server over TLS (Options::secure) ----

// A blocking HTTPS client: a socket and the client side of a TlsSession, every wait bounded.
class TlsTestClient {
 public:
  TlsTestClient(const std::string& address, const TlsContext& ctx)
      : session_(TlsSession::client(ctx, "webhook.test")) {
    const size_t colon = address.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TlsTestClient() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  bool connected() const { return fd_ >= 0; }

  // Raw bytes on the socket, not encrypted.
  bool sendRaw(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // The ClientHello this client would send.
  std::string clientHello() {
    std::string wire;
    session_->start(wire);
    started_ = true;
    return wire;
  }
  bool handshake() {
    if (!sendRaw(clientHello())) {
      return false;
    }
    readUntil([this](const std::string&) { return session_->state() != State::kHandshaking; });
    return session_->state() == State::kOpen;
  }
  bool send(std::string_view plain) {
    std::string wire;
    return session_->send(plain, wire) && sendRaw(wire);
  }
  // Reads (decrypting once a handshake has started) until `done(bytes so far)`, EOF or the
  // deadline. Returns everything received; eof() tells whether the peer closed.
  std::string readUntil(const std::function<bool(const std::string&)>& done,
                        std::chrono::milliseconds within = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!eof_ && !done(got_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        break;
      }
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      if (!started_) {
        raw_.append(buf, static_cast<size_t>(n));  // no handshake of ours: plain bytes
        got_.append(buf, static_cast<size_t>(n));
        continue;
      }
      std::string wire;
      session_->receive(std::string_view(buf, static_cast<size_t>(n)), got_, wire);
      raw_.append(buf, static_cast<size_t>(n));
      if (!wire.empty()) {
        sendRaw(wire);
      }
    }
    return got_;
  }
  // Reads until the peer closes; returns the bytes received.
  std::string readToEof(std::chrono::milliseconds within = 2000ms) {
    return readUntil([](const std::string&) { return false; }, within);
  }
  // Reads one response with a Content-Length; returns its body, or "" on failure.
  std::string readBody() {
    std::string text = readUntil([](const std::string& t) {
      const size_t end = t.find("\r\n\r\n");
      const size_t cl = t.find("Content-Length: ");
      return end != std::string::npos && cl != std::string::npos && cl < end &&
             t.size() >= end + 4 + std::stoul(t.substr(cl + 16));
    });
    const size_t end = text.find("\r\n\r\n");
    const size_t cl = text.find("Content-Length: ");
    if (end == std::string::npos || cl == std::string::npos) {
      return "";
    }
    const size_t len = std::stoul(text.substr(cl + 16));
    std::string body = text.substr(end + 4, len);
    got_.erase(0, end + 4 + len);
    return body;
  }
  bool eof() const { return eof_; }
  const std::string& raw() const { return raw_; }

 private:
  using State = SecureChannel::State;
  std::unique_ptr<TlsSession> session_;
  int fd_ = -1;
  std::string got_;
  std::string raw_;
  bool eof_ = false;
  bool started_ = false;  // a ClientHello went out: what comes back is TLS
};

class HttpsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    auto cert = control::generateWebhookCertificate({"webhook.test"});
    ASSERT_TRUE(cert.isOk()) << cert.status().message();
    auto server = TlsContext::server(cert.value().chain_pem, cert.value().key_pem);
    auto client = TlsContext::client(cert.value().ca_bundle_pem);
    ASSERT_TRUE(server.isOk() && client.isOk());
    server_ctx_ = server.value();
    client_ctx_ = client.value();
  }

  // Starts a TLS server; refusals are counted in refused_[status].
  void startTls(HttpServer::Handler handler, HttpServer::Options o = HttpServer::Options()) {
    o.secure = tlsServerChannels(server_ctx_);
    start(std::move(handler), o);
    loop_.post([this] {
      server_->onRefused([this](int status) {
        if (status >= -2 && status <= 0) {
          ++refused_[-status];
        }
      });
    });
  }

  std::unique_ptr<TlsTestClient> tlsClient() {
    auto c = std::make_unique<TlsTestClient>(address_, *client_ctx_);
    EXPECT_TRUE(c->connected());
    return c;
  }

  int refused(int status) const { return refused_[-status].load(); }

  std::shared_ptr<const TlsContext> server_ctx_;
  std::shared_ptr<const TlsContext> client_ctx_;
  std::atomic<int> refused_[3] = {};
};

TEST_F(HttpsServerTest, ServesKeepAliveRequestsAndLargeBodiesOverTls) {
  const std::string big(3 * 1024 * 1024 + 17, 'b');
  startTls([&big](HttpRequest& req, Responder r) {
    if (req.path == "/big") {
      r.respond(200, big);
      return;
    }
    echoPath(req, std::move(r));
  });
  auto c = tlsClient();
  ASSERT_TRUE(c->handshake());
  ASSERT_TRUE(c->send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c->readBody(), "/a 1");
  ASSERT_TRUE(c->send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(c->readBody() == big) << "the 3 MiB body arrived damaged or short";
  // A request split over several records still parses.
  ASSERT_TRUE(c->send("POST /c HTTP/1.1\r\nHost: x\r\nContent-Le"));
  ASSERT_TRUE(c->send("ngth: 2\r\n\r\nhi"));
  EXPECT_EQ(c->readBody(), "/c 3");
  EXPECT_FALSE(c->eof());
}

TEST_F(HttpsServerTest, PlainHttpGets400InPlainTextAndIsReported) {
  startTls(echoPath);
  auto c = tlsClient();
  ASSERT_TRUE(c->sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string answer = c->readToEof();
  EXPECT_TRUE(c->eof());
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("this port speaks HTTPS"), std::string::npos) << answer;
  EXPECT_TRUE(eventually([&] { return refused(HttpServer::kRefusedHandshakeFailed) == 1; }));
}

TEST_F(HttpsServerTest, GarbageGetsAnAlertAndCloseAndIsReported) {
  startTls(echoPath);
  auto c = tlsClient();
  std::string garbage = "\x16\x03\x01\x00\x40";
  garbage.append(64 * 1024, '\x42');
  c->sendRaw(garbage);  // may fail half way: the server closes as soon as it has seen enough
  c->readToEof();
  EXPECT_TRUE(c->eof());
  EXPECT_EQ(c->raw().substr(0, 1), "\x15") << "a TLS alert record comes first";
  EXPECT_TRUE(eventually([&] { return refused(HttpServer::kRefusedHandshakeFailed) == 1; }));
}

TEST_F(HttpsServerTest, HandshakeStoppedHalfWayIsClosedAtTheDeadline) {
  HttpServer::Options o;
  o.handshake_timeout_ms = 200;
  startTls(echoPath, o);
  auto c = tlsClient();
  const std::string hello = c->clientHello();
  ASSERT_GT(hello.size(), 10u);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c->sendRaw(hello.substr(0, hello.size() / 2)));
  c->readToEof(3000ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(c->eof());
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(eventually([&] { return refused(HttpServer::kRefusedHandshakeTimeout) == 1; }));
  EXPECT_EQ(refused(HttpServer::kRefusedHandshakeFailed), 0);
}

TEST_F(HttpsServerTest, BodyOverTheLimitGets413OverTls) {
  HttpServer::Options o;
  o.max_body_bytes = 1000;
  startTls(echoPath, o);
  auto c = tlsClient();
  ASSERT_TRUE(c->handshake());
  ASSERT_TRUE(c->send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
  const std::string answer = c->readToEof();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_TRUE(c->eof());
}

}  // namespace
}  // namespace remora::common
