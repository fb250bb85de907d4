#include "control/object_checker.h"

#include <utility>

namespace remora::control {

std::string quote(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
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
