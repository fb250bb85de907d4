// The edges of a downstream connection on a real remora-sidecar: what a peer's bytes may do to
// the admin JSON and the access log, silent connections, half-closes, the drain grace, stalled
// request bodies and the fd limit.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/http_client.h"
#include "support/configs.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// One HTTP listener "main" in front of cluster "echo" at `backend`, access log off;
// `listener_extra` (flow-map entries, e.g. ", idle_timeout: 1h") and `cluster_extra` (lines)
// add settings.
std::string edgesConfig(const std::string& backend, const std::string& listener_extra,
                        const std::string& cluster_extra = "") {
  std::string yaml = oneRouteConfig(clusterYaml("echo", {backend}, cluster_extra),
                                    "{cluster: echo, timeout: 30s}");
  const std::string plain = "route_config: r}";
  yaml.replace(yaml.find(plain), plain.size(),
               "route_config: r, protocol: HTTP" + listener_extra + "}");
  return yaml + "access_log: {enabled: false}\n";
}

// Strict JSON + UTF-8 check by an independent parser: python3's json.loads on the bytes decoded
// as strict UTF-8 (which refuses overlong forms, surrogates and code points over U+10FFFF).
// Returns "" when valid, else python's complaint.
std::string strictJsonError(const TempDir& dir_, const std::string& text) {
  std::string path = dir_.write("doc.json", text);
  RunResult r = runToExit(
      dir_, "strict-json",
      {"/usr/bin/python3", "-c",
       "import json,sys; json.loads(open(sys.argv[1],'rb').read().decode('utf-8','strict'))",
       path});
  return r.exit_code == 0 ? "" : "exit " + std::to_string(r.exit_code) + ": " + r.err;
}

