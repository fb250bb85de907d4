#pragma once
// `remoractl stat [--control ADDR] [--window 2s]`: per destination Service, the request rate,
// success rate and p50/p99 latency of the mesh's traffic, from two GET /v1/stats samples taken
// `--window` apart (the control plane sums the connected sidecars' outbound counters).

#include <cstdio>
#include <string>
#include <vector>

#include "control/cli/stat_math.h"
#include "remora/control/v1/api.pb.h"

namespace remora::control::cli {

// The stat table, one row per window (in the given order):
//   SERVICE (service.namespace), RPS (1 decimal), SUCCESS (percent, 1 decimal; "-" without
//   requests), P50, P99 (formatMs; "-" without observations), REQUESTS (during the window),
//   and, when some window has gRPC calls, GRPC ERRORS: the three grpc-statuses with the most
//   failed calls as "14 UNAVAILABLE: 3, 5 NOT_FOUND: 1" (", +N more" when more statuses
//   failed; "-" when none did or the Service had no gRPC calls).
// Then an empty line and "window 2.0s, N proxies scraped" (the window in ms below a second,
// ", F failed" added when some proxies could not be scraped). No windows: "no services with
// traffic" replaces the table.
std::string renderStat(const std::vector<ServiceWindow>& windows, double window_seconds,
                       const v1::StatsResponse& latest);

// Runs the command with the arguments that follow "stat": GET /v1/stats, wait --window
// (default 2s; a duration such as 500ms, 2s, 1m), GET again, print renderStat on `out`. Returns
// 0; 1 with one "remoractl: stat: ..." line on `err` when the control plane cannot be reached or
// answers badly; 2 on bad usage.
int runStat(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
