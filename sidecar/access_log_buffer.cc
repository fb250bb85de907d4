#include "sidecar/access_log_buffer.h"

#include <spdlog/spdlog.h>

namespace remora::sidecar {

namespace {
// Room kept past flush_bytes in a busy worker's next buffer, so the line that crosses the flush
// size does not make it grow.
constexpr size_t kLineRoom = 4096;
constexpr std::chrono::seconds kWarningPeriod(10);
}  // namespace

AccessLogBuffer::AccessLogBuffer(AccessLogSink& sink, AccessLogLimits limits,
                                 common::StatsShard& shard, common::Counter dropped,
                                 std::function<void(bool pending)> on_pending)
    : sink_(sink),
      limits_(limits),
      shard_(shard),
      dropped_(dropped),
      on_pending_(std::move(on_pending)) {}

void AccessLogBuffer::append(std::string_view line) {
  if (lines_.size() + line.size() + 1 > limits_.max_bytes && !sink_.take(lines_, false)) {
    drop();
    return;
  }
  const bool was_empty = lines_.empty();
  lines_.append(line);
  lines_.push_back('\n');
  if (lines_.size() >= limits_.flush_bytes && sink_.take(lines_, false)) {
    // A busy worker: its next batch will reach the flush size too.
    lines_.reserve(limits_.flush_bytes + kLineRoom);
    on_pending_(false);
    return;
  }
  if (was_empty) {
    on_pending_(true);
  }
}

void AccessLogBuffer::flush(bool force) {
  if (lines_.empty()) {
    return;
  }
  // Refused: try again after another flush period.
  on_pending_(!sink_.take(lines_, force));
}

void AccessLogBuffer::drop() {
  shard_.add(dropped_);
  ++dropped_since_warning_;
  // Rare (the output is stuck), so the clock is read here only: one warning per 10 s at most.
  auto now = std::chrono::steady_clock::now();
  if (last_warning_ != std::chrono::steady_clock::time_point{} &&
      now - last_warning_ < kWarningPeriod) {
    return;
  }
  spdlog::warn(
      "access log: the output is behind ({} bytes wait in this worker): {} line(s) dropped "
      "(remora_access_log_dropped_total)",
      lines_.size(), dropped_since_warning_);
  last_warning_ = now;
  dropped_since_warning_ = 0;
}

}  // namespace remora::sidecar
