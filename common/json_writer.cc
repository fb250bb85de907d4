#include "common/json_writer.h"

#include <cmath>
#include <cstdio>

#include "common/utf8.h"

namespace remora::common {

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // The run of bytes that go out as they are, appended in one piece.
    size_t run = plainAsciiRun(s.substr(i));
    out.append(s.substr(i, run));
    i += run;
    if (i == s.size()) {
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t bad = 0;
      size_t n = utf8Sequence(s.substr(i), &bad);
      if (n == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal ill-formed subpart
        i += bad;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default: {  // control bytes and DEL
        static constexpr char kHex[] = "0123456789abcdef";
        char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(buf, sizeof(buf));
      }
    }
    ++i;
  }
  out.push_back('"');
}

std::string jsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendJsonString(out, s);
  return out;
}

void JsonWriter::sep() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) {
      out_.push_back(',');
    }
    first_.back() = false;
  }
}

void JsonWriter::beginObject() {
  sep();
  out_.push_back('{');
  first_.push_back(true);
}

void JsonWriter::endObject() {
  out_.push_back('}');
  first_.pop_back();
}

void JsonWriter::beginArray() {
  sep();
  out_.push_back('[');
  first_.push_back(true);
}

void JsonWriter::endArray() {
  out_.push_back(']');
  first_.pop_back();
}

void JsonWriter::key(std::string_view k) {
  sep();
  appendJsonString(out_, k);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::value(std::string_view v) {
  sep();
  appendJsonString(out_, v);
}

void JsonWriter::value(int64_t v) {
  sep();
  out_.append(std::to_string(v));
}

void JsonWriter::value(double v) {
  sep();
  if (!std::isfinite(v)) {
    out_.append("null");
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  out_.append(buf);
}

void JsonWriter::value(bool v) {
  sep();
  out_.append(v ? "true" : "false");
}

void JsonWriter::null() {
  sep();
  out_.append("null");
}

}  // namespace remora::common
