#pragma once
// The app's own probes that injection rewrote to go through the sidecar (docs/injection.md
// "Probes"): kubelet asks the health listener for GET /app-health/<container>/<kind>, and the
// sidecar runs the original probe against the app on 127.0.0.1. The sidecar runs as the proxy
// uid, which the interception rules exempt, so its connection reaches the app directly.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/status.h"

namespace remora::sidecar {

inline constexpr std::string_view kAppHealthPrefix = "/app-health/";

struct AppProbe {
  bool http = true;  // httpGet; false: tcpSocket (passes when the connect succeeds)
  uint16_t port = 0;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t timeout_ms = 1000;  // timeoutSeconds, default 1 s as in Kubernetes

  bool operator==(const AppProbe&) const = default;
};

using AppProbes = std::map<std::string, AppProbe, std::less<>>;

// Parses REMORA_APP_PROBES: a JSON object whose keys are /app-health/... paths and whose values
// are {"httpGet":{"path":P,"port":N,"httpHeaders":[{"name":..,"value":..}]},
// "timeoutSeconds":T} or {"tcpSocket":{"port":N},"timeoutSeconds":T}. Anything else (bad JSON,
// a key outside /app-health/, no handler, a port outside 1..65535, a path not starting with /,
// a header name or value with CR/LF, a timeout outside 1..3600 s) is an error that names the
// entry at fault.
common::Result<AppProbes> parseAppProbes(std::string_view json);

// Answers GET `path` (under kAppHealthPrefix) on the loop's thread without blocking it: 404 for
// a path not in `probes`; else runs the probe against 127.0.0.1:<port> within its timeout and
// answers 200 when the app answered 200-399 (tcp: connected), else 503 with a one-line reason.
// Memory stays bounded whatever the app sends (its body is read and dropped, its header section
// is capped by the parser's limits).
void serveAppProbe(common::EventLoop& loop, const AppProbes& probes, std::string_view path,
                   common::Responder responder);

}  // namespace remora::sidecar
