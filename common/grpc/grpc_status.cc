#include "common/grpc/grpc_status.h"

#include <charconv>

namespace remora::grpc {

namespace {

bool equalsLower(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != lower[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool isGrpcContentType(std::string_view ct) noexcept {
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size() || !equalsLower(ct.substr(0, kGrpc.size()), kGrpc)) {
    return false;
  }
  return ct.size() == kGrpc.size() || ct[kGrpc.size()] == '+' || ct[kGrpc.size()] == ';';
}

std::optional<uint64_t> parseTimeoutMs(std::string_view value) noexcept {
  if (value.size() < 2 || value.size() > 9) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  switch (value.back()) {
    case 'H':
      return n * 3600 * 1000;
    case 'M':
      return n * 60 * 1000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return (n + 999) / 1000;
    case 'n':
      return (n + 999999) / 1000000;
    default:
      return std::nullopt;
  }
}

std::optional<uint32_t> parseStatus(std::string_view value) noexcept {
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty()) {
    return std::nullopt;
  }
  return n;
}

Status statusForHttp(uint16_t http_status) noexcept {
  switch (http_status) {
    case 400:
      return Status::kInternal;
    case 401:
      return Status::kUnauthenticated;
    case 403:
      return Status::kPermissionDenied;
    case 404:
      return Status::kUnimplemented;
    case 429:
      return Status::kResourceExhausted;
    case 502:
    case 503:
      return Status::kUnavailable;
    case 504:
      return Status::kDeadlineExceeded;
    default:
      return Status::kUnknown;
  }
}

std::string percentEncodeMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char ch : message) {
    auto c = static_cast<uint8_t>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void addStatusFields(common::HeaderMap& fields, uint32_t status, std::string_view message) {
  char digits[12];
  auto r = std::to_chars(digits, digits + sizeof digits, status);
  fields.add("grpc-status", std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
  if (!message.empty()) {
    fields.add("grpc-message", percentEncodeMessage(message));
  }
}

}  // namespace remora::grpc