// Each test: a remora-echo, and a sidecar in front of it started by quick() or config().
class ConnectionEdgesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
  }
  void quick(const std::vector<std::string>& extra) {
    sidecar_ = Sidecar::quick(dir_, {echo_.address}, extra);
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  void config(const std::string& yaml) {
    sidecar_ = Sidecar::config(dir_, yaml);
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

// ---- A.4: /requests stays valid JSON ---------------------------------------------------

TEST_F(ConnectionEdgesTest, RequestsStaysStrictlyValidJsonAfterIllFormedUtf8InHostAndRequestId) {
  if (access("/usr/bin/python3", X_OK) != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 for the independent strict JSON check";
  }
  quick({"--access-log", "off"});
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  // Every class of ill-formed UTF-8: stray byte, overlong, surrogate, over U+10FFFF, truncated.
  HttpClient c(s.main(), 3s);
  ASSERT_TRUE(c.sendRaw("GET /p HTTP/1.1\r\n"
                        "Host: h\xFF\xFE.caf\xC3\xA9\r\n"
                        "X-Request-Id: id-\xC0\xAF-\xED\xA0\x80-\xF4\x90\x80\x80-\xE2\x82\r\n"
                        "\r\n")
                  .isOk());
  auto r = c.readResponse();
  ASSERT_TRUE(r.isOk()) << r.status().message();

  std::string json = s.adminGet("/requests");
  ASSERT_NE(json.find("\"requests\""), std::string::npos) << json;
  EXPECT_EQ(strictJsonError(dir_, json), "") << json;
  // The bytes became U+FFFD; well-formed text (é) is kept.
  EXPECT_NE(json.find("\"h\xEF\xBF\xBD\xEF\xBF\xBD.caf\xC3\xA9\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"id-\xEF\xBF\xBD\xEF\xBF\xBD-"), std::string::npos) << json;
}

// ---- A.5: access log fields cannot be forged -------------------------------------------

// The fields of an access log line: `key=value` and bare values, split at spaces outside
// double quotes (with backslash escapes inside them), as a log shipper would.
std::vector<std::string> logFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (quoted && ch == '\\' && i + 1 < line.size()) {
      cur.push_back(ch);
      cur.push_back(line[++i]);
      continue;
    }
    if (ch == '"') {
      quoted = !quoted;
    }
    if (ch == ' ' && !quoted) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur.push_back(ch);
  }
  out.push_back(cur);
  return out;
}

TEST_F(ConnectionEdgesTest, AccessLogQuotesAndEscapesClientFieldsSoOneLineIsOneUnforgeableRecord) {
  quick({});
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  HttpClient c(s.main(), 3s);
  ASSERT_TRUE(c.sendRaw("GET /a\"b HTTP/1.1\r\n"
                        "Host: h\" route=x\r\n"
                        "X-Request-Id: abc listener=admin route=forged \\\" \xFF\r\n"
                        "\r\n")
                  .isOk());
  auto r = c.readResponse();
  ASSERT_TRUE(r.isOk()) << r.status().message();

  // The access log is flushed once a second.
  std::string line;
  ASSERT_TRUE(eventually(
      [&] {
        for (const std::string& l : splitLines(readFile(s.stdout_file))) {
          if (l.find("abc listener") != std::string::npos) {
            line = l;
            return true;
          }
        }
        return false;
      },
      5s, 50ms))
      << readFile(s.stdout_file);

  std::vector<std::string> fields = logFields(line);
  int listeners = 0;
  int routes = 0;
  std::string id;
  for (const std::string& f : fields) {
    listeners += f.rfind("listener=", 0) == 0 ? 1 : 0;
    routes += f.rfind("route=", 0) == 0 ? 1 : 0;
    if (f.rfind("id=", 0) == 0) {
      id = f;
    }
  }
  EXPECT_EQ(listeners, 1) << line;
  EXPECT_EQ(routes, 1) << line;
  EXPECT_EQ(fields.back(), "listener=main") << line;
  EXPECT_EQ(id, "id=\"abc listener=admin route=forged \\\\\\\" \\xFF\"") << line;
  EXPECT_NE(line.find("\"GET /a\\\"b HTTP/1.1\" 200 "), std::string::npos) << line;
  EXPECT_NE(line.find(" \"h\\\" route=x\" route=all "), std::string::npos) << line;
}

// ---- A.7 (a): a silent connection ------------------------------------------------------

TEST_F(ConnectionEdgesTest, ConnectionThatNeverSendsAByteIsClosedAtTheHeaderTimeout) {
  config(edgesConfig(echo_.address, ", header_read_timeout: 300ms, idle_timeout: 1h"));
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  HttpClient silent(s.main(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(silent.connect().isOk());
  EXPECT_TRUE(silent.waitForClose(2s)) << "a silent connection is held (until the idle timeout)";
  long long took = msSince(start);
  EXPECT_GE(took, 250) << "header_read_timeout is 300ms";
  EXPECT_LT(took, 1500) << "header_read_timeout is 300ms";
  EXPECT_TRUE(eventually(
      [&] { return s.stat("remora_downstream_rq_header_timeout_total{listener=\"main\"}") == 1; },
      2s));
  // Nothing was said to a client that asked nothing.
  EXPECT_EQ(s.stat("remora_downstream_rq_bad_request_total{listener=\"main\"}"), 0);
}

// ---- A.7 (b): half-close ---------------------------------------------------------------

TEST_F(ConnectionEdgesTest, HalfCloseAfterACompleteRequestGetsItsResponseThenTheClose) {
  quick({"--access-log", "off"});
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  // The upstream is slow, so the half-close arrives while the request is in flight.
  HttpClient c(s.main(), 3s);
  ASSERT_TRUE(c.send("GET", "/half", {{"x-echo-delay-ms", "200"}}).isOk());
  ASSERT_TRUE(c.shutdownWrite().isOk());
  auto r = c.readResponse();
  ASSERT_TRUE(r.isOk()) << "no answer after the half-close: " << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_FALSE(r.value().keep_alive);
  EXPECT_TRUE(c.waitForClose(3s));

  // Two pipelined requests, then the half-close at once: both answered, in order.
  HttpClient p(s.main(), 3s);
  ASSERT_TRUE(
      p.sendRaw("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n").isOk());
  ASSERT_TRUE(p.shutdownWrite().isOk());
  auto one = p.readResponse();
  ASSERT_TRUE(one.isOk()) << one.status().message();
  EXPECT_EQ(one.value().status, 200);
  EXPECT_NE(one.value().body.find("/one"), std::string::npos) << one.value().body;
  auto two = p.readResponse();
  ASSERT_TRUE(two.isOk()) << two.status().message();
  EXPECT_EQ(two.value().status, 200);
  EXPECT_NE(two.value().body.find("/two"), std::string::npos) << two.value().body;
  EXPECT_TRUE(p.waitForClose(3s));
}

// A client that says `connection: close` and sends nothing after its request is done: the
// sidecar closes once the response is out instead of lingering for the client's EOF (the
// connection is gone from the gauge while the client still holds its socket). One that sends
// bytes after such a request still gets its response whole (the close then lingers).
TEST_F(ConnectionEdgesTest, ClientThatSaidCloseIsClosedWithoutLingeringAndLateBytesLoseNothing) {
  quick({"--access-log", "off"});
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;
  HttpClient c(s.main(), 3s);
  auto r = c.get("/last", {{"connection", "close"}});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_FALSE(r.value().keep_alive);
  EXPECT_TRUE(c.waitForClose(3s));
  // The client keeps its end open; the sidecar's end is closed all the same (a linger would
  // keep it for 2 s).
  EXPECT_TRUE(eventually(
      [&] { return s.stat("remora_downstream_cx_active{listener=\"main\"}") == 0; }, 1s));

  HttpClient late(s.main(), 3s);
  ASSERT_TRUE(late.sendRaw("GET /late HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           "GET /ignored HTTP/1.1\r\nHost: x\r\n\r\n")
                  .isOk());
  auto first = late.readResponse();
  ASSERT_TRUE(first.isOk()) << first.status().message();
  EXPECT_EQ(first.value().status, 200);
  EXPECT_NE(first.value().body.find("/late"), std::string::npos) << first.value().body;
  EXPECT_TRUE(late.waitForClose(3s));
}

TEST_F(ConnectionEdgesTest, HalfCloseInTheMiddleOfARequestAbortsIt) {
  quick({"--access-log", "off"});
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  // Half a head, and a head with half its body: both are dropped without an answer.
  for (std::string partial : {std::string("GET /half-head HTTP/1.1\r\nHost: x\r\n"),
                              std::string("POST /half-body HTTP/1.1\r\nHost: x\r\n"
                                          "Content-Length: 10\r\n\r\n12345")}) {
    HttpClient c(s.main(), 3s);
    ASSERT_TRUE(c.sendRaw(partial).isOk());
    ASSERT_TRUE(c.shutdownWrite().isOk());
    auto rest = c.readUntilClose();
    ASSERT_TRUE(rest.isOk()) << rest.status().message();
    EXPECT_EQ(rest.value(), "") << partial;
  }
}

// ---- A.7 (c): drain grace --------------------------------------------------------------

class DrainGraceTest : public ConnectionEdgesTest {
 protected:
  void start(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--access-log", "off", "--concurrency", "2"});
    quick(extra);
  }
};

TEST_F(DrainGraceTest, KeepAliveClientsSendingThroughASigtermLoseNoRequest) {
  start({"--drain-timeout", "10s"});
  if (HasFatalFailure()) {
    return;
  }
  constexpr int kClients = 8;
  constexpr int kMaxRequests = 2000;  // per client; the drain ends each loop well before
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  std::atomic<int> closed_after_close{0};
  std::atomic<bool> go{false};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(sidecar_.main(), 3s);
      if (!c.connect().isOk()) {
        failures[t] = "connect failed";
        ++failed;
        return;
      }
      while (!go.load()) {
        std::this_thread::yield();
      }
      for (int i = 0; i < kMaxRequests; ++i) {
        auto r = c.get("/load/" + std::to_string(i));
        if (!r.isOk()) {
          // The proxy closed a connection on which it had not said `connection: close`.
          failures[t] = "request " + std::to_string(i) + ": " + std::string(r.status().message());
          ++failed;
          return;
        }
        ++answered;
        if (!r.value().keep_alive) {
          ++closed_after_close;  // told to go: a well-behaved client stops using the connection
          EXPECT_TRUE(c.waitForClose(3s)) << "connection: close, then left open";
          return;
        }
      }
    });
  }
  go = true;
  ASSERT_TRUE(eventually([&] { return answered.load() >= 200; }, 5s)) << answered.load();
  auto drain_start = Clock::now();
  sidecar_.process.signal(SIGTERM);
  for (auto& th : threads) {
    th.join();
  }
  int code = sidecar_.process.wait(5s);
  long long took = msSince(drain_start);
  EXPECT_EQ(failed.load(), 0) << [&] {
    std::string all;
    for (const std::string& f : failures) {
      all += f.empty() ? "" : f + "; ";
    }
    return all;
  }();
  EXPECT_EQ(closed_after_close.load(), kClients) << "every client saw connection: close";
  EXPECT_EQ(code, 0) << readFile(sidecar_.stderr_file);
  // Every client left after its `connection: close`: no need to wait for the 5s grace.
  EXPECT_LT(took, 3000) << "exit must follow the last connection, not the grace or the timeout";
}

TEST_F(DrainGraceTest, IdleKeepAliveConnectionIsAnsweredDuringTheGraceAndClosedAtItsEnd) {
  start({"--drain-timeout", "20s", "--drain-grace", "1s"});
  if (HasFatalFailure()) {
    return;
  }
  HttpClient late(sidecar_.main(), 3s);
  HttpClient idle(sidecar_.main(), 3s);
  for (HttpClient* c : {&late, &idle}) {
    auto warm = c->get("/warm");
    ASSERT_TRUE(warm.isOk()) << warm.status().message();
    ASSERT_TRUE(warm.value().keep_alive);
  }
  auto drain_start = Clock::now();
  sidecar_.process.signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return connectRefused(sidecar_.main(), 100ms); }, 1s))
      << "the listener still accepts during the drain";

  // A request sent on a kept connection during the grace is answered, with connection: close.
  auto r = late.get("/during-the-grace");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  EXPECT_TRUE(common::equalsIgnoreCase(r.value().header("connection"), "close"));
  EXPECT_TRUE(late.waitForClose(1s));

  // The idle one is closed at the end of the grace, and the process exits then.
  EXPECT_TRUE(idle.waitForClose(3s));
  long long closed_at = msSince(drain_start);
  EXPECT_GE(closed_at, 900) << "closed before the 1s grace was over";
  int code = sidecar_.process.wait(3s);
  EXPECT_EQ(code, 0) << readFile(sidecar_.stderr_file);
  EXPECT_LT(msSince(drain_start), 2500) << "the drain must end with the grace, not at 20s";
}

