#pragma once
// The admin API of the sidecar (docs/operations.md "Admin API"): served on the main thread.
//   GET  /ready /healthz /server_info /stats /stats/prometheus /clusters /listeners
//        /config_dump /requests[?limit=N] /logging
//   POST /logging?level=L /drain /quitquitquit
// Mutations are POST only (405 otherwise). The read-only Prometheus port serves only
// /stats/prometheus; the kubelet port only /healthz/ready and the app's probes
// GET /app-health/... (app_probes.h).

#include "common/http_server.h"

namespace remora::sidecar {

class Server;

enum class AdminScope : uint8_t { kFull, kPrometheusOnly, kHealthOnly };

// Handles one admin request against the server's current state.
void handleAdminRequest(Server& server, AdminScope scope, common::HttpRequest& request,
                        common::Responder responder);

}  // namespace remora::sidecar
