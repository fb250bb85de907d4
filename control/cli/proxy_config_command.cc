#include "control/cli/proxy_config_command.h"

#include <string_view>

#include "control/cli/api_client.h"
#include "control/cli/args.h"
#include "control/cli/json_pretty.h"
#include "control/cli/proxy_config_render.h"

namespace remora::control::cli {

namespace {

constexpr const char* kSections = "clusters|listeners|routes|config";

struct Section {
  std::string_view name;
  std::string_view path;
};
constexpr Section kSectionPaths[] = {{"clusters", "/clusters"},
                                     {"listeners", "/listeners"},
                                     {"routes", "/config_dump"},
                                     {"config", "/config_dump"}};

}  // namespace

int runProxyConfig(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto parsed = parseCommandArgs("proxy-config", args, {});
  if (!parsed.isOk()) {
    return usageError(err, parsed.status().message());
  }
  const std::vector<std::string>& pos = parsed.value().positionals;
  if (pos.empty()) {
    return usageError(err, std::string("proxy-config needs the sidecar's admin address: "
                                       "remoractl proxy-config ADMIN_ADDR [") +
                               kSections + "]");
  }
  if (pos.size() > 2) {
    return usageError(err, "proxy-config takes ADMIN_ADDR and one section, got " +
                               std::to_string(pos.size()) + " arguments");
  }
  auto address = normalizeAddress(pos[0], "proxy-config: ADMIN_ADDR");
  if (!address.isOk()) {
    return usageError(err, address.status().message());
  }
  const std::string section = pos.size() == 2 ? pos[1] : "clusters";
  const Section* chosen = nullptr;
  for (const Section& s : kSectionPaths) {
    if (section == s.name) {
      chosen = &s;
    }
  }
  if (chosen == nullptr) {
    return usageError(err, "proxy-config: unknown section '" + section + "' (" + kSections + ")");
  }

  auto body = httpGet(address.value(), chosen->path, "the sidecar admin API");
  if (!body.isOk()) {
    return commandFailure(err, "proxy-config", body.status().message());
  }
  const std::string what = "GET " + std::string(chosen->path);
  auto json = parseJsonValue(body.value(), what);
  if (!json.isOk()) {
    return commandFailure(err, "proxy-config", json.status().message());
  }
  std::string text;
  if (section == "clusters") {
    text = renderClusters(json.value());
  } else if (section == "listeners") {
    text = renderListeners(json.value());
  } else if (section == "routes") {
    auto routes = renderRoutes(json.value());
    if (!routes.isOk()) {
      return commandFailure(err, "proxy-config", routes.status().message());
    }
    text = std::move(routes).value();
  } else {
    text = prettyJson(body.value());
  }
  std::fputs(text.c_str(), out);
  return kExitOk;
}

}  // namespace remora::control::cli
