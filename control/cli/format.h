#pragma once
// Short human-readable renderings of numbers for remoractl's tables. Pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace remora::control::cli {

// An age in the largest whole unit, like kubectl's AGE: "0s".."59s", "1m".."59m", "1h".."23h",
// then days "1d", "12d", ... (rounded down).
std::string formatAge(uint64_t seconds);

// The first 8 characters of a version (versions are content hashes); shorter ones whole;
// "" stays "".
std::string shortVersion(std::string_view version);

// A share in 0..1 as a percentage with one decimal: 0.9975 -> "99.8%", 1 -> "100.0%";
// nullopt -> "-".
std::string formatPercent(std::optional<double> share);

// Milliseconds: "0.25ms" below 1 ms, "12.5ms" below 100 ms, "250ms" above; nullopt -> "-".
std::string formatMs(std::optional<double> ms);

// A rate with one decimal: 12.345 -> "12.3".
std::string formatRate(double per_second);

// The name gRPC gives a status code: 0 -> "OK", 14 -> "UNAVAILABLE", 16 -> "UNAUTHENTICATED";
// codes above 16 -> "" (gRPC defines none).
std::string_view grpcStatusName(uint32_t code);

}  // namespace remora::control::cli
