#pragma once
// The access log: one line per request on stdout, switchable off by config.
//   [2026-11-22T17:00:00.123Z] "GET /path HTTP/1.1" 200 - 0 42 1.204ms 0.950ms
//     "orders:8080" route=outbound/orders cluster=orders upstream=127.0.0.1:9001 attempts=1
//     id="6f1c..." listener=outbound
// The field after the status is the x-remora-reason ("-" when the upstream answered).
//
// One line is always one record, and a peer cannot forge fields: what the client sent (method,
// path, authority, request id) is written inside double quotes, and every byte that could end the
// quotes, the line or the record, or mislead a terminal is escaped: `"` as \", `\` as \\, control
// bytes (00-1F, 7F), C1 controls (U+0080-U+009F), U+2028/U+2029 and ill-formed UTF-8 as \xHH per
// byte (as nginx's default log escaping does). Names from the config (route, cluster, listener)
// get the same escaping without quotes. Well-formed UTF-8 text passes unchanged.
//
// Lines cost no lock and no system call per request: each worker keeps its lines in its own
// buffer (AccessLogBuffer) and hands them to the process's one writer thread (AccessLogWriter)
// when the buffer holds 64 KiB, or at the latest a second after its first line (a timer armed
// only while the buffer holds lines, so an idle worker never wakes up for it). The writer writes
// whole lines with one writev(2) per batch. At shutdown every worker hands over what it holds and
// the writer writes it all before the process exits. If stdout is slower than the requests, lines
// wait in memory up to a cap (4 MiB in the writer, 256 KiB per worker); lines past it are
// dropped and counted in remora_access_log_dropped_total.

#include <uv.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/http/message.h"
#include "filters/api/stream_info.h"

namespace remora::common {
class StatsShard;
class StatsStore;
class Timer;
}  // namespace remora::common

namespace remora::sidecar {

class AccessLogBuffer;

// Starts the writer thread on stdout and registers remora_access_log_dropped_total in `stats`.
// The writer counts its own drops in shard `writer_shard`, which no other thread may write.
// Idempotent. Call once at startup on the main thread, before the workers start.
void initAccessLog(common::StatsStore& stats, size_t writer_shard);
// Writes every line handed over so far and stops the writer: call it once the workers have
// stopped (each hands over its lines as its WorkerAccessLog ends). Waits at most `timeout` for a
// stuck output, then gives up on what is left (logged).
void stopAccessLog(std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Appends the request's line to this thread's WorkerAccessLog; nothing on a thread without one
// (or before initAccessLog).
void writeAccessLog(const filters::StreamInfo& info, http::Protocol protocol);

// The access log of one worker thread. While it lives, writeAccessLog on this thread appends to
// its buffer, flushed by size and by a timer on `loop`; its end hands every line left to the
// writer. Create and destroy it on the worker thread, while `loop` is running or open. Without
// initAccessLog it does nothing.
class WorkerAccessLog {
 public:
  // `shard`: the worker's stats shard (for the dropped lines).
  WorkerAccessLog(uv_loop_t* loop, common::StatsShard& shard);
  ~WorkerAccessLog();
  WorkerAccessLog(const WorkerAccessLog&) = delete;
  WorkerAccessLog& operator=(const WorkerAccessLog&) = delete;

 private:
  std::unique_ptr<common::Timer> timer_;
  std::unique_ptr<AccessLogBuffer> buffer_;
};

// `[2026-11-22T17:00:00.123Z] ` (UTC, milliseconds), the prefix of every line, appended to `out`.
void appendLogTimestamp(std::string& out, std::chrono::system_clock::time_point t);

// The line writeAccessLog writes (without the timestamp), appended to `out`.
void formatAccessLog(const filters::StreamInfo& info, http::Protocol protocol, std::string& out);
// Appends `s` to `out` with the escaping described above (no quotes added).
void appendLogEscaped(std::string& out, std::string_view s);

}  // namespace remora::sidecar
