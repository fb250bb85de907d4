#include "xds/framing.h"

#include <limits>

namespace remora::xds {

std::string_view frameKindName(FrameKind kind) noexcept {
  switch (kind) {
    case FrameKind::kDiscoveryRequest:
      return "DiscoveryRequest";
    case FrameKind::kDiscoveryResponse:
      return "DiscoveryResponse";
    case FrameKind::kDeltaDiscoveryResponse:
      return "DeltaDiscoveryResponse";
    case FrameKind::kPing:
      return "Ping";
    case FrameKind::kPong:
      return "Pong";
  }
  return "unknown";
}

common::Status appendFrame(FrameKind kind, const google::protobuf::MessageLite& message,
                           std::string& out, uint32_t max_frame_bytes) {
  if (!isKnownFrameKind(static_cast<uint8_t>(kind))) {
    return common::Status::invalid("unknown frame kind " +
                                   std::to_string(static_cast<unsigned>(kind)));
  }
  const size_t payload = message.ByteSizeLong();
  // Checked before the addition so a >4 GiB message cannot wrap around the limit.
  if (payload >= max_frame_bytes || payload >= std::numeric_limits<int>::max()) {
    return common::Status::invalid("frame of " + std::to_string(payload + 1) +
                                   " bytes is over the limit of " +
                                   std::to_string(max_frame_bytes));
  }
  const auto length = static_cast<uint32_t>(payload + 1);
  const size_t start = out.size();
  out.resize(start + kFrameLengthBytes + length);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + start);
  p[0] = static_cast<uint8_t>(length >> 24);
  p[1] = static_cast<uint8_t>(length >> 16);
  p[2] = static_cast<uint8_t>(length >> 8);
  p[3] = static_cast<uint8_t>(length);
  p[4] = static_cast<uint8_t>(kind);
  // ByteSizeLong() above cached the sizes; writing straight into `out` avoids a second copy.
  message.SerializeWithCachedSizesToArray(p + kFrameLengthBytes + 1);
  return common::Status::ok();
}

common::Status appendFrameParts(FrameKind kind, std::initializer_list<std::string_view> parts,
                                std::string& out, uint32_t max_frame_bytes) {
  if (!isKnownFrameKind(static_cast<uint8_t>(kind))) {
    return common::Status::invalid("unknown frame kind " +
                                   std::to_string(static_cast<unsigned>(kind)));
  }
  size_t payload = 0;
  for (std::string_view part : parts) {
    payload += part.size();
  }
  if (payload >= max_frame_bytes) {
    return common::Status::invalid("frame of " + std::to_string(payload + 1) +
                                   " bytes is over the limit of " +
                                   std::to_string(max_frame_bytes));
  }
  const auto length = static_cast<uint32_t>(payload + 1);
  const char head[kFrameLengthBytes + 1] = {
      static_cast<char>(length >> 24), static_cast<char>(length >> 16),
      static_cast<char>(length >> 8), static_cast<char>(length), static_cast<char>(kind)};
  out.reserve(out.size() + sizeof(head) + payload);
  out.append(head, sizeof(head));
  for (std::string_view part : parts) {
    out.append(part);
  }
  return common::Status::ok();
}

common::Result<std::string> encodeFrame(FrameKind kind,
                                        const google::protobuf::MessageLite& message,
                                        uint32_t max_frame_bytes) {
  std::string out;
  common::Status st = appendFrame(kind, message, out, max_frame_bytes);
  if (!st.isOk()) {
    return st;
  }
  return out;
}

void FrameDecoder::feed(std::string_view bytes) {
  if (failed()) {
    return;
  }
  // Dropping what was returned keeps the buffer at one partial frame; this is also why earlier
  // payload views die here and not in next().
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  // A connection idles between frames: keep no large buffer for it.
  constexpr size_t kKeptCapacity = 64 * 1024;
  if (buffer_.empty() && buffer_.capacity() > kKeptCapacity) {
    std::string().swap(buffer_);
  }
  buffer_.append(bytes);
}

common::Result<std::optional<Frame>> FrameDecoder::next() {
  if (failed()) {
    return error_;
  }
  const size_t available = buffer_.size() - consumed_;
  if (available < kFrameLengthBytes) {
    return std::optional<Frame>();
  }
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + consumed_);
  const uint32_t length =
      (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (length == 0) {
    error_ = common::Status::invalid("frame length 0");
    return error_;
  }
  if (length > max_frame_bytes_) {
    error_ =
        common::Status::invalid("frame of " + std::to_string(length) +
                                " bytes is over the limit of " + std::to_string(max_frame_bytes_));
    return error_;
  }
  if (available < kFrameLengthBytes + 1) {
    return std::optional<Frame>();
  }
  const uint8_t kind = p[kFrameLengthBytes];
  if (!isKnownFrameKind(kind)) {
    error_ = common::Status::invalid("unknown frame kind " + std::to_string(kind));
    return error_;
  }
  if (available < kFrameLengthBytes + length) {
    return std::optional<Frame>();
  }
  Frame frame{static_cast<FrameKind>(kind),
              std::string_view(buffer_.data() + consumed_ + kFrameLengthBytes + 1, length - 1)};
  consumed_ += kFrameLengthBytes + length;
  return std::optional<Frame>(frame);
}

}  // namespace remora::xds
