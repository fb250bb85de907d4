#pragma once
// gRPC over HTTP/2 wire rules that sit above the HTTP/2 codec: the 5-byte length-prefixed
// message framing of request and response bodies, the `grpc-timeout` header, and the
// `grpc-status` / `grpc-message` fields that end a call (in trailers, or in the only HEADERS
// frame of a trailers-only response).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/header_map.h"

namespace remora::echo {

// The gRPC status codes remora-echo uses by name (the others pass through as numbers).
enum class GrpcStatus : uint32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};
// The highest code gRPC defines (16 UNAUTHENTICATED).
inline constexpr uint32_t kMaxGrpcStatus = 16;

// The largest message gRPC implementations accept by default.
inline constexpr size_t kDefaultMaxMessageBytes = 4 * 1024 * 1024;

// Splits a body into messages: each is 1 flag byte (bit 0: compressed), a 4-byte big-endian
// length and the payload. Memory: at most one message (up to the limit) is buffered; a prefix
// announcing a larger one is refused before its payload arrives.
class MessageReader {
 public:
  enum class Error : uint8_t {
    kNone,
    kCompressed,  // the compressed flag is set (remora-echo does not negotiate compression)
    kTooLarge,    // the prefix announces more than the limit
  };

  explicit MessageReader(size_t max_message_bytes = kDefaultMaxMessageBytes) noexcept
      : max_(max_message_bytes) {}

  // Feeds body bytes; `on_message` gets each complete payload (valid during the call only) and
  // returns false to stop reading. After an error, every further feed returns it again and
  // nothing is buffered.
  Error feed(std::string_view data, const std::function<bool(std::string_view)>& on_message);
  // Bytes of an incomplete message are buffered (at the end of the body: a truncated message).
  bool midMessage() const noexcept { return !buf_.empty(); }
  Error error() const noexcept { return error_; }
  // The length the last refused prefix announced (for kTooLarge messages).
  uint64_t refusedLength() const noexcept { return refused_length_; }

 private:
  size_t max_;
  std::string buf_;
  Error error_ = Error::kNone;
  uint64_t refused_length_ = 0;
};

// Appends one uncompressed message (prefix and payload) to `out`.
void appendMessage(std::string_view payload, std::string& out);

// `grpc-timeout`: 1 to 8 digits and a unit (H, M, S, m, u, n). Returns the timeout in
// milliseconds, rounded up (so "1n" is 1 ms, never 0); nullopt when malformed.
std::optional<uint64_t> parseGrpcTimeoutMs(std::string_view value) noexcept;

// `grpc-message` is percent-encoded (RFC 3986 style): bytes outside printable ASCII, and '%'.
std::string percentEncodeGrpcMessage(std::string_view message);

// The fields that end a call: `grpc-status` and, when `message` is not empty, `grpc-message`.
common::HeaderMap grpcStatusFields(uint32_t status, std::string_view message);

}  // namespace remora::echo
