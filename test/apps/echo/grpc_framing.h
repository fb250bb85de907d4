#pragma once
// The 5-byte length-prefixed message framing of gRPC request and response bodies. (Status
// codes, `grpc-timeout` and the fields that end a call: common/grpc/grpc_status.h.)

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/header_map.h"

namespace remora::echo {

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

}  // namespace remora::echo
