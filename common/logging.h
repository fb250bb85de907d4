#pragma once
// The binaries' logging: spdlog to stderr, UTC timestamps, one line per event.

#include <cstddef>
#include <string>
#include <string_view>

namespace remora::common {

// Makes a stderr logger named `name` the default one, at `level` (trace|debug|info|warn|error).
void initStderrLogging(std::string_view name, std::string_view level);

// Default cap of logValue(): enough for any sane node id, name, address or error text.
inline constexpr size_t kLogValueMaxBytes = 256;

// A peer-controlled value made safe for one log line: at most `max_bytes` bytes of `value` are
// kept (cut before a UTF-8 sequence that would straddle the cap), followed by "...(+K bytes)"
// when K bytes were cut off. Control bytes (0x00-0x1f, 0x7f), backslashes and bytes that are
// not part of valid UTF-8 are written as \n, \r, \t, \\ or \xNN, so that a value can neither
// break a line nor forge another record. The result is at most 4 * max_bytes + 32 bytes long.
// Use it for every value a peer controls (node ids, names, addresses, NACK texts, ...).
std::string logValue(std::string_view value, size_t max_bytes = kLogValueMaxBytes);

}  // namespace remora::common
