#pragma once
// Hand-made HTTP/2 frames for the codec tests: builders for what a peer sends (frame headers,
// HPACK literals) and a parser for what the codec wrote. Deliberately independent of nghttp2.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remora::http2::testing {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};
enum Flags : uint8_t { kEndStream = 1, kAck = 1, kEndHeaders = 4 };

inline void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  size_t n = payload.size();
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put32(out, stream);
  out.append(payload);
  return out;
}

// A frame header announcing `length` bytes (for oversized frames: no payload follows).
inline std::string frameHeader(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream) {
  std::string out = frame(type, flags, stream, {});
  out[0] = static_cast<char>(length >> 16);
  out[1] = static_cast<char>(length >> 8);
  out[2] = static_cast<char>(length);
  return out;
}

// HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the pattern bits.
inline void hpackInt(std::string& out, uint8_t first, int prefix_bits, size_t v) {
  size_t max = (1u << prefix_bits) - 1;
  if (v < max) {
    out.push_back(static_cast<char>(first | v));
    return;
  }
  out.push_back(static_cast<char>(first | max));
  v -= max;
  while (v >= 128) {
    out.push_back(static_cast<char>((v % 128) + 128));
    v /= 128;
  }
  out.push_back(static_cast<char>(v));
}

// Literal field without indexing, new name (RFC 7541 6.2.2), no Huffman.
inline std::string literal(std::string_view name, std::string_view value) {
  std::string out;
  out.push_back(0);
  hpackInt(out, 0, 7, name.size());
  out.append(name);
  hpackInt(out, 0, 7, value.size());
  out.append(value);
  return out;
}

// Literal with incremental indexing (enters the dynamic table), new name.
inline std::string indexedLiteral(std::string_view name, std::string_view value) {
  std::string out = literal(name, value);
  out[0] = 0x40;
  return out;
}

inline std::string getRequestBlock(std::string_view path = "/") {
  return literal(":method", "GET") + literal(":scheme", "http") + literal(":path", path) +
         literal(":authority", "example.com");
}

inline std::string settingsFrame() {
  return frame(kSettings, 0, 0, {});
}
inline std::string settingsAck() {
  return frame(kSettings, kAck, 0, {});
}
inline std::string rstStream(uint32_t stream, uint32_t code) {
  std::string p;
  put32(p, code);
  return frame(kRstStream, 0, stream, p);
}
inline std::string windowUpdate(uint32_t stream, uint32_t increment) {
  std::string p;
  put32(p, increment);
  return frame(kWindowUpdate, 0, stream, p);
}
inline std::string ping(bool ack = false) {
  return frame(kPing, ack ? kAck : 0, 0, "12345678");
}
inline std::string goAway(uint32_t last_stream, uint32_t code) {
  std::string p;
  put32(p, last_stream);
  put32(p, code);
  return frame(kGoAway, 0, 0, p);
}

struct Frame {
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;
  std::string payload;
  // RST_STREAM and GOAWAY error codes.
  uint32_t errorCode() const {
    size_t off = type == kGoAway ? 4 : 0;
    if (payload.size() < off + 4) {
      return 0xffffffff;
    }
    auto b = [&](size_t i) {
      return static_cast<uint32_t>(static_cast<uint8_t>(payload[off + i]));
    };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  }
};

// Splits `bytes` into frames; leaves an incomplete tail in `bytes`.
inline std::vector<Frame> parseFrames(std::string& bytes) {
  std::vector<Frame> out;
  size_t pos = 0;
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  while (bytes.size() - pos >= 9) {
    size_t len =
        static_cast<size_t>(u8(pos)) << 16 | static_cast<size_t>(u8(pos + 1)) << 8 | u8(pos + 2);
    if (bytes.size() - pos < 9 + len) {
      break;
    }
    Frame f;
    f.type = u8(pos + 3);
    f.flags = u8(pos + 4);
    f.stream =
        (static_cast<uint32_t>(u8(pos + 5)) << 24 | static_cast<uint32_t>(u8(pos + 6)) << 16 |
         static_cast<uint32_t>(u8(pos + 7)) << 8 | u8(pos + 8)) &
        0x7fffffff;
    f.payload = bytes.substr(pos + 9, len);
    out.push_back(std::move(f));
    pos += 9 + len;
  }
  bytes.erase(0, pos);
  return out;
}

}  // namespace remora::http2::testing
