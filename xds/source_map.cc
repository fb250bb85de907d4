#include "xds/source_map.h"

namespace remora::xds {

void SourceMap::add(std::string path, SourcePos pos) {
  positions_[std::move(path)] = pos;
}

SourcePos SourceMap::find(std::string_view path) const {
  while (true) {
    auto it = positions_.find(path);
    if (it != positions_.end()) {
      return it->second;
    }
    if (path.empty()) {
      return {};
    }
    path = parentPath(path);
  }
}

std::string_view parentPath(std::string_view path) {
  // Scan forwards so that '.' and '[' inside quoted map keys are not taken as separators.
  size_t last = 0;
  bool in_quote = false;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (in_quote) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quote = false;
      }
      continue;
    }
    if (c == '"') {
      in_quote = true;
    } else if (c == '.' || c == '[') {
      last = i;
    }
  }
  return path.substr(0, last);
}

std::string joinPath(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out.append(name);
  return out;
}

std::string indexPath(std::string_view list_path, size_t index) {
  std::string out(list_path);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

std::string mapEntryPath(std::string_view map_path, std::string_view key) {
  std::string out(map_path);
  out += "[\"";
  for (char c : key) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += "\"]";
  return out;
}

std::string formatConfigError(std::string_view source, SourcePos pos, std::string_view path,
                              std::string_view problem) {
  std::string out(source);
  if (pos.known()) {
    out += ':';
    out += std::to_string(pos.line);
    out += ':';
    out += std::to_string(pos.col);
  }
  out += ": ";
  if (!path.empty()) {
    out.append(path);
    out += ": ";
  }
  out.append(problem);
  return out;
}

}  // namespace remora::xds
