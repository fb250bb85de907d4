#include "control/object_checker.h"

#include <utility>

namespace remora::control {

std::string fieldPath(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (!out.empty()) {
    out += '.';
  }
  out.append(name);
  return out;
}

std::string itemPath(std::string_view parent, std::string_view name, size_t index) {
  return fieldPath(parent, name) + "[" + std::to_string(index) + "]";
}

bool pathsOverlap(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) {
    std::swap(a, b);
  }
  return a.empty() || (b.compare(0, a.size(), a) == 0 &&
                       (b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '['));
}

void ObjectChecker::error(std::string_view path, std::string_view problem) {
  for (const std::string& quiet : quiet_paths_) {
    if (pathsOverlap(path, quiet)) {
      return;
    }
  }
  const xds::SourcePos pos = map_.find(path);
  sink_->push_back({file_, pos, xds::formatConfigError(file_, pos, path, problem)});
  ++count_;
}

}  // namespace remora::control
