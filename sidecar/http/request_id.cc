#include "sidecar/http/request_id.h"

#include <array>
#include <cstring>

namespace remora::sidecar {

namespace {

// Every byte's two lowercase hex digits, "000102...ff".
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (size_t i = 0; i < 256; ++i) {
    t[2 * i] = kHex[i >> 4];
    t[2 * i + 1] = kHex[i & 0xf];
  }
  return t;
}();

// Writes bytes [first, first + count) of `word` (most significant first) as hex at `at`.
inline void putHex(char* at, uint64_t word, int first, int count) noexcept {
  for (int i = 0; i < count; ++i) {
    auto byte = static_cast<size_t>((word >> (56 - 8 * (first + i))) & 0xff);
    std::memcpy(at + 2 * i, &kHexPairs[2 * byte], 2);
  }
}

}  // namespace

void formatRequestId(uint64_t a, uint64_t b, std::string& out) {
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10xx
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  char buf[36];
  putHex(buf, a, 0, 4);
  buf[8] = '-';
  putHex(buf + 9, a, 4, 2);
  buf[13] = '-';
  putHex(buf + 14, a, 6, 2);
  buf[18] = '-';
  putHex(buf + 19, b, 0, 2);
  buf[23] = '-';
  putHex(buf + 24, b, 2, 6);
  out.assign(buf, sizeof(buf));
}

}  // namespace remora::sidecar
