#pragma once
// The parts of gRPC's HTTP/2 mapping (grpc/doc/PROTOCOL-HTTP2.md) that a proxy and a test
// server need without parsing messages: recognising a gRPC request, the `grpc-timeout`
// header, the status codes and how an HTTP status the proxy answers with maps onto one, and
// the `grpc-status` / `grpc-message` fields that end a call (in trailers, or in the only
// HEADERS frame of a trailers-only response).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/header_map.h"

namespace remora::grpc {

// The status codes gRPC defines (0..16).
enum class Status : uint32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};
inline constexpr uint32_t kMaxStatus = 16;

// A gRPC request: its content-type is `application/grpc` or `application/grpc+<codec>` /
// `application/grpc;...` (any case).
bool isGrpcContentType(std::string_view content_type) noexcept;

// `grpc-timeout`: 1 to 8 digits and a unit (H, M, S, m, u, n). The timeout in milliseconds,
// rounded up (so "1n" is 1 ms, never 0); nullopt when malformed.
std::optional<uint64_t> parseTimeoutMs(std::string_view value) noexcept;

// The value of a `grpc-status` field (decimal digits; codes above kMaxStatus are kept as
// they are); nullopt when it is not a number.
std::optional<uint32_t> parseStatus(std::string_view value) noexcept;

// The status a proxy's own HTTP answer means to a gRPC client: 503 -> UNAVAILABLE, 504 ->
// DEADLINE_EXCEEDED, 429 -> RESOURCE_EXHAUSTED, 404 -> UNIMPLEMENTED, 403 -> PERMISSION_DENIED,
// 401 -> UNAUTHENTICATED, 400 -> INTERNAL, 502 -> UNAVAILABLE, anything else UNKNOWN.
Status statusForHttp(uint16_t http_status) noexcept;

// `grpc-message` is percent-encoded: bytes outside printable ASCII, and '%'.
std::string percentEncodeMessage(std::string_view message);

// Adds `grpc-status` and, when `message` is not empty, `grpc-message` to `fields`.
void addStatusFields(common::HeaderMap& fields, uint32_t status, std::string_view message);

}  // namespace remora::grpc
