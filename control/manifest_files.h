#pragma once
// Which files of a manifest directory are read.

#include <string>
#include <vector>

#include "common/status.h"

namespace remora::control {

// The manifest files under `path`, sorted by path: every regular file (or link to one) whose
// name ends in .yaml or .yml, in the directory and its subdirectories. Names starting with '.'
// are skipped, files and directories alike (editor droppings; the ..data twins of a mounted
// ConfigMap). Each returned path is `path` joined with the file's relative path. When `path`
// is a file, the result is just that file, whatever its name.
// Errors: kNotFound "PATH: no such file or directory"; kInvalidArgument "PATH: ..." when the
// directory or a subdirectory cannot be read.
common::Result<std::vector<std::string>> listManifestFiles(const std::string& path);

}  // namespace remora::control
