#pragma once
// UTF-8 validation for text that leaves the process (JSON, log lines) whatever the peers sent.
// Well-formed means Unicode's Table 3-7: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF, no truncated sequence.

#include <cstddef>
#include <string>
#include <string_view>

namespace remora::common {

// The length (1..4) of the well-formed UTF-8 sequence at the start of `s` (not empty), or 0 when
// it is ill-formed; then `*subpart` is the length (1..3) of its maximal ill-formed subpart, which
// a decoder replaces with one U+FFFD (Unicode "substitution of maximal subparts", as WHATWG's
// decoder does) before going on with the next byte.
size_t utf8Sequence(std::string_view s, size_t* subpart) noexcept;

bool isValidUtf8(std::string_view s) noexcept;

// The length of the leading run of `s` made of printable ASCII (20-7E) other than `"` and `\`:
// what JSON strings and quoted log fields carry as it is.
size_t plainAsciiRun(std::string_view s) noexcept;

// `s` with every maximal ill-formed subpart replaced by U+FFFD (EF BF BD); valid text unchanged.
std::string toValidUtf8(std::string_view s);

}  // namespace remora::common
