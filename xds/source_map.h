#pragma once
// Where each config field came from in its source file, so that semantic validation (which runs
// on the parsed protobuf) can still cite FILE:LINE:COL.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace remora::xds {

// A 1-based line and column. line == 0 means "unknown".
struct SourcePos {
  int line = 0;
  int col = 0;

  bool known() const noexcept { return line > 0; }
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

// Maps field paths to positions. Paths use proto field names (snake_case) whatever spelling the
// file used, joined with '.', with "[i]" for list elements and "[\"key\"]" for map entries
// (quotes and backslashes in keys escaped with a backslash), e.g.
// `static_resources.clusters[1].endpoints[0].address` or `node.labels["version"]`.
// The empty path is the document itself.
class SourceMap {
 public:
  // Records `pos` for `path`, replacing any earlier position.
  void add(std::string path, SourcePos pos);

  // The position of `path`; when `path` was not recorded (e.g. a field left unset), the position
  // of its closest recorded ancestor; SourcePos{} when there is none.
  SourcePos find(std::string_view path) const;

  bool contains(std::string_view path) const { return positions_.find(path) != positions_.end(); }
  size_t size() const noexcept { return positions_.size(); }
  bool empty() const noexcept { return positions_.empty(); }
  void clear() noexcept { positions_.clear(); }

 private:
  std::map<std::string, SourcePos, std::less<>> positions_;
};

// The parent of a field path ("a.b[2]" -> "a.b", "a.b" -> "a", "a" -> ""); "" for "".
std::string_view parentPath(std::string_view path);

// The path of field `name` under `parent`: "parent.name", or "name" when `parent` is empty.
std::string joinPath(std::string_view parent, std::string_view name);

// The path of list element `index` of the list at `list_path`: "list_path[index]".
std::string indexPath(std::string_view list_path, size_t index);

// The path of map entry `key` under `map_path`: map_path + "[\"" + escaped key + "\"]".
std::string mapEntryPath(std::string_view map_path, std::string_view key);

// Formats one config error line: "SOURCE:LINE:COL: PATH: PROBLEM". The position is left out
// when unknown ("SOURCE: PATH: PROBLEM") and so is the path when empty.
std::string formatConfigError(std::string_view source, SourcePos pos, std::string_view path,
                              std::string_view problem);

}  // namespace remora::xds
