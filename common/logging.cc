#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "common/utf8.h"

namespace remora::common {

void initStderrLogging(std::string_view name, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt(std::string(name));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%eZ] [%^%l%$] %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

std::string logValue(std::string_view value, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(value.size(), max_bytes) + 16);
  size_t i = 0;
  while (i < value.size()) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      size_t subpart = 0;
      const size_t n = utf8Sequence(value.substr(i), &subpart);
      if (n > 0) {
        if (i + n > max_bytes) {
          break;
        }
        out.append(value.substr(i, n));
        i += n;
        continue;
      }
    }
    if (i + 1 > max_bytes) {
      break;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  if (i < value.size()) {
    out += "...(+" + std::to_string(value.size() - i) + " bytes)";
  }
  return out;
}

}  // namespace remora::common
