#pragma once
// AccessLogBuffer: one worker's access log lines, kept in memory and handed on in batches, so a
// request costs no lock and no system call. The batches go to an AccessLogSink (in the sidecar
// the AccessLogWriter, which writes each batch with one write(2) of whole lines).
//
// The buffer hands its lines on once it holds `flush_bytes`, or when its owner calls flush()
// (a timer armed while the buffer is not empty, and at shutdown). While the sink is behind and
// refuses more, lines wait here, up to `max_bytes`; a line that would go past that is dropped
// and counted. Everything here runs on the owning worker's thread, except the sink.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/stats.h"

namespace remora::sidecar {

// Where full buffers go. Thread-safe: every worker's buffer hands its lines to the same sink.
class AccessLogSink {
 public:
  virtual ~AccessLogSink() = default;
  // Takes `lines` (whole lines, each ending in '\n'), to be written after everything taken
  // before, and leaves `lines` empty. Returns false, leaving `lines` as they are, when it holds
  // too much unwritten already, unless `force` (shutdown: nothing may be lost).
  virtual bool take(std::string& lines, bool force) = 0;
};

struct AccessLogLimits {
  size_t flush_bytes = 64 * 1024;  // hand the lines on once the buffer holds this much
  size_t max_bytes = 1024 * 1024;  // while the sink refuses: lines past this are dropped
};

class AccessLogBuffer {
 public:
  // `on_pending(true)`: the buffer holds lines; the owner calls flush() within its flush period
  // (a timer). `on_pending(false)`: the buffer is empty; the timer may stop. `dropped` counts the
  // lines dropped, in `shard`.
  AccessLogBuffer(AccessLogSink& sink, AccessLogLimits limits, common::StatsShard& shard,
                  common::Counter dropped, std::function<void(bool pending)> on_pending);
  AccessLogBuffer(const AccessLogBuffer&) = delete;
  AccessLogBuffer& operator=(const AccessLogBuffer&) = delete;

  // Appends `line` (without its '\n') or, when the buffer is full and the sink refuses, drops
  // and counts it.
  void append(std::string_view line);
  // Hands every buffered line to the sink; with `force` the sink cannot refuse (shutdown).
  void flush(bool force = false);

  size_t bufferedBytes() const noexcept { return lines_.size(); }

 private:
  void drop();

  AccessLogSink& sink_;
  AccessLogLimits limits_;
  common::StatsShard& shard_;
  common::Counter dropped_;
  std::function<void(bool)> on_pending_;
  std::string lines_;
  uint64_t dropped_since_warning_ = 0;
  std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace remora::sidecar
