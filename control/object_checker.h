#pragma once
// Collects the problems of one manifest object as "FILE:LINE:COL: PATH: problem" lines, each
// placed by the object's SourceMap.

#include <string>
#include <string_view>
#include <vector>

#include "xds/source_map.h"

namespace remora::control {

// One problem found in a manifest. `pos` (unknown for problems of a whole file) orders the
// problems of a file; `text` is the line shown to the user.
struct ManifestError {
  std::string file;
  xds::SourcePos pos;
  std::string text;
};

// "parent.name[index]" ("name[index]" when parent is empty).
inline std::string itemPath(std::string_view parent, std::string_view name, size_t index) {
  return xds::indexPath(xds::joinPath(parent, name), index);
}

// `s` in double quotes, for values cited in messages.
std::string quote(std::string_view s);

// Whether one path is the other, or an ancestor of it ("a.b" and "a.b[0].c"; "" and anything).
bool pathsOverlap(std::string_view a, std::string_view b);

// The error sink of one object's checks. Paths are lowerCamelCase, as in the SourceMap that the
// parser filled with ParseOptions::json_paths. `map` and `sink` must outlive the checker.
class ObjectChecker {
 public:
  // `quiet_paths`: the paths of the object's parse errors. The object was checked although its
  // parse failed (so that all its problems show at once); a problem at a path that overlaps one
  // of them is a consequence of that parse error (a value left unset) and is not recorded.
  ObjectChecker(std::string file, const xds::SourceMap& map, std::vector<ManifestError>* sink,
                std::vector<std::string> quiet_paths = {})
      : file_(std::move(file)), map_(map), sink_(sink), quiet_paths_(std::move(quiet_paths)) {}

  // Records `problem` at the position of `path` (or of its closest written ancestor), unless
  // `path` overlaps a quiet path.
  void error(std::string_view path, std::string_view problem);

  // The line of `path` (or its closest written ancestor); 0 when unknown.
  int lineOf(std::string_view path) const { return map_.find(path).line; }
  // Whether `path` was written in the file (a field left out was not).
  bool written(std::string_view path) const { return map_.contains(path); }

  // Problems recorded by this checker so far (quieted ones do not count).
  size_t errorCount() const noexcept { return count_; }
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  const xds::SourceMap& map_;
  std::vector<ManifestError>* sink_;
  std::vector<std::string> quiet_paths_;
  size_t count_ = 0;
};

}  // namespace remora::control
