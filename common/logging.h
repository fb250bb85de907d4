#pragma once
// The binaries' logging: spdlog to stderr, UTC timestamps, one line per event.

#include <string_view>

namespace remora::common {

// Makes a stderr logger named `name` the default one, at `level` (trace|debug|info|warn|error).
void initStderrLogging(std::string_view name, std::string_view level);

}  // namespace remora::common
