#include "common/utf8.h"

namespace remora::common {

size_t utf8Sequence(std::string_view s, size_t* subpart) noexcept {
  auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = byte(0);
  if (c < 0x80) {
    return 1;
  }
  // The continuation bytes after the lead; the second one's range excludes overlong forms (E0,
  // F0), surrogates (ED) and code points above U+10FFFF (F4).
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c == 0xE0) {
    need = 2;
    lo = 0xA0;
  } else if (c == 0xED) {
    need = 2;
    hi = 0x9F;
  } else if (c >= 0xE1 && c <= 0xEF) {
    need = 2;
  } else if (c == 0xF0) {
    need = 3;
    lo = 0x90;
  } else if (c == 0xF4) {
    need = 3;
    hi = 0x8F;
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 3;
  } else {
    *subpart = 1;  // a continuation byte, C0, C1 or F5..FF: never valid
    return 0;
  }
  for (size_t i = 1; i <= need; ++i) {
    if (i >= s.size() || byte(i) < lo || byte(i) > hi) {
      *subpart = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

size_t plainAsciiRun(std::string_view s) noexcept {
  size_t n = 0;
  while (n < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[n]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      break;
    }
    ++n;
  }
  return n;
}

bool isValidUtf8(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t bad = 0;
    size_t n = utf8Sequence(s.substr(i), &bad);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string toValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t bad = 0;
    size_t n = utf8Sequence(s.substr(i), &bad);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      i += bad;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace remora::common
