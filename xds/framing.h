#pragma once
// The xDS transport: length-prefixed protobuf frames on an upgraded HTTP/1.1 connection.
//
// Handshake (one long-lived connection per sidecar):
//   sidecar -> control plane:
//     GET /v1/xds HTTP/1.1
//     Host: <control plane address>
//     Connection: Upgrade
//     Upgrade: remora-xds/1
//   control plane -> sidecar:
//     HTTP/1.1 101 Switching Protocols
//     Connection: Upgrade
//     Upgrade: remora-xds/1
// Any other answer (another status or Upgrade token) means the control plane does not speak this
// protocol: the sidecar closes and retries later. Bytes that follow the blank line ending the
// request (or the 101 head) in the same read are already frame bytes: feed them to a
// FrameDecoder (an HTTP/1 codec in tunnel mode hands them over as the stream's first data).
//
// After the handshake both directions carry frames, back to back:
//   +----------------------+--------+----------------------------------+
//   | L: uint32 big-endian | kind   | L-1 bytes: serialized protobuf   |
//   +----------------------+--------+----------------------------------+
// L counts the kind byte and the payload (never the 4 length bytes), so L >= 1; L = 1 is a
// message whose serialization is empty (e.g. Ping{id: 0}). L above the receiver's limit
// (kDefaultMaxFrameBytes unless configured), L = 0 and an unknown kind are protocol errors:
// the receiver closes the connection. Kinds and their payloads:
//   1 DiscoveryRequest        sidecar -> control plane
//   2 DiscoveryResponse       control plane -> sidecar
//   3 DeltaDiscoveryResponse  control plane -> sidecar
//   4 Ping                    either way; answered by a Pong with the same id
//   5 Pong                    either way
// This file only encodes and decodes frames; who sends what and when is up to the endpoints.

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::xds {

// The request path and Upgrade token of the handshake above.
inline constexpr std::string_view kXdsPath = "/v1/xds";
inline constexpr std::string_view kXdsUpgradeToken = "remora-xds/1";

enum class FrameKind : uint8_t {
  kDiscoveryRequest = 1,
  kDiscoveryResponse = 2,
  kDeltaDiscoveryResponse = 3,
  kPing = 4,
  kPong = 5,
};

// True for the five kinds above; any other byte is a protocol error.
constexpr bool isKnownFrameKind(uint8_t kind) noexcept {
  return kind >= 1 && kind <= 5;
}

// "DiscoveryRequest", "Ping", ... for logs; "unknown" for anything else.
std::string_view frameKindName(FrameKind kind) noexcept;

// The 4 length bytes before each frame's kind byte.
inline constexpr size_t kFrameLengthBytes = 4;
// Default limit on L (kind byte + payload): 16 MiB.
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u * 1024 * 1024;

// Serializes `message` as one frame of `kind` and appends it to `out`. Fails with
// kInvalidArgument, leaving `out` unchanged, when `kind` is not a known kind or the frame would
// be longer than `max_frame_bytes` (L as above), which the peer would reject anyway.
common::Status appendFrame(FrameKind kind, const google::protobuf::MessageLite& message,
                           std::string& out, uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// Appends one frame of `kind` whose payload is the concatenation of `parts`, bytes already
// serialized (e.g. a response body shared by many connections plus the fields of one: protobuf
// merges concatenated serializations of the same message). Same checks as appendFrame.
common::Status appendFrameParts(FrameKind kind, std::initializer_list<std::string_view> parts,
                                std::string& out, uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// The same frame as a string of its own.
common::Result<std::string> encodeFrame(FrameKind kind,
                                        const google::protobuf::MessageLite& message,
                                        uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// One decoded frame. `payload` points into the decoder's buffer: it stays valid until the next
// feed() on that decoder (further next() calls do not move it) or the decoder's destruction.
// Parse it with e.g. `msg.ParseFromArray(payload.data(), payload.size())`; a payload that does
// not parse as its kind's message is the caller's protocol error to report.
struct Frame {
  FrameKind kind;
  std::string_view payload;
};

// Incremental decoder of one direction of a connection. Bytes may be fed split at any offset;
// the frames are the same as for the whole stream fed at once. Usage after every read:
//   decoder.feed(bytes);
//   for (;;) {
//     auto r = decoder.next();
//     if (!r.isOk()) { close the connection (r.status() says why) }
//     if (!r.value()) break;  // the rest of a frame has not arrived yet
//     handle(*r.value());
//   }
// Memory: the buffer holds at most the frames not yet taken by next() plus the bytes of one
// partial frame; a frame's length is checked as soon as its 4 length bytes (and its kind as soon
// as its kind byte) arrive, before any of its payload is buffered beyond the current feed().
// Once a large frame has been taken and nothing is pending, its memory is given back.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_bytes = kDefaultMaxFrameBytes) noexcept
      : max_frame_bytes_(max_frame_bytes) {}

  // Appends `bytes` to the buffer. Invalidates the payload views of frames returned before.
  // After an error the bytes are dropped.
  void feed(std::string_view bytes);

  // The next complete frame, std::nullopt when more bytes are needed, or a kInvalidArgument
  // Status when the stream is broken: "frame length 0", "frame of N bytes is over the limit of
  // M", "unknown frame kind K". After an error the decoder is unusable: every later next()
  // returns the same Status.
  common::Result<std::optional<Frame>> next();

  // Bytes fed but not yet returned as frames (a partial frame, or frames not taken yet).
  size_t pendingBytes() const noexcept { return buffer_.size() - consumed_; }

  // True once next() has returned an error.
  bool failed() const noexcept { return !error_.isOk(); }

  // The limit on L for frames not yet started. A receiver keeps it small until the peer has
  // identified itself (the control plane: until the first DiscoveryRequest with a node), then
  // raises it, so that an anonymous peer can never make it buffer a large frame.
  void setMaxFrameBytes(uint32_t max_frame_bytes) noexcept { max_frame_bytes_ = max_frame_bytes; }
  uint32_t maxFrameBytes() const noexcept { return max_frame_bytes_; }
  // Bytes the buffer holds allocated (for tests of the memory rule above).
  size_t bufferCapacity() const noexcept { return buffer_.capacity(); }

 private:
  uint32_t max_frame_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned as frames
  common::Status error_;
};

}  // namespace remora::xds
