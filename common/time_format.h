#pragma once
// Wall-clock times for humans and JSON: RFC 3339 in UTC, e.g. "2026-11-23T00:30:00Z".

#include <ctime>
#include <string>

namespace remora::common {

// `t` as RFC 3339 UTC with second precision.
std::string rfc3339Utc(std::time_t t);

// Now, the same way.
inline std::string nowRfc3339Utc() { return rfc3339Utc(std::time(nullptr)); }

}  // namespace remora::common
