#include "control/cli/status_command.h"

#include <algorithm>
#include <string_view>

#include "control/cli/api_client.h"
#include "control/cli/args.h"
#include "control/cli/format.h"
#include "control/cli/table.h"

namespace remora::control::cli {

namespace {

// Column order of the table; also the order of the NACK lines.
constexpr std::string_view kTypes[] = {"clusters", "endpoints", "routes", "listeners"};

std::string typeCell(const v1::Proxy& proxy, std::string_view type) {
  auto it = proxy.types().find(std::string(type));
  if (it == proxy.types().end() || it->second.sent().empty()) {
    return "NOT SENT";
  }
  const v1::TypeSync& sync = it->second;
  const std::string& version = sync.acked().empty() ? sync.sent() : sync.acked();
  std::string status = sync.status().empty() ? "UNKNOWN" : sync.status();
  return status + " " + shortVersion(version);
}

std::string serviceCell(const v1::Proxy& proxy) {
  if (proxy.service().empty()) {
    return "-";
  }
  return proxy.namespace_().empty() ? proxy.service() : proxy.service() + "." + proxy.namespace_();
}

std::string oneLine(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

}  // namespace

std::string renderStatus(const v1::ProxiesResponse& response) {
  if (response.proxies().empty()) {
    return "no proxies connected\n";
  }
  Table table({"NAME", "SERVICE", "CLUSTERS", "ENDPOINTS", "ROUTES", "LISTENERS", "ADMIN", "AGE"});
  std::string nacks;
  for (const v1::Proxy& proxy : response.proxies()) {
    std::vector<std::string> row = {proxy.node_id(), serviceCell(proxy)};
    for (std::string_view type : kTypes) {
      row.push_back(typeCell(proxy, type));
      auto it = proxy.types().find(std::string(type));
      if (it != proxy.types().end() && it->second.status() == "NACKED") {
        nacks +=
            proxy.node_id() + " " + std::string(type) + ": " + oneLine(it->second.error()) + "\n";
      }
    }
    row.push_back(proxy.admin().empty() ? "-" : proxy.admin());
    row.push_back(formatAge(proxy.connected_seconds()));
    table.addRow(std::move(row));
  }
  std::string out = table.render();
  if (!nacks.empty()) {
    out += "\n" + nacks;
  }
  return out;
}

int runStatus(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  auto parsed = parseCommandArgs("status", args, {"--control"});
  if (!parsed.isOk()) {
    return usageError(err, parsed.status().message());
  }
  if (!parsed.value().positionals.empty()) {
    return usageError(
        err, "status takes no arguments, got '" + parsed.value().positionals.front() + "'");
  }
  auto address = controlAddress(parsed.value());
  if (!address.isOk()) {
    return usageError(err, "status: " + address.status().message());
  }
  auto body = httpGet(address.value(), "/v1/proxies", "the control plane");
  if (!body.isOk()) {
    return commandFailure(err, "status", body.status().message());
  }
  auto proxies = parseProxies(body.value());
  if (!proxies.isOk()) {
    return commandFailure(err, "status", proxies.status().message());
  }
  std::fputs(renderStatus(proxies.value()).c_str(), out);
  return kExitOk;
}

}  // namespace remora::control::cli
