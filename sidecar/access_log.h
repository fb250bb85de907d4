#pragma once
// The access log: one line per request on stdout (spdlog), switchable off by config.
//   [2026-11-22T17:00:00.123Z] "GET /path HTTP/1.1" 200 - 0 42 1.204ms 0.950ms
//     "orders:8080" route=outbound/orders cluster=orders upstream=127.0.0.1:9001 attempts=1
//     id=6f1c... listener=outbound
// The field after the status is the x-remora-reason ("-" when the upstream answered).

#include "filters/api/stream_info.h"

namespace remora::sidecar {

// Creates the logger (idempotent). Call once at startup on the main thread.
void initAccessLog();
void writeAccessLog(const filters::StreamInfo& info, bool http10);

}  // namespace remora::sidecar
