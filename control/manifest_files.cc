#include "control/manifest_files.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace remora::control {
namespace {

namespace fs = std::filesystem;

bool isManifestName(const fs::path& p) {
  const fs::path ext = p.extension();
  return ext == ".yaml" || ext == ".yml";
}

bool isHidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name.front() == '.';
}

}  // namespace

common::Result<std::vector<std::string>> listManifestFiles(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    return common::Status::notFound(path + ": no such file or directory");
  }
  if (!fs::is_directory(st)) {
    return std::vector<std::string>{path};
  }
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(path, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::error_code entry_ec;  // a dangling link is skipped, not a failure of the walk
    if (isHidden(entry.path())) {
      if (entry.is_directory(entry_ec)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (isManifestName(entry.path()) && entry.is_regular_file(entry_ec)) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) {
    return common::Status::invalid(path + ": cannot read the directory: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace remora::control
