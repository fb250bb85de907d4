#include "sidecar/access_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "common/utf8.h"

namespace remora::sidecar {

namespace {
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}

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

void initAccessLog() {
  if (logger()) {
    return;
  }
  auto l =
      std::make_shared<spdlog::logger>("access", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  l->set_pattern("[%Y-%m-%dT%H:%M:%S.%eZ] %v", spdlog::pattern_time_type::utc);
  l->set_level(spdlog::level::info);
  // Lines are flushed once a second rather than one write(2) per request.
  l->flush_on(spdlog::level::warn);
  logger() = l;
  spdlog::register_logger(l);
  spdlog::flush_every(std::chrono::seconds(1));
}

void formatAccessLog(const filters::StreamInfo& i, bool http10, std::string& out) {
  out.push_back('"');
  appendLogEscaped(out, i.method);
  out.push_back(' ');
  appendLogEscaped(out, i.path);
  out.append(http10 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
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

void writeAccessLog(const filters::StreamInfo& i, bool http10) {
  auto& l = logger();
  if (!l) {
    return;
  }
  // One buffer per worker thread, reused: no allocation per line once it has grown.
  thread_local std::string line;
  line.clear();
  formatAccessLog(i, http10, line);
  l->info(std::string_view(line));
}

}  // namespace remora::sidecar
