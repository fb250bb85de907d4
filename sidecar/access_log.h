#pragma once
// The access log: one line per request on stdout (spdlog), switchable off by config.
//   [2026-11-22T17:00:00.123Z] "GET /path HTTP/1.1" 200 - 0 42 1.204ms 0.950ms
//     "orders:8080" route=outbound/orders cluster=orders upstream=127.0.0.1:9001 attempts=1
//     id="6f1c..." listener=outbound
// The field after the status is the x-remora-reason ("-" when the upstream answered).
//
// One line is always one record, and a peer cannot forge fields: what the client sent (method,
// path, authority, request id) is written inside double quotes, and every byte that could end the
// quotes, the line or the record, or mislead a terminal is escaped: `"` as \", `\` as \\, control
// bytes (00-1F, 7F), C1 controls (U+0080-U+009F), U+2028/U+2029 and ill-formed UTF-8 as \xHH per
// byte (as nginx's default log escaping does). Names from the config (route, cluster, listener)
// get the same escaping without quotes. Well-formed UTF-8 text passes unchanged.

#include <string>
#include <string_view>

#include "filters/api/stream_info.h"

namespace remora::sidecar {

// Creates the logger (idempotent). Call once at startup on the main thread.
void initAccessLog();
void writeAccessLog(const filters::StreamInfo& info, bool http10);

// The line writeAccessLog writes (without the timestamp), appended to `out`.
void formatAccessLog(const filters::StreamInfo& info, bool http10, std::string& out);
// Appends `s` to `out` with the escaping described above (no quotes added).
void appendLogEscaped(std::string& out, std::string_view s);

}  // namespace remora::sidecar
