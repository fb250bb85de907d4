#include "sidecar/access_log.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>

#include "common/stats.h"
#include "common/timer.h"
#include "common/utf8.h"
#include "sidecar/access_log_buffer.h"
#include "sidecar/access_log_writer.h"

namespace remora::sidecar {

namespace {
constexpr AccessLogLimits kWorkerLimits{64 * 1024, 256 * 1024};
constexpr size_t kWriterMaxQueuedBytes = 4 * 1024 * 1024;
constexpr uint64_t kFlushPeriodMs = 1000;

// The process's access log: set up by initAccessLog on the main thread before any worker starts,
// torn down by stopAccessLog after they all stopped.
struct AccessLogState {
  std::unique_ptr<AccessLogWriter> writer;
  common::Counter dropped;
};

AccessLogState& state() {
  static AccessLogState s;
  return s;
}

// This thread's buffer while its WorkerAccessLog lives.
thread_local AccessLogBuffer* t_buffer = nullptr;

void appendHexByte(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  char buf[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
  out.append(buf, sizeof(buf));
}

void appendBytesEscaped(std::string& out, std::string_view bytes) {
  for (char c : bytes) {
    appendHexByte(out, static_cast<unsigned char>(c));
  }
}

// Well-formed sequences that are still escaped: C1 controls and the Unicode line separators.
bool unprintable(std::string_view seq) {
  auto b = [&seq](size_t i) { return static_cast<unsigned char>(seq[i]); };
  if (seq.size() == 2) {
    return b(0) == 0xC2 && b(1) < 0xA0;
  }
  return seq.size() == 3 && b(0) == 0xE2 && b(1) == 0x80 && (b(2) == 0xA8 || b(2) == 0xA9);
}

void appendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  appendLogEscaped(out, s);
  out.push_back('"');
}

void appendOrDash(std::string& out, std::string_view s) {
  if (s.empty()) {
    out.push_back('-');
  } else {
    appendLogEscaped(out, s);
  }
}

void appendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, r.ptr);
}

// Microseconds as milliseconds with three decimals ("1.204ms"), without printf.
void appendMillis(std::string& out, uint64_t us) {
  appendNumber(out, us / 1000);
  char frac[4] = {'.', static_cast<char>('0' + us % 1000 / 100),
                  static_cast<char>('0' + us % 100 / 10), static_cast<char>('0' + us % 10)};
  out.append(frac, sizeof(frac));
  out.append("ms");
}
}  // namespace

void appendLogEscaped(std::string& out, std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t run = common::plainAsciiRun(s.substr(i));
    out.append(s.substr(i, run));
    i += run;
    if (i == s.size()) {
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x80) {
      appendHexByte(out, c);  // control byte or DEL
      ++i;
      continue;
    }
    size_t bad = 0;
    size_t n = common::utf8Sequence(s.substr(i), &bad);
    if (n == 0) {
      appendBytesEscaped(out, s.substr(i, bad));
      i += bad;
    } else if (unprintable(s.substr(i, n))) {
      appendBytesEscaped(out, s.substr(i, n));
      i += n;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

void initAccessLog(common::StatsStore& stats, size_t writer_shard) {
  AccessLogState& st = state();
  if (st.writer) {
    return;
  }
  st.dropped = stats.counter("remora_access_log_dropped_total");
  // Whatever stdio holds for stdout goes before the first line, which bypasses stdio.
  std::fflush(stdout);
  st.writer = std::make_unique<AccessLogWriter>(STDOUT_FILENO, kWriterMaxQueuedBytes,
                                                stats.shard(writer_shard), st.dropped);
}

void stopAccessLog(std::chrono::milliseconds timeout) {
  AccessLogState& st = state();
  if (!st.writer) {
    return;
  }
  if (!st.writer->stop(timeout)) {
    // Its thread is stuck in a write: leave it (and what it uses) alive, the process is exiting.
    spdlog::error("access log: stdout took no more lines for {} ms; the lines left are lost",
                  timeout.count());
    (void)st.writer.release();
    return;
  }
  st.writer.reset();
}

WorkerAccessLog::WorkerAccessLog(uv_loop_t* loop, common::StatsShard& shard) {
  AccessLogState& st = state();
  if (!st.writer) {
    return;
  }
  timer_ = std::make_unique<common::Timer>(loop, [this] { buffer_->flush(); });
  auto on_pending = [this](bool pending) {
    if (pending) {
      timer_->start(kFlushPeriodMs);
    } else {
      timer_->stop();
    }
  };
  buffer_ = std::make_unique<AccessLogBuffer>(*st.writer, kWorkerLimits, shard, st.dropped,
                                              std::move(on_pending));
  t_buffer = buffer_.get();
}

WorkerAccessLog::~WorkerAccessLog() {
  if (!buffer_) {
    return;
  }
  buffer_->flush(/*force=*/true);
  t_buffer = nullptr;
}

void appendLogTimestamp(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  // The date and time change once a second: formatted once per second and thread.
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[32];
  thread_local size_t cached_len = 0;
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cached_len = std::strftime(cached, sizeof(cached), "[%Y-%m-%dT%H:%M:%S.", &tm);
    cached_secs = secs;
  }
  out.append(cached, cached_len);
  char frac[] = {'0', '0', '0', 'Z', ']', ' '};
  frac[0] = static_cast<char>('0' + ms % 1000 / 100);
  frac[1] = static_cast<char>('0' + ms % 100 / 10);
  frac[2] = static_cast<char>('0' + ms % 10);
  out.append(frac, sizeof(frac));
}

void formatAccessLog(const filters::StreamInfo& i, http::Protocol protocol, std::string& out) {
  out.push_back('"');
  appendLogEscaped(out, i.method);
  out.push_back(' ');
  appendLogEscaped(out, i.path);
  out.push_back(' ');
  out.append(http::protocolName(protocol));
  out.append("\" ");
  appendNumber(out, i.status);
  out.push_back(' ');
  std::string_view reason = filters::reasonName(i.reason);
  out.append(reason.empty() ? "-" : reason);
  out.push_back(' ');
  appendNumber(out, i.bytes_received);
  out.push_back(' ');
  appendNumber(out, i.bytes_sent);
  out.push_back(' ');
  appendMillis(out, i.duration_us);
  out.push_back(' ');
  appendMillis(out, i.upstream_us);
  out.push_back(' ');
  appendQuoted(out, i.authority);
  out.append(" route=");
  appendOrDash(out, i.route);
  out.append(" cluster=");
  appendOrDash(out, i.cluster);
  out.append(" upstream=");
  appendOrDash(out, i.attempts.empty() ? std::string_view() : i.attempts.back().endpoint);
  out.append(" attempts=");
  appendNumber(out, i.attempts.size());
  out.append(" id=");
  if (i.request_id.empty()) {
    out.push_back('-');
  } else {
    appendQuoted(out, i.request_id);
  }
  out.append(" listener=");
  appendOrDash(out, i.listener);
}

void writeAccessLog(const filters::StreamInfo& i, http::Protocol protocol) {
  AccessLogBuffer* buffer = t_buffer;
  if (buffer == nullptr) {
    return;
  }
  // One scratch line per worker thread, reused: no allocation per line once it has grown.
  thread_local std::string line;
  line.clear();
  appendLogTimestamp(line, std::chrono::system_clock::now());
  formatAccessLog(i, protocol, line);
  buffer->append(line);
}

}  // namespace remora::sidecar
