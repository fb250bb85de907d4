#include "control/cli/json_pretty.h"

namespace remora::control::cli {

namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

std::string prettyJson(std::string_view json) {
  std::string out;
  out.reserve(json.size() * 2);
  size_t depth = 0;
  auto newline = [&] {
    out += '\n';
    out.append(depth * 2, ' ');
  };
  // The next character after `i` that is not whitespace, or '\0'.
  auto nextSignificant = [&](size_t i) {
    for (++i; i < json.size(); ++i) {
      if (!isSpace(json[i])) {
        return json[i];
      }
    }
    return '\0';
  };
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (isSpace(c)) {
      continue;
    }
    if (c == '"') {  // a string, copied verbatim up to its closing quote
      size_t end = i + 1;
      while (end < json.size() && json[end] != '"') {
        end += json[end] == '\\' ? 2 : 1;
      }
      out.append(json.substr(i, end + 1 - i));
      i = end;
      continue;
    }
    switch (c) {
      case '{':
      case '[': {
        const char close = c == '{' ? '}' : ']';
        out += c;
        if (nextSignificant(i) == close) {  // {} and [] stay on one line
          out += close;
          while (json[++i] != close) {
          }
        } else {
          ++depth;
          newline();
        }
        break;
      }
      case '}':
      case ']':
        if (depth > 0) {
          --depth;
        }
        newline();
        out += c;
        break;
      case ',':
        out += ',';
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  out += '\n';
  return out;
}

}  // namespace remora::control::cli
