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

TEST(Debouncer, OneChangeFiresAfterTheQuietPeriod) {
  Debouncer d(100, 1000);
  d.onChange(5000);
  ASSERT_TRUE(d.deadline().has_value());
  EXPECT_EQ(*d.deadline(), 5100u);
  EXPECT_FALSE(d.due(5099));
  EXPECT_TRUE(d.due(5100));
  EXPECT_EQ(d.fire(5100), 100u);
  EXPECT_FALSE(d.pending());
}

TEST(Debouncer, ABurstIsOnePushAfterItsLastChange) {
  Debouncer d(100, 1000);
  for (uint64_t t = 0; t <= 300; t += 50) {
    d.onChange(t);
    EXPECT_FALSE(d.due(t));
  }
  EXPECT_EQ(*d.deadline(), 400u);
  EXPECT_EQ(d.fire(400), 400u);
}

TEST(Debouncer, AStreamOfChangesStillPushesByTheMaximumDelay) {
  Debouncer d(100, 1000);
  uint64_t t = 0;
  for (; t < 2000 && !d.due(t); t += 50) {
    d.onChange(t);
  }
  // Changes every 50 ms never leave 100 ms of quiet: the cap at first change + 1000 ms wins.
  EXPECT_EQ(t, 1000u);
  EXPECT_EQ(*d.deadline(), 1000u);
  d.fire(t);
  d.onChange(t + 10);
  EXPECT_EQ(*d.deadline(), t + 110);  // a new burst starts its own clock
}

TEST(Debouncer, ZeroQuietPeriodPushesAtOnce) {
  Debouncer d(0, 0);
  d.onChange(42);
  EXPECT_TRUE(d.due(42));
}

TEST(Debouncer, MaximumBelowQuietIsRaisedToQuiet) {
  Debouncer d(200, 50);
  EXPECT_EQ(d.maxDelayMs(), 200u);
  d.onChange(0);
  EXPECT_EQ(*d.deadline(), 200u);
}

}  // namespace
}  // namespace remora::control
