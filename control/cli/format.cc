#include "control/cli/format.h"

#include <cstdio>
#include <iterator>

namespace remora::control::cli {

namespace {

std::string printf1(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

}  // namespace

std::string formatAge(uint64_t seconds) {
  if (seconds < 60) {
    return std::to_string(seconds) + "s";
  }
  if (seconds < 3600) {
    return std::to_string(seconds / 60) + "m";
  }
  if (seconds < 86400) {
    return std::to_string(seconds / 3600) + "h";
  }
  return std::to_string(seconds / 86400) + "d";
}

std::string shortVersion(std::string_view version) {
  return std::string(version.substr(0, 8));
}

std::string formatPercent(std::optional<double> share) {
  if (!share) {
    return "-";
  }
  return printf1("%.1f%%", *share * 100.0);
}

std::string formatMs(std::optional<double> ms) {
  if (!ms) {
    return "-";
  }
  if (*ms < 1.0) {
    return printf1("%.2fms", *ms);
  }
  if (*ms < 100.0) {
    return printf1("%.1fms", *ms);
  }
  return printf1("%.0fms", *ms);
}

std::string_view grpcStatusName(uint32_t code) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  return code < std::size(kNames) ? kNames[code] : std::string_view();
}

std::string formatRate(double per_second) {
  return printf1("%.1f", per_second);
}

}  // namespace remora::control::cli
