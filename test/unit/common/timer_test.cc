#include "common/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "common/event_loop.h"

namespace remora::common {
namespace {

using Clock = std::chrono::steady_clock;

// Runs the loop until `done` or `limit` passed; returns the time it took.
template <typename Done>
Clock::duration runUntil(EventLoop& loop, Done done, std::chrono::milliseconds limit) {
  auto t0 = Clock::now();
  while (!done() && Clock::now() - t0 < limit) {
    uv_run(loop.uv(), UV_RUN_ONCE);
  }
  return Clock::now() - t0;
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

TEST(TimerTest, OneShotRunsOnceAtItsTimeout) {
  EventLoop loop;
  int runs = 0;
  Timer t(loop.uv(), [&] { ++runs; });
  t.start(20);
  EXPECT_TRUE(t.armed());
  auto took = runUntil(
      loop, [&] { return runs > 0; }, std::chrono::seconds(2));
  EXPECT_EQ(runs, 1);
  EXPECT_GE(ms(took), 19);
  EXPECT_FALSE(t.armed());
  uv_run(loop.uv(), UV_RUN_NOWAIT);
  EXPECT_EQ(runs, 1);
}

// A bare uv loop (an EventLoop's own async handle would keep it alive), ended with its timers.
struct BareLoop {
  uv_loop_t loop{};
  BareLoop() { uv_loop_init(&loop); }
  ~BareLoop() {
    uv_run(&loop, UV_RUN_NOWAIT);  // the timers' close callbacks
    EXPECT_EQ(uv_loop_close(&loop), 0);
  }
};

TEST(TimerTest, AStoppedTimerNeverRunsAndDoesNotKeepTheLoopAlive) {
  BareLoop bare;
  int runs = 0;
  {
    Timer t(&bare.loop, [&] { ++runs; });
    t.start(5000);
    t.stop();
    EXPECT_FALSE(t.armed());
    // The uv timer may still be armed for the old deadline, but nothing waits on it: the loop
    // has nothing to do and returns at once.
    auto t0 = Clock::now();
    uv_run(&bare.loop, UV_RUN_DEFAULT);
    EXPECT_LT(ms(Clock::now() - t0), 1000);
    EXPECT_EQ(runs, 0);
  }
}

TEST(TimerTest, ALaterDeadlineIsKeptAndAnEarlierOneIsMet) {
  EventLoop loop;
  Clock::time_point ran{};
  Timer t(loop.uv(), [&] { ran = Clock::now(); });
  auto t0 = Clock::now();
  t.start(10);
  t.start(80);  // later: the uv timer stays at 10 ms, then re-arms for the rest
  runUntil(
      loop, [&] { return ran != Clock::time_point{}; }, std::chrono::seconds(2));
  EXPECT_GE(ms(ran - t0), 79) << "ran at the first, earlier deadline";

  ran = {};
  t0 = Clock::now();
  t.start(2000);
  t.start(10);  // earlier: re-armed
  runUntil(
      loop, [&] { return ran != Clock::time_point{}; }, std::chrono::seconds(3));
  ASSERT_NE(ran, Clock::time_point{});
  EXPECT_LT(ms(ran - t0), 1000) << "waited for the first, later deadline";
}

TEST(TimerTest, StopThenStartAgainRunsAtTheNewDeadline) {
  EventLoop loop;
  int runs = 0;
  Timer t(loop.uv(), [&] { ++runs; });
  t.start(10);
  t.stop();
  t.start(40);
  auto took = runUntil(
      loop, [&] { return runs > 0; }, std::chrono::seconds(2));
  EXPECT_EQ(runs, 1);
  EXPECT_GE(ms(took), 39);
}

TEST(TimerTest, ADestroyedTimersHandleServesTheNextTimerAndItsOldDeadlineRunsNothing) {
  EventLoop loop;
  int old_runs = 0;
  int new_runs = 0;
  auto old_timer = std::make_unique<Timer>(loop.uv(), [&] { ++old_runs; });
  old_timer->start(10);
  old_timer.reset();  // still armed for 10 ms: kept as a spare
  EXPECT_EQ(loop.spareTimers(), 1u);
  Timer next(loop.uv(), [&] { ++new_runs; });
  EXPECT_EQ(loop.spareTimers(), 0u);
  next.start(50);
  auto took = runUntil(
      loop, [&] { return new_runs > 0; }, std::chrono::seconds(2));
  EXPECT_EQ(old_runs, 0);
  EXPECT_EQ(new_runs, 1);
  EXPECT_GE(ms(took), 49) << "the old deadline ran the new timer's callback";
}

TEST(TimerTest, ACallbackMayDestroyItsOwnTimer) {
  EventLoop loop;
  int runs = 0;
  std::unique_ptr<Timer> t;
  t = std::make_unique<Timer>(loop.uv(), [&] {
    ++runs;
    t.reset();
  });
  t->start(5);
  runUntil(
      loop, [&] { return runs > 0; }, std::chrono::seconds(2));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(t, nullptr);
}

TEST(TimerTest, RepeatingTimerRunsUntilStopped) {
  BareLoop bare;
  int runs = 0;
  {
    Timer t(&bare.loop, [&] {
      if (++runs == 3) {
        t.stop();
      }
    });
    t.start(5, 5);
    auto t0 = Clock::now();
    uv_run(&bare.loop, UV_RUN_DEFAULT);  // returns once the timer stopped for real
    EXPECT_LT(ms(Clock::now() - t0), 1000);
    EXPECT_FALSE(t.armed());
    EXPECT_EQ(runs, 3);
  }
}

TEST(TimerTest, SpareHandlesAreClosedWithTheLoop) {
  EventLoop loop;
  for (int i = 0; i < 3; ++i) {
    Timer t(loop.uv(), [] {});
    t.start(10000);
  }
  EXPECT_GE(loop.spareTimers(), 1u);
  EXPECT_EQ(loop.closeAll(), 0);  // (and under ASan, no handle memory leaks)
}

}  // namespace
}  // namespace remora::common
