#pragma once
// The control plane's HTTP API (docs/control-plane.md "Control plane API"):
//   GET  /healthz, /ready
//   GET  /v1/proxies, /v1/services, /v1/status, /v1/stats   (JSON, remora.control.v1 messages)
//   GET  /metrics                                            (Prometheus text)
//   GET  /                                                   (the dashboard page)
//   POST /v1/registry/register, /v1/registry/heartbeat, /v1/registry/deregister
// Bad requests get 4xx with a one-line reason (the registry endpoints: a JSON
// {"error": "..."}); a wrong method 405 with Allow. Writes need the bearer token as
// control/api_auth.h says. Every refusal of a request is counted in
// remora_control_api_refused_total{reason} (unauthorized, forbidden, address, invalid,
// too_large, bad_request, timeout).

#include "common/http_server.h"

namespace remora::control {

class ControlPlane;

void handleApiRequest(ControlPlane& cp, common::HttpRequest& req, common::Responder r);

// The API server's limits: bodies of at most kApiMaxBodyBytes (a registration is far smaller),
// a request whole within 10 s, at most 1024 connections.
inline constexpr size_t kApiMaxBodyBytes = 64 * 1024;
common::HttpServer::Options apiServerOptions();
// Counts a request the API server refused before the handler (HttpServer::onRefused).
void countApiRefusal(ControlPlane& cp, int status);
// Once serving: registers the refusal counters (so they show at 0) and logs who may write (a
// warning when writes are disabled).
void announceApi(ControlPlane& cp);

}  // namespace remora::control
