#pragma once
// Base64 (RFC 4648) for the few places that meet it: protobuf `bytes` in YAML, kubeconfig
// `*-data` fields, AdmissionReview patches.

#include <string>
#include <string_view>

namespace remora::common {

// Standard alphabet with padding.
std::string encodeBase64(std::string_view in);

// Standard or URL-safe alphabet, padding optional; ASCII whitespace (line breaks in PEM-like
// values) is skipped. Appends to `out`; false (with `out` partly filled) on any other character
// or an impossible length.
bool decodeBase64(std::string_view in, std::string* out);

}  // namespace remora::common
