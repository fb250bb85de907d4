#include "sidecar/protocol_detection.h"

#include "common/http2/preface.h"

#include <array>

namespace remora::sidecar {

namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA.
constexpr std::array<bool, 256> makeTchars() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[static_cast<size_t>(c)] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[static_cast<size_t>(c)] = true;
    t[static_cast<size_t>(c - 'a' + 'A')] = true;
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}
constexpr std::array<bool, 256> kTchar = makeTchars();

constexpr std::string_view kHttp2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

// SP, or HTAB, which RFC 9112 §3 lets a recipient take for SP (Tomcat does).
constexpr bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

constexpr Detection decided(Detect d, DetectReason r) {
  return Detection{d, r};
}

}  // namespace

Detection detectHttp(std::string_view b) noexcept {
  if (b.size() > kDetectMaxBytes) {
    b = b.substr(0, kDetectMaxBytes);
  }
  // The HTTP/2 preface starts like a request line ("PRI "): follow it while it matches.
  size_t common = 0;
  while (common < b.size() && common < kHttp2Preface.size() && b[common] == kHttp2Preface[common]) {
    ++common;
  }
  if (common == kHttp2Preface.size()) {
    return decided(Detect::kHttp, DetectReason::kHttp2Preface);
  }
  bool preface_so_far = common == b.size();

  size_t i = 0;
  while (i < b.size() && (b[i] == '\r' || b[i] == '\n' || isBlank(b[i]))) {
    ++i;
  }
  size_t method_start = i;
  while (i < b.size() && kTchar[static_cast<unsigned char>(b[i])]) {
    ++i;
  }
  if (i < b.size() && !preface_so_far) {
    if (isBlank(b[i]) && i > method_start) {
      return decided(Detect::kHttp, DetectReason::kRequestLine);
    }
    return decided(Detect::kOpaque, DetectReason::kNotRequestLine);
  }
  // Everything so far may still become a request line (or the preface).
  if (b.size() == kDetectMaxBytes) {
    return decided(Detect::kHttp, DetectReason::kSizeBound);
  }
  return Detection{};
}

Detection detectAtTimeout(std::string_view first_bytes) noexcept {
  if (first_bytes.empty()) {
    return decided(Detect::kOpaque, DetectReason::kSilent);
  }
  Detection d = detectHttp(first_bytes);
  if (d.decision == Detect::kMaybe) {
    return decided(Detect::kHttp, DetectReason::kPartialAtTimeout);
  }
  return d;
}

std::string_view detectProtocolName(DetectReason reason) noexcept {
  switch (reason) {
    case DetectReason::kRequestLine:
    case DetectReason::kPartialAtTimeout:
    case DetectReason::kSizeBound:
      return "http";
    case DetectReason::kHttp2Preface:
      return "http2";
    case DetectReason::kSilent:
    case DetectReason::kNotRequestLine:
      return "tcp";
  }
  return "tcp";
}

std::string_view detectReasonName(DetectReason reason) noexcept {
  switch (reason) {
    case DetectReason::kRequestLine:
      return "request-line";
    case DetectReason::kPartialAtTimeout:
      return "partial-at-timeout";
    case DetectReason::kSizeBound:
      return "size-bound";
    case DetectReason::kSilent:
      return "silent";
    case DetectReason::kNotRequestLine:
      return "not-request-line";
    case DetectReason::kHttp2Preface:
      return "http2-preface";
  }
  return "";
}

}  // namespace remora::sidecar