// ---- A.7 (d): stalled request bodies ---------------------------------------------------

TEST_F(ConnectionEdgesTest, StalledRequestBodyGets408AndFreesTheUpstreamSlot) {
  config(edgesConfig(echo_.address, ", body_read_timeout: 300ms",
                     "    max_connections_per_endpoint: 1\n"));
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  // Headers and part of the body, then nothing: the one upstream connection is taken.
  HttpClient stalled(s.main(), 3s);
  auto start = Clock::now();
  ASSERT_TRUE(stalled
                  .sendRaw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                           "0123456789")
                  .isOk());
  ASSERT_TRUE(eventually(
      [&] { return s.endpointStat("echo", echo_.address, "active_requests") == 1; }, 2s));

  auto r = stalled.readResponse();
  long long took = msSince(start);
  ASSERT_TRUE(r.isOk()) << "no answer to the stalled body: " << r.status().message();
  EXPECT_EQ(r.value().status, 408);
  EXPECT_EQ(r.value().header("x-remora-reason"), "request-timeout");
  EXPECT_FALSE(r.value().keep_alive);
  EXPECT_GE(took, 250) << "body_read_timeout is 300ms";
  EXPECT_LT(took, 1500) << "body_read_timeout is 300ms";
  EXPECT_TRUE(stalled.waitForClose(2s));
  EXPECT_EQ(s.stat("remora_downstream_rq_body_timeout_total{listener=\"main\"}"), 1);

  // The slot is free: another client gets through (max_connections_per_endpoint 1).
  auto other = HttpClient::fetch(s.main(), "GET", "/other", {}, {}, 3s);
  ASSERT_TRUE(other.isOk()) << other.status().message();
  EXPECT_EQ(other.value().status, 200) << other.value().header("x-remora-reason");
}

