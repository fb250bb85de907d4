#include "xds/duration.h"

#include <cstdint>
#include <limits>
#include <string>

namespace remora::xds {
namespace {

// Longest fractional part we accept; enough for nanoseconds of hours and keeps the arithmetic
// below inside 128 bits.
constexpr size_t kMaxFractionDigits = 18;
constexpr size_t kMaxIntegerDigits = 20;

struct Unit {
  std::string_view name;
  int64_t nanos;
};

constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // "µs" (U+00B5 MICRO SIGN)
    {"\xCE\xBCs", 1000},  // "μs" (U+03BC GREEK SMALL LETTER MU)
    {"ms", 1000 * 1000},
    {"s", 1000 * 1000 * 1000},
    {"m", int64_t{60} * 1000 * 1000 * 1000},
    {"h", int64_t{3600} * 1000 * 1000 * 1000},
};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

common::Status bad(std::string_view text, std::string_view why) {
  std::string m = "invalid duration \"";
  m.append(text);
  m += "\": ";
  m.append(why);
  return common::Status::invalid(std::move(m));
}

}  // namespace

common::Result<std::chrono::nanoseconds> parseDuration(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty (write e.g. \"5s\")");
  }
  if (text == "0") {
    return std::chrono::nanoseconds{0};
  }
  if (text.front() == '-') {
    return bad(text, "negative durations are not allowed");
  }
  using u128 = unsigned __int128;
  const u128 max_nanos = static_cast<u128>(std::numeric_limits<int64_t>::max());
  u128 total = 0;
  size_t i = 0;
  while (i < text.size()) {
    u128 whole = 0;
    size_t whole_digits = 0;
    while (i < text.size() && isDigit(text[i])) {
      if (++whole_digits > kMaxIntegerDigits) {
        return bad(text, "too large");
      }
      whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    u128 frac = 0;
    u128 frac_scale = 1;
    size_t frac_digits = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && isDigit(text[i])) {
        if (++frac_digits > kMaxFractionDigits) {
          return bad(text, "too many fractional digits");
        }
        frac = frac * 10 + static_cast<unsigned>(text[i] - '0');
        frac_scale *= 10;
        ++i;
      }
      if (frac_digits == 0) {
        return bad(text, "expected digits after '.'");
      }
    }
    if (whole_digits == 0 && frac_digits == 0) {
      return bad(text, "expected a number followed by a unit (ns, us, ms, s, m, h)");
    }
    size_t unit_start = i;
    while (i < text.size() && !isDigit(text[i]) && text[i] != '.') {
      ++i;
    }
    std::string_view unit_name = text.substr(unit_start, i - unit_start);
    if (unit_name.empty()) {
      return bad(text, "missing unit (ns, us, ms, s, m, h), e.g. \"5s\"");
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) {
        unit = &u;
      }
    }
    if (unit == nullptr) {
      return bad(text,
                 "unknown unit \"" + std::string(unit_name) + "\" (use ns, us, ms, s, m or h)");
    }
    const u128 scale = static_cast<u128>(unit->nanos);
    if (frac != 0 && (frac * scale) % frac_scale != 0) {
      return bad(text, "more precise than 1ns");
    }
    total += whole * scale + frac * scale / frac_scale;
    if (total > max_nanos) {
      return bad(text, "too large (the maximum is about 292 years)");
    }
  }
  return std::chrono::nanoseconds{static_cast<int64_t>(total)};
}

uint64_t durationMsOr(const google::protobuf::Duration& d, uint64_t if_zero) noexcept {
  if (d.seconds() < 0 || d.nanos() < 0) {
    return if_zero;
  }
  uint64_t ms =
      static_cast<uint64_t>(d.seconds()) * 1000 + static_cast<uint64_t>(d.nanos()) / 1000000;
  return ms == 0 ? if_zero : ms;
}

}  // namespace remora::xds
