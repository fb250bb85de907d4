#pragma once
// The HTTP/2 client connection preface (RFC 9113 3.4) and PrefaceSniffer, which tells from a
// connection's first bytes whether it begins with it (h2c with prior knowledge) or is
// something else (HTTP/1), holding bytes while they could still be either.

#include <cstdint>
#include <string>
#include <string_view>

namespace remora::http2 {

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class PrefaceSniffer {
 public:
  enum class Verdict : uint8_t { kUndecided, kHttp2, kOther };

  // The next bytes read. kUndecided: every byte so far is a strict prefix of the preface, and
  // `data` is kept. Otherwise the verdict: the caller dispatches takeHeld() (the bytes kept
  // from earlier reads, often none) and then `data`. Not called again once decided.
  Verdict feed(std::string_view data);
  std::string takeHeld() noexcept { return std::move(held_); }

 private:
  std::string held_;
};

}  // namespace remora::http2
