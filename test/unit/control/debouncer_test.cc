#include "control/debouncer.h"

#include <gtest/gtest.h>

namespace remora::control {
namespace {

TEST(Debouncer, NothingPendingHasNoDeadline) {
  Debouncer d(100, 1000);
  EXPECT_FALSE(d.pending());
  EXPECT_FALSE(d.deadline().has_value());
  EXPECT_FALSE(d.due(1'000'000));
}

TEST(Debouncer, ALoneChangeIsPushedAtOnce) {
  Debouncer d(100, 1000);
  d.onChange(5000);
  EXPECT_EQ(*d.deadline(), 5000u);
  EXPECT_TRUE(d.due(5000));
  EXPECT_EQ(d.fire(5000), 0u);
  EXPECT_FALSE(d.pending());
  // Another one after a quiet period: at once again.
  d.onChange(5200);
  EXPECT_TRUE(d.due(5200));
  d.fire(5200);
}

TEST(Debouncer, ChangesRightAfterAPushWaitForQuiet) {
  Debouncer d(100, 1000);
  d.onChange(0);
  d.fire(0);
  // A burst follows the leading push: collected until 100 ms after its last change.
  for (uint64_t t = 10; t <= 300; t += 50) {
    d.onChange(t);
    EXPECT_FALSE(d.due(t));
  }
  EXPECT_EQ(*d.deadline(), 360u);
  EXPECT_FALSE(d.due(359));
  EXPECT_TRUE(d.due(360));
  EXPECT_EQ(d.fire(360), 350u);
}

TEST(Debouncer, AStreamOfChangesStillPushesByTheMaximumDelay) {
  Debouncer d(100, 1000);
  d.onChange(0);
  d.fire(0);
  uint64_t t = 50;
  d.onChange(t);
  for (t += 50; t < 5000 && !d.due(t); t += 50) {
    d.onChange(t);
  }
  // Changes every 50 ms never leave 100 ms of quiet: the cap at first change + 1000 ms wins.
  EXPECT_EQ(t, 1050u);
  d.fire(t);
  d.onChange(t + 10);  // right after a push: trailing again, its own clock
  EXPECT_EQ(*d.deadline(), t + 110);
}

TEST(Debouncer, ZeroQuietPeriodAlwaysPushesAtOnce) {
  Debouncer d(0, 0);
  d.onChange(42);
  EXPECT_TRUE(d.due(42));
  d.fire(42);
  d.onChange(42);
  EXPECT_TRUE(d.due(42));
}

TEST(Debouncer, MaximumBelowQuietIsRaisedToQuiet) {
  Debouncer d(200, 50);
  EXPECT_EQ(d.maxDelayMs(), 200u);
  d.onChange(0);
  d.fire(0);
  d.onChange(10);
  EXPECT_EQ(*d.deadline(), 210u);
}

}  // namespace
}  // namespace remora::control