TEST_F(ConnectionEdgesTest, SlowButSteadyRequestBodyIsNotCutByTheBodyTimeout) {
  config(edgesConfig(echo_.address, ", body_read_timeout: 300ms"));
  if (HasFatalFailure()) {
    return;
  }
  const Sidecar& s = sidecar_;

  // Ten bytes, one every 100ms: a whole second in all, but never a 300ms gap.
  HttpClient c(s.main(), 3s);
  ASSERT_TRUE(c.sendRaw("POST /steady HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n").isOk());
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);  // the scenario: a slow client with short gaps
    ASSERT_TRUE(c.sendRaw(std::string(1, static_cast<char>('0' + i))).isOk());
  }
  auto r = c.readResponse();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
}

// ---- A.7 (e): the fd limit -------------------------------------------------------------

TEST_F(ConnectionEdgesTest, AtTheFdLimitAdminStillAnswersAndRefusalsAreCountedAndLogged) {
  // The sidecar under `ulimit -n 160` (soft and hard, so it cannot raise it).
  Sidecar s;
  std::string ready = dir_.file("fd.ready");
  s.stdout_file = dir_.file("fd.out");
  s.stderr_file = dir_.file("fd.err");
  ASSERT_TRUE(s.process.start({"/bin/sh", "-c", "ulimit -n 160 && exec \"$0\" \"$@\"", sidecarBin(),
                               "--listen", "127.0.0.1:0", "--upstream", echo_.address, "--admin",
                               "127.0.0.1:0", "--access-log", "off", "--ready-file", ready},
                              s.stdout_file, s.stderr_file));
  std::string text = waitForReadyFile(ready);
  ASSERT_FALSE(text.empty()) << readFile(s.stderr_file);
  auto kv = jsonStrings(text);
  s.admin = kv["admin"];
  std::string main = kv["main"];

  // Open connections (never sending) until well past what 160 fds allow.
  std::vector<int> fds;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(portOf(main));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 300; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  const std::string overflow = "remora_downstream_cx_overflow_total{listener=\"main\"}";
  EXPECT_TRUE(eventually([&] { return s.stat(overflow) > 0; }, 3s, 50ms))
      << "no refusal counted; stats: " << s.adminGet("/stats");

  // The admin port (readiness probe, server info) still answers.
  auto ready_probe = HttpClient::fetch(s.admin, "GET", "/ready", {}, {}, 2s);
  ASSERT_TRUE(ready_probe.isOk()) << "admin unreachable at the fd limit: "
                                  << ready_probe.status().message();
  EXPECT_EQ(ready_probe.value().status, 200);
  auto info = HttpClient::fetch(s.admin, "GET", "/server_info", {}, {}, 2s);
  ASSERT_TRUE(info.isOk()) << info.status().message();
  EXPECT_NE(info.value().body.find("\"LIVE\""), std::string::npos) << info.value().body;
  EXPECT_GT(s.stat("remora_downstream_cx_active{listener=\"main\"}"), 0);
  EXPECT_LT(s.stat("remora_downstream_cx_active{listener=\"main\"}"), 80);
  // And the refusals were logged (rate-limited: one line for the burst).
  std::string err = readFile(s.stderr_file);
  EXPECT_NE(err.find("connection refused: max_downstream_connections reached"), std::string::npos)
      << err;
  EXPECT_NE(err.find("fd limit 160"), std::string::npos) << err;
  for (int fd : fds) {
    ::close(fd);
  }
}

}  // namespace
}  // namespace remora::test
