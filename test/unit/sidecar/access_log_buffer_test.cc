// A worker's access log buffer: lines reach the output in batches of whole lines, in order, with
// far fewer hand-overs (writes) than lines; an idle buffer needs no timer; a stuck output costs
// bounded memory, and what is dropped is counted.

#include "sidecar/access_log_buffer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/stats.h"

namespace remora::sidecar {
namespace {

// Stands for the writer: keeps every batch it takes, or refuses them while `refuse` is set.
class FakeSink : public AccessLogSink {
 public:
  bool take(std::string& lines, bool force) override {
    ++offers;
    if (refuse && !force) {
      return false;
    }
    batches.push_back(std::move(lines));
    lines.clear();
    return true;
  }
  std::string written() const {
    std::string all;
    for (const std::string& b : batches) {
      all += b;
    }
    return all;
  }

  bool refuse = false;
  int offers = 0;
  std::vector<std::string> batches;
};

class AccessLogBufferTest : public ::testing::Test {
 protected:
  static constexpr AccessLogLimits kLimits{1000, 4000};

  // A line of exactly `len` bytes (without its '\n') that names request `n`.
  static std::string lineOf(int n, size_t len = 49) {
    std::string s = "request " + std::to_string(n) + " ";
    s.resize(len, 'x');
    return s;
  }
  int64_t dropped() const { return stats_.valueOf("remora_access_log_dropped_total"); }

  common::StatsStore stats_{1};
  FakeSink sink_;
  std::vector<bool> pending_;  // every on_pending call, in order
  AccessLogBuffer buffer_{sink_, kLimits, stats_.shard(0),
                          stats_.counter("remora_access_log_dropped_total"),
                          [this](bool p) { pending_.push_back(p); }};
};

TEST_F(AccessLogBufferTest, ABurstReachesTheOutputAsFewBatchesOfWholeLinesInOrder) {
  constexpr int kLines = 1000;  // 50 bytes each: 50,000 bytes, 50 flush sizes
  std::string expected;
  for (int i = 0; i < kLines; ++i) {
    buffer_.append(lineOf(i));
    expected += lineOf(i) + "\n";
  }
  buffer_.flush();

  EXPECT_EQ(sink_.written(), expected);
  EXPECT_EQ(sink_.batches.size(), 50u);
  EXPECT_EQ(sink_.offers, 50) << "one hand-over (one write) per flush size, not per line";
  for (const std::string& b : sink_.batches) {
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(b.back(), '\n') << "a batch ends with a whole line";
    EXPECT_GE(b.size(), kLimits.flush_bytes);
    EXPECT_LT(b.size(), kLimits.flush_bytes + 50);
  }
  EXPECT_EQ(dropped(), 0);
}

TEST_F(AccessLogBufferTest, TheTimerIsArmedOnlyWhileLinesWaitSoAnIdleWorkerSleeps) {
  buffer_.flush();  // the timer of an idle worker would find nothing
  EXPECT_TRUE(pending_.empty());
  EXPECT_EQ(sink_.offers, 0);

  buffer_.append(lineOf(1));
  buffer_.append(lineOf(2));
  EXPECT_EQ(pending_, std::vector<bool>{true}) << "armed once, by the first line";
  EXPECT_TRUE(sink_.batches.empty()) << "below the flush size the lines wait for the timer";

  buffer_.flush();  // the timer fires
  EXPECT_EQ(pending_, (std::vector<bool>{true, false}));
  EXPECT_EQ(sink_.written(), lineOf(1) + "\n" + lineOf(2) + "\n");
  EXPECT_EQ(buffer_.bufferedBytes(), 0u);
}

TEST_F(AccessLogBufferTest, ALineThatFillsTheBufferHandsItOverAndDisarmsTheTimer) {
  for (int i = 0; i < 20; ++i) {  // 20 x 50 = the flush size
    buffer_.append(lineOf(i));
  }
  EXPECT_EQ(sink_.batches.size(), 1u);
  EXPECT_EQ(pending_, (std::vector<bool>{true, false}));
  EXPECT_EQ(buffer_.bufferedBytes(), 0u);
}

TEST_F(AccessLogBufferTest, WhileTheOutputIsStuckLinesWaitUpToTheCapThenAreDroppedAndCounted) {
  sink_.refuse = true;
  std::string kept;
  for (int i = 0; i < 100; ++i) {  // 5,000 bytes offered, 4,000 fit
    buffer_.append(lineOf(i));
    if (i < 80) {
      kept += lineOf(i) + "\n";
    }
  }
  EXPECT_TRUE(sink_.batches.empty());
  EXPECT_EQ(buffer_.bufferedBytes(), kLimits.max_bytes) << "memory is bounded";
  EXPECT_EQ(dropped(), 20);

  buffer_.flush();  // the timer: refused again, so it is armed again
  EXPECT_EQ(pending_.back(), true);

  sink_.refuse = false;
  buffer_.flush();
  EXPECT_EQ(sink_.written(), kept) << "the lines kept are whole and in order";
  EXPECT_EQ(pending_.back(), false);

  buffer_.append(lineOf(1000));  // the output caught up: nothing more is dropped
  buffer_.flush();
  EXPECT_EQ(dropped(), 20);
  EXPECT_EQ(sink_.batches.back(), lineOf(1000) + "\n");
}

TEST_F(AccessLogBufferTest, TheShutdownFlushCannotBeRefused) {
  sink_.refuse = true;
  buffer_.append(lineOf(1));
  buffer_.append(lineOf(2));
  buffer_.flush(/*force=*/true);
  EXPECT_EQ(sink_.written(), lineOf(1) + "\n" + lineOf(2) + "\n");
  EXPECT_EQ(buffer_.bufferedBytes(), 0u);
  EXPECT_EQ(dropped(), 0);
}

}  // namespace
}  // namespace remora::sidecar
