#include "common/event_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "common/timer.h"

namespace remora::common {
namespace {

struct Recorder final : EndOfIterationTask {
  std::vector<int>* log;
  int id;
  Recorder(std::vector<int>* l, int i) : log(l), id(i) {}
  void onEndOfIteration() noexcept override { log->push_back(id); }
};

TEST(EventLoopTest, EndOfIterationTaskFromATimerRunsWithoutWaitingForTheNextEvent) {
  EventLoop loop;
  std::vector<int> log;
  Recorder task(&log, 1);
  uint64_t ran_at = 0;
  Timer soon(loop.uv(), [&] { loop.atEndOfIteration(task); });
  // The only other thing the loop could wait for is 5 s away: a task that waited for an event
  // would run after it.
  Timer late(loop.uv(), [&] { ran_at = ran_at == 0 ? 1 : ran_at; });
  soon.start(1);
  late.start(5000);
  auto t0 = std::chrono::steady_clock::now();
  while (log.empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2)) {
    uv_run(loop.uv(), UV_RUN_ONCE);
  }
  EXPECT_EQ(log, std::vector<int>{1});
  EXPECT_EQ(ran_at, 0u) << "the task waited for the 5 s timer";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  soon.stop();
  late.stop();
}

TEST(EventLoopTest, EndOfIterationTasksRunOnceInOrderAndCancelledOnesNever) {
  EventLoop loop;
  std::vector<int> log;
  Recorder a(&log, 1);
  Recorder b(&log, 2);
  Recorder c(&log, 3);
  loop.atEndOfIteration(a);
  loop.atEndOfIteration(b);
  loop.atEndOfIteration(c);
  loop.cancelEndOfIteration(b);
  uv_run(loop.uv(), UV_RUN_NOWAIT);
  uv_run(loop.uv(), UV_RUN_NOWAIT);
  EXPECT_EQ(log, (std::vector<int>{1, 3}));
}

}  // namespace
}  // namespace remora::common
