// Process lifecycle of remora-sidecar: flags, config errors, the ready file, graceful drain on
// SIGTERM and POST /drain, the drain timeout, and /quitquitquit.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <functional>
#include <regex>
#include <thread>

#include "common/http_client.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using common::HttpClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// A valid bootstrap with one listener "main" routing everything to cluster "c" at `backend`.
// `listener_extra` / `route_cluster` let a test break one spot.
std::string bootstrap(const std::string& backend, const std::string& listener_extra = "",
                      const std::string& route_cluster = "c") {
  return "concurrency: 1\n"                                   // line 1
         "listeners:\n"                                       // line 2
         "  - name: main\n"                                   // line 3
         "    address: 127.0.0.1:0\n"                         // line 4
         "    route_config: r\n" +                            // line 5
         listener_extra +                                     // line 6 when given
         "static_resources:\n"
         "  clusters:\n"
         "    - name: c\n"
         "      endpoints: [{address: \"" + backend + "\"}]\n"
         "  routes:\n"
         "    - name: r\n"
         "      virtual_hosts:\n"
         "        - name: vh\n"
         "          domains: [\"*\"]\n"
         "          routes:\n"
         "            - name: all\n"
         "              match: {prefix: /}\n"
         "              route: {cluster: " + route_cluster + "}\n";
}

// ---- flags and config errors -------------------------------------------------------------

