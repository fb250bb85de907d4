// `remora-sidecar wait`, the postStart hook of an injected pod's proxy container: it returns 0
// once the proxy's /healthz/ready answers 200, 1 when the deadline passes first, 2 on bad usage.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;

TEST(SidecarWaitTest, ReturnsZeroOnceAProxyStartedLaterIsReady) {
  TempDir dir;
  Echo echo = Echo::start(dir, "app");
  ASSERT_FALSE(echo.address.empty());
  const std::string health = "127.0.0.1:" + std::to_string(pickFreePort());
  Process wait;
  ASSERT_TRUE(wait.start({sidecarBin(), "wait", "--health", health, "--timeout", "20s"},
                         dir.file("wait.out"), dir.file("wait.err")));
  ASSERT_TRUE(wait.running()) << readFile(dir.file("wait.err"));  // nothing listens yet
  Sidecar proxy = Sidecar::quick(dir, {echo.address}, {"--health", health});
  ASSERT_FALSE(proxy.admin.empty());
  EXPECT_EQ(wait.wait(milliseconds(10000)), 0) << readFile(dir.file("wait.err"));
}

TEST(SidecarWaitTest, GivesUpAtTheDeadlineWithExit1AndTheLastError) {
  TempDir dir;
  const std::string health = "127.0.0.1:" + std::to_string(pickFreePort());
  RunResult r =
      runToExit(dir, "wait", {sidecarBin(), "wait", "--health=" + health, "--timeout=300ms"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(r.elapsed.count(), 3000);
  EXPECT_EQ(r.err, "remora-sidecar: wait: http://" + health +
                       "/healthz/ready not ready after 300ms (connect: Connection refused)\n");
}

TEST(SidecarWaitTest, NotReadyAnswersAreReportedAndBadUsageExits2) {
  TempDir dir;
  // A port that answers, but not 200.
  Echo echo = Echo::start(dir, "app", {"--status", "503"});
  ASSERT_FALSE(echo.address.empty());
  RunResult r = runToExit(dir, "wait",
                          {sidecarBin(), "wait", "--health", echo.address, "--timeout", "300ms"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not ready after 300ms (answer: HTTP/1.1 503"), std::string::npos) << r.err;

  for (const auto& args : {std::vector<std::string>{"wait", "--health", "localhost:1"},
                           std::vector<std::string>{"wait", "--timeout", "soon"},
                           std::vector<std::string>{"wait", "--bogus"}}) {
    std::vector<std::string> argv = {sidecarBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult u = runToExit(dir, "usage", argv);
    EXPECT_EQ(u.exit_code, 2) << u.err;
    EXPECT_EQ(u.err.rfind("remora-sidecar: wait: ", 0), 0u) << u.err;
  }
}

}  // namespace
}  // namespace remora::test
