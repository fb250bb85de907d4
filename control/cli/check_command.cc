#include "control/cli/check_command.h"

#include <spdlog/spdlog.h>

#include "control/manifest_loader.h"

namespace remora::control::cli {

int runCheck(const std::string& path, std::FILE* out, std::FILE* err) {
  spdlog::debug("checking manifests under {}", path);
  auto loaded = loadManifests(path);
  if (!loaded.isOk()) {
    std::fprintf(err, "remoractl: check: %s\n", loaded.status().message().c_str());
    return 2;
  }
  const ManifestLoad& load = loaded.value();
  if (!load.ok()) {
    for (const std::string& line : load.errors) {
      std::fprintf(err, "%s\n", line.c_str());
    }
    spdlog::debug("{} problems in {} files", load.errors.size(), load.manifests.files);
    return 1;
  }
  const MeshManifests& m = load.manifests;
  std::string endpoints;
  if (!m.endpoints.empty()) {
    endpoints = ", endpoints " + std::to_string(m.endpoints.size());
  }
  std::fprintf(out,
               "ok: %zu objects in %zu files (services %zu, endpoint slices %zu, routes %zu, "
               "policies %zu%s)\n",
               m.objectCount(), m.files, m.services.size(), m.endpoint_slices.size(),
               m.routes.size(), m.policies.size(), endpoints.c_str());
  return 0;
}

}  // namespace remora::control::cli