TEST(LifecycleTest, HelpPrintsUsageAndExitsZero) {
  TempDir dir;
  RunResult r = runToExit(dir, "help", {sidecarBin(), "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--listen"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--drain-timeout"), std::string::npos) << r.out;
}

TEST(LifecycleTest, VersionPrintsNameAndVersionAndExitsZero) {
  TempDir dir;
  RunResult r = runToExit(dir, "version", {sidecarBin(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^remora-sidecar [0-9]+\\.[0-9]+\\.[0-9]+")))
      << r.out;
}

TEST(LifecycleTest, UnknownFlagExitsTwoWithAOneLineError) {
  TempDir dir;
  RunResult r = runToExit(dir, "bogus", {sidecarBin(), "--no-such-flag", "1"});
  EXPECT_EQ(r.exit_code, 2);
  std::vector<std::string> lines = splitLines(r.err);
  ASSERT_EQ(lines.size(), 1u) << "stderr:\n" << r.err;
  EXPECT_NE(lines[0].find("--no-such-flag"), std::string::npos) << lines[0];
  EXPECT_EQ(r.out, "") << "errors go to stderr";
}

TEST(LifecycleTest, NoModeGivenExitsTwo) {
  TempDir dir;
  RunResult r = runToExit(dir, "nomode", {sidecarBin()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(splitLines(r.err).size(), 1u) << r.err;
}

TEST(LifecycleTest, UnknownConfigFieldExitsTwoNamingFileLineAndFieldPath) {
  TempDir dir;
  std::string path =
      dir.write("bad.yaml", bootstrap("127.0.0.1:1", "    no_such_field: 5\n"));
  RunResult r = runToExit(dir, "bad", {sidecarBin(), "--config", path, "--admin", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // file:line:col, then the field path.
  EXPECT_NE(r.err.find("bad.yaml:6:5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("listeners[0].no_such_field"), std::string::npos) << r.err;
  EXPECT_EQ(splitLines(r.err).size(), 1u) << r.err;
}

TEST(LifecycleTest, RouteToUnknownClusterExitsTwoNamingFileLineAndFieldPath) {
  TempDir dir;
  std::string text = bootstrap("127.0.0.1:1", "", "missing-cluster");
  std::vector<std::string> lines = splitLines(text);
  size_t line_no = 0;
  size_t col = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("missing-cluster") != std::string::npos) {
      line_no = i + 1;
      col = lines[i].find("missing-cluster") + 1;
    }
  }
  ASSERT_NE(line_no, 0u);
  std::string path = dir.write("routes.yaml", text);
  RunResult r = runToExit(dir, "bad", {sidecarBin(), "--config", path, "--admin", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // file:line:col of the offending value.
  EXPECT_NE(r.err.find("routes.yaml:" + std::to_string(line_no) + ":" + std::to_string(col) + ":"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("static_resources.routes[0].virtual_hosts[0].routes[0].route.cluster"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("missing-cluster"), std::string::npos) << r.err;
}

TEST(LifecycleTest, MissingConfigFileExitsTwoNamingTheFile) {
  TempDir dir;
  std::string path = dir.file("nope.yaml");
  RunResult r = runToExit(dir, "bad", {sidecarBin(), "--config", path, "--admin", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("nope.yaml"), std::string::npos) << r.err;
}

TEST(LifecycleTest, EnvironmentTwinsSetFlagsAndExplicitFlagsWin) {
  TempDir dir;
  Echo echo = Echo::start(dir, "echo");
  ASSERT_FALSE(echo.address.empty());
  // The child inherits the environment at fork; set it only around the start.
  ::setenv("REMORA_NODE_ID", "from-env", 1);
  ::setenv("REMORA_SERVICE", "env-service", 1);
  Sidecar s = Sidecar::quick(dir, {echo.address}, {"--access-log", "off", "--service", "flag-svc"});
  ::unsetenv("REMORA_NODE_ID");
  ::unsetenv("REMORA_SERVICE");
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);
  auto info = jsonStrings(s.adminGet("/server_info"));
  EXPECT_EQ(info["node_id"], "from-env");
  EXPECT_EQ(info["service"], "flag-svc") << "the flag must win over REMORA_SERVICE";
}

TEST(LifecycleTest, BadEnvironmentTwinValueExitsTwoNamingTheVariable) {
  TempDir dir;
  ::setenv("REMORA_CONCURRENCY", "many", 1);
  RunResult r = runToExit(dir, "badenv",
                          {sidecarBin(), "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1",
                           "--admin", "127.0.0.1:0"});
  ::unsetenv("REMORA_CONCURRENCY");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("REMORA_CONCURRENCY"), std::string::npos) << r.err;
}

// ---- ready file --------------------------------------------------------------------------

TEST(LifecycleTest, ReadyFileListsEveryListenerAndTheAdminAddress) {
  TempDir dir;
  Echo echo = Echo::start(dir, "echo");
  ASSERT_FALSE(echo.address.empty());
  std::string yaml = bootstrap(echo.address) +
                     "access_log: {enabled: false}\n";
  // A second listener, opaque, same backend.
  yaml.insert(yaml.find("static_resources:"),
              "  - name: second\n"
              "    address: 127.0.0.1:0\n"
              "    protocol: OPAQUE\n"
              "    tcp_cluster: c\n");
  Sidecar s = Sidecar::config(dir, yaml);
  ASSERT_FALSE(s.admin.empty()) << readFile(s.stderr_file);

  std::string text = readFile(dir.file("sidecar.ready"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m,
      std::regex(R"re(^\s*\{\s*"listeners"\s*:\s*\{([^}]*)\}\s*,\s*"admin"\s*:\s*"([^"]+)"\s*\}\s*$)re")))
      << text;
  std::string listeners = m[1].str();
  std::regex addr(R"(^127\.0\.0\.1:[1-9][0-9]*$)");
  EXPECT_TRUE(std::regex_match(m[2].str(), addr)) << m[2].str();
  auto kv = jsonStrings(listeners);
  ASSERT_EQ(kv.size(), 2u) << listeners;
  ASSERT_EQ(kv.count("main"), 1u);
  ASSERT_EQ(kv.count("second"), 1u);
  EXPECT_TRUE(std::regex_match(kv["main"], addr)) << kv["main"];
  EXPECT_TRUE(std::regex_match(kv["second"], addr)) << kv["second"];
  EXPECT_NE(kv["main"], kv["second"]);

  // The log says the same on startup.
  std::string log = readFile(s.stderr_file);
  EXPECT_NE(log.find(kv["main"]), std::string::npos) << log;
  EXPECT_NE(log.find(kv["second"]), std::string::npos) << log;
  EXPECT_NE(log.find(m[2].str()), std::string::npos) << log;

  // Every address in it serves.
  auto admin = HttpClient::fetch(m[2].str(), "GET", "/ready");
  ASSERT_TRUE(admin.isOk()) << admin.status().message();
  EXPECT_EQ(admin.value().status, 200);
  auto proxied = HttpClient::fetch(kv["main"], "GET", "/via-main");
  ASSERT_TRUE(proxied.isOk()) << proxied.status().message();
  EXPECT_EQ(proxied.value().status, 200);
  auto opaque = HttpClient::fetch(kv["second"], "GET", "/via-second");
  ASSERT_TRUE(opaque.isOk()) << opaque.status().message();
  EXPECT_EQ(opaque.value().status, 200);
}

// ---- drain -------------------------------------------------------------------------------

class LifecycleDrainTest : public ::testing::Test {
 protected:
  void startSidecar(const std::string& drain_timeout) {
    echo_ = Echo::start(dir_, "echo");
    ASSERT_FALSE(echo_.address.empty());
    sidecar_ = Sidecar::quick(dir_, {echo_.address},
                              {"--access-log", "off", "--drain-timeout", drain_timeout});
    ASSERT_FALSE(sidecar_.admin.empty()) << readFile(sidecar_.stderr_file);
  }
  long long inFlight() const {
    return sidecar_.endpointStat("upstream", echo_.address, "active_requests");
  }

  // 5 slow requests in flight on 5 connections plus one idle keep-alive connection; `trigger`
  // starts the drain. Every slow request gets its 200 with `connection: close`, the idle
  // connection is kept for the drain grace and a request on it is answered with
  // `connection: close`, new connections are refused, and the process exits 0 soon after the
  // last response.
  void drainWithRequestsInFlight(const std::function<void()>& trigger) {
    startSidecar("5s");
    if (HasFatalFailure()) {
      return;
    }
    HttpClient idle(sidecar_.main(), 5s);
    auto warm = idle.get("/warm");
    ASSERT_TRUE(warm.isOk()) << warm.status().message();
    ASSERT_TRUE(warm.value().keep_alive);

    constexpr int kClients = 5;
    std::vector<HttpClient> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back(sidecar_.main(), 5s);
      ASSERT_TRUE(
          clients.back().send("GET", "/slow/" + std::to_string(i), {{"x-echo-delay-ms", "800"}})
              .isOk());
    }
    ASSERT_TRUE(eventually([&] { return inFlight() == kClients; }, 2s))
        << "in flight: " << inFlight();

    auto drain_start = Clock::now();
    trigger();

    // New connections are refused while the slow requests are still running.
    bool refused = eventually([&] { return connectRefused(sidecar_.main(), 200ms); }, 400ms);
    EXPECT_TRUE(refused) << "the listener still accepts during the drain";
    // The idle keep-alive connection answers a request sent during the drain grace, then closes.
    auto late = idle.get("/late");
    ASSERT_TRUE(late.isOk()) << late.status().message();
    EXPECT_EQ(late.value().status, 200);
    EXPECT_EQ(lower(late.value().header("connection")), "close");
    EXPECT_TRUE(idle.waitForClose(300ms)) << "connection left open after connection: close";
    // Admin stays up and says so.
    EXPECT_NE(sidecar_.adminGet("/server_info").find("\"DRAINING\""), std::string::npos)
        << sidecar_.adminGet("/server_info");
    EXPECT_LT(msSince(drain_start), 750) << "checks took too long to say 'during the drain'";
    EXPECT_TRUE(sidecar_.process.running()) << "exited with requests in flight";

    for (int i = 0; i < kClients; ++i) {
      auto r = clients[i].readResponse();
      ASSERT_TRUE(r.isOk()) << "client " << i << ": " << r.status().message();
      EXPECT_EQ(r.value().status, 200) << "client " << i;
      EXPECT_EQ(lower(r.value().header("connection")), "close") << "client " << i;
      EXPECT_FALSE(r.value().keep_alive) << "client " << i;
    }
    int code = sidecar_.process.wait(3s);
    long long took = msSince(drain_start);
    EXPECT_EQ(code, 0) << readFile(sidecar_.stderr_file);
    EXPECT_LT(took, 2500) << "exit must follow the last response, not the 5s drain timeout";
    EXPECT_GE(took, 600) << "exited before the in-flight requests could finish";
  }

  TempDir dir_;
  Echo echo_;
  Sidecar sidecar_;
};

TEST_F(LifecycleDrainTest, SigtermLetsInFlightRequestsFinishRefusesNewConnectionsAndExitsZero) {
  drainWithRequestsInFlight([&] { sidecar_.process.signal(SIGTERM); });
}

TEST_F(LifecycleDrainTest, PostDrainLetsInFlightRequestsFinishRefusesNewConnectionsAndExitsZero) {
  drainWithRequestsInFlight([&] {
    auto r = HttpClient::fetch(sidecar_.admin, "POST", "/drain");
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_EQ(r.value().status, 200);
  });
}

TEST_F(LifecycleDrainTest, GetDrainIsRejectedAndDoesNotDrain) {
  startSidecar("5s");
  auto r = HttpClient::fetch(sidecar_.admin, "GET", "/drain");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 405);
  EXPECT_NE(sidecar_.adminGet("/server_info").find("\"LIVE\""), std::string::npos);
  auto p = HttpClient::fetch(sidecar_.main(), "GET", "/still-serving");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p.value().status, 200);
}

TEST_F(LifecycleDrainTest, DrainTimeoutCutsARequestThatRunsLongerAndExitsZero) {
  startSidecar("300ms");
  if (HasFatalFailure()) {
    return;
  }
  HttpClient c(sidecar_.main(), 5s);
  ASSERT_TRUE(c.send("GET", "/very-slow", {{"x-echo-delay-ms", "3000"}}).isOk());
  ASSERT_TRUE(eventually([&] { return inFlight() == 1; }, 2s));

  auto start = Clock::now();
  sidecar_.process.signal(SIGTERM);
  int code = sidecar_.process.wait(2s);
  long long took = msSince(start);
  EXPECT_EQ(code, 0) << readFile(sidecar_.stderr_file);
  EXPECT_LT(took, 1000) << "drain_timeout is 300ms";
  EXPECT_GE(took, 250) << "the drain did not wait for the in-flight request at all";

  // The client is not left hanging: a 503 `draining`, or the connection closed.
  auto r = c.readResponse();
  if (r.isOk()) {
    EXPECT_EQ(r.value().status, 503);
    EXPECT_EQ(r.value().header("x-remora-reason"), "draining");
  } else {
    EXPECT_TRUE(c.lastError() == HttpClient::Error::kClosed ||
                c.lastError() == HttpClient::Error::kReset)
        << r.status().message();
  }
}

// ---- quitquitquit ------------------------------------------------------------------------

TEST_F(LifecycleDrainTest, PostQuitQuitQuitExitsZeroAtOnceEvenWithARequestInFlight) {
  startSidecar("20s");
  if (HasFatalFailure()) {
    return;
  }
  HttpClient c(sidecar_.main(), 5s);
  ASSERT_TRUE(c.send("GET", "/very-slow", {{"x-echo-delay-ms", "3000"}}).isOk());
  ASSERT_TRUE(eventually([&] { return inFlight() == 1; }, 2s));

  auto start = Clock::now();
  auto r = HttpClient::fetch(sidecar_.admin, "POST", "/quitquitquit");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 200);
  int code = sidecar_.process.wait(2s);
  EXPECT_EQ(code, 0) << readFile(sidecar_.stderr_file);
  EXPECT_LT(msSince(start), 1000);
  auto cut = c.readResponse();
  EXPECT_TRUE(!cut.isOk() || cut.value().status == 503) << "the in-flight request finished?";
}

TEST_F(LifecycleDrainTest, GetQuitQuitQuitIs405AndTheProcessKeepsRunning) {
  startSidecar("20s");
  if (HasFatalFailure()) {
    return;
  }
  auto r = HttpClient::fetch(sidecar_.admin, "GET", "/quitquitquit");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r.value().status, 405);
  EXPECT_NE(lower(r.value().header("allow")).find("post"), std::string::npos);
  // Still alive a moment later, and serving.
  EXPECT_FALSE(eventually([&] { return !sidecar_.process.running(); }, 300ms));
  auto h = HttpClient::fetch(sidecar_.admin, "GET", "/healthz");
  ASSERT_TRUE(h.isOk()) << h.status().message();
  EXPECT_EQ(h.value().status, 200);
  auto p = HttpClient::fetch(sidecar_.main(), "GET", "/alive");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p.value().status, 200);
}

}  // namespace
}  // namespace remora::test
