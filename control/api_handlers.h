#pragma once
// The control plane's HTTP API (SPEC.md "Control plane API", docs/control-plane.md):
//   GET  /healthz, /ready
//   GET  /v1/proxies, /v1/services, /v1/status, /v1/stats   (JSON, remora.control.v1 messages)
//   GET  /metrics                                            (Prometheus text)
//   GET  /                                                   (the dashboard page)
//   POST /v1/registry/register, /v1/registry/heartbeat, /v1/registry/deregister
// Bad requests get 4xx with a one-line reason; a wrong method 405 with Allow.

#include "common/http_server.h"

namespace remora::control {

class ControlPlane;

void handleApiRequest(ControlPlane& cp, common::HttpRequest& req, common::Responder r);

}  // namespace remora::control
