#include "test/apps/echo/grpc_framing.h"

#include <algorithm>

namespace remora::echo {

namespace {
constexpr size_t kPrefixBytes = 5;

uint64_t announcedLength(const char* prefix) noexcept {
  const auto* p = reinterpret_cast<const uint8_t*>(prefix);
  return (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | uint64_t{p[4]};
}
}  // namespace

MessageReader::Error MessageReader::feed(std::string_view data,
                                         const std::function<bool(std::string_view)>& on_message) {
  while (error_ == Error::kNone) {
    // The prefix first (it may arrive in pieces).
    if (buf_.size() < kPrefixBytes) {
      if (data.empty()) {
        return error_;
      }
      size_t take = std::min(kPrefixBytes - buf_.size(), data.size());
      buf_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (buf_.size() < kPrefixBytes) {
        return error_;
      }
      if ((static_cast<uint8_t>(buf_[0]) & 1) != 0) {
        error_ = Error::kCompressed;
      } else if (uint64_t len = announcedLength(buf_.data()); len > max_) {
        error_ = Error::kTooLarge;
        refused_length_ = len;
      }
      if (error_ != Error::kNone) {
        std::string().swap(buf_);
        return error_;
      }
    }
    size_t need = kPrefixBytes + announcedLength(buf_.data()) - buf_.size();
    if (buf_.size() == kPrefixBytes && data.size() >= need) {
      // The whole payload is in this piece: no copy.
      std::string_view payload = data.substr(0, need);
      data.remove_prefix(need);
      buf_.clear();
      if (!on_message(payload)) {
        return error_;
      }
      continue;
    }
    if (data.empty()) {
      return error_;
    }
    size_t take = std::min(need, data.size());
    buf_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (take == need) {
      std::string message = std::move(buf_);
      buf_.clear();
      if (!on_message(std::string_view(message).substr(kPrefixBytes))) {
        return error_;
      }
    }
  }
  return error_;
}

void appendMessage(std::string_view payload, std::string& out) {
  uint32_t len = static_cast<uint32_t>(payload.size());
  char prefix[kPrefixBytes] = {0, static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                               static_cast<char>(len >> 8), static_cast<char>(len)};
  out.append(prefix, kPrefixBytes);
  out.append(payload);
}

}  // namespace remora::echo
