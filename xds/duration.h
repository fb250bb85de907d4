#pragma once
// Duration strings of the config model: "250ms", "5s", "1.5s", "2m", "1h", "100us", "1h30m".

#include <chrono>
#include <cstdint>
#include <string_view>

#include <google/protobuf/duration.pb.h>

#include "common/status.h"

namespace remora::xds {

// Parses a duration string: one or more <decimal><unit> components, units ns, us (or µs), ms,
// s, m, h, e.g. "250ms", "1.5s", "1h30m". The bare string "0" is the only value allowed without a
// unit. Negative values, signs, spaces, unknown units, precision finer than 1ns and values
// beyond ~292 years (int64 nanoseconds) are rejected with kInvalidArgument; the message quotes
// the input and says what is wrong, without any file position (callers add that).
// Never throws.
common::Result<std::chrono::nanoseconds> parseDuration(std::string_view text);

// Whole milliseconds of a protobuf Duration (finer parts dropped), or `if_zero` when it is zero,
// unset or negative: the config model's convention that a zero duration means "the default".
uint64_t durationMsOr(const google::protobuf::Duration& d, uint64_t if_zero) noexcept;

}  // namespace remora::xds
