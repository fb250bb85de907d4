#pragma once
// `remoractl proxy-config ADMIN_ADDR [clusters|listeners|routes|config]`: one sidecar's
// configuration, read straight from its admin API (no control plane needed).

#include <cstdio>
#include <string>
#include <vector>

namespace remora::control::cli {

// Runs the command with the arguments that follow "proxy-config". Sections (default clusters):
//   clusters   GET /clusters     -> renderClusters
//   listeners  GET /listeners    -> renderListeners
//   routes     GET /config_dump  -> renderRoutes
//   config     GET /config_dump  -> the JSON, indented (prettyJson)
// Returns 0; 1 with one "remoractl: proxy-config: ..." line on `err` when the admin API cannot
// be reached or answers badly; 2 on bad usage (missing or malformed ADMIN_ADDR, unknown
// section, extra arguments, any flag).
int runProxyConfig(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
