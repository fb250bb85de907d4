#pragma once
// `remoractl status [--control ADDR]`: the sidecars connected to the control plane and how far
// each resource type is in sync, from GET /v1/proxies (like `istioctl proxy-status`).

#include <cstdio>
#include <string>
#include <vector>

#include "remora/control/v1/api.pb.h"

namespace remora::control::cli {

// The status table of `response`, one row per proxy in the response's order:
//   NAME (node_id), SERVICE (service.namespace), CLUSTERS, ENDPOINTS, ROUTES, LISTENERS, ADMIN,
//   AGE (formatAge of connected_seconds).
// A type's cell is its status and the first 8 characters of the version the proxy acked (of the
// version sent when nothing was acked yet), e.g. "SYNCED 3f2a9c01"; "NOT SENT" when the control
// plane has sent nothing of that type. Empty SERVICE/ADMIN cells show "-".
// Below the table, after an empty line, one "NODE TYPE: error" line for every NACKED type
// (newlines of the error shown as spaces). No proxies: "no proxies connected\n".
std::string renderStatus(const v1::ProxiesResponse& response);

// Runs the command with the arguments that follow "status". Prints the table on `out`; returns
// 0, or 1 with one "remoractl: status: ..." line on `err` when the control plane cannot be
// reached or answers badly, or 2 on bad usage.
int runStatus(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
