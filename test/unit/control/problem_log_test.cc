// ProblemLog: each problem logged once when it appears and once when it clears, the rest
// rate-limited into summary lines (fake clock: the caller passes the time).

#include "control/problem_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace remora::control {
namespace {

struct Lines {
  std::vector<std::string> lines;
  ProblemLog::Sink sink() {
    return [this](ProblemLog::Level, const std::string& l) { lines.push_back(l); };
  }
};

std::vector<std::string> problems(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    out.push_back("registered endpoint 10.0.0." + std::to_string(i) +
                  ":80 of shop/gone: no such Service");
  }
  return out;
}

TEST(ProblemLog, AProblemIsLoggedOnceWhenItAppearsAndOnceWhenItClears) {
  Lines out;
  ProblemLog log(out.sink(), /*interval_ms=*/10000, /*lines_per_interval=*/10);
  log.update({"a: broken"}, 0);
  log.update({"a: broken"}, 100);
  log.update({"a: broken", "a: broken"}, 200);
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(out.lines[0], "config problem: a: broken");
  log.update({}, 300);
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[1], "config problem cleared: a: broken");
  log.update({}, 400);
  EXPECT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(log.inForce(), 0u);
}

TEST(ProblemLog, ThousandProblemsOverFivePushesWriteABoundedNumberOfLines) {
  Lines out;
  ProblemLog log(out.sink(), 10000, 10);
  for (int push = 0; push < 5; ++push) {
    log.update(problems(0, 1000), static_cast<uint64_t>(push) * 40);
  }
  // 10 problems one by one, then one summary for the 990 others; nothing on later pushes.
  ASSERT_EQ(out.lines.size(), 11u);
  EXPECT_EQ(out.lines[10],
            "config problems: 990 more appeared and 0 cleared without a line each; 1000 in force "
            "(listed in /v1/status)");
  EXPECT_EQ(log.inForce(), 1000u);
}

TEST(ProblemLog, ChurnIsSummarisedAtMostOncePerInterval) {
  Lines out;
  ProblemLog log(out.sink(), 10000, 10);
  // Every push replaces its 100 problems with 100 new ones (registrations coming and going).
  uint64_t now = 0;
  for (int push = 0; push < 50; ++push, now += 100) {  // 5 s
    log.update(problems(push * 100, push * 100 + 100), now);
  }
  // 10 lines + 1 summary in the first interval; what came after is counted, not written yet.
  EXPECT_EQ(out.lines.size(), 11u);
  log.tick(now);
  EXPECT_EQ(out.lines.size(), 11u);  // the summary interval has not passed
  log.tick(10000);
  ASSERT_EQ(out.lines.size(), 12u);
  EXPECT_EQ(out.lines[11],
            "config problems: 4900 more appeared and 4900 cleared without a line each; 100 in "
            "force (listed in /v1/status)");
  log.tick(30000);
  EXPECT_EQ(out.lines.size(), 12u);  // nothing new: no summary
}

TEST(ProblemLog, TheBudgetRefillsEachInterval) {
  Lines out;
  ProblemLog log(out.sink(), 1000, 2);
  log.update({"a", "b", "c"}, 0);  // a, b, then c counted and summarised at once
  ASSERT_EQ(out.lines.size(), 3u);
  EXPECT_EQ(out.lines[2].rfind("config problems: 1 more appeared", 0), 0u) << out.lines[2];
  log.update({"a", "b", "c", "d"}, 1000);
  ASSERT_EQ(out.lines.size(), 4u);
  EXPECT_EQ(out.lines[3], "config problem: d");
}

}  // namespace
}  // namespace remora::control
