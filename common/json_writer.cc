#include "common/json_writer.h"

#include <cmath>
#include <cstdio>

namespace remora::common {

std::string jsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
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
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
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
  out_.append(jsonQuote(k));
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::value(std::string_view v) {
  sep();
  out_.append(jsonQuote(v));
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
