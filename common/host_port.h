#pragma once
// Host:port text as users write it in config and flags: "IPv4:PORT" or "[IPv6]:PORT".
// The one parser for addresses: parseSocketAddress (socket_address.h) builds on it.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::common {

struct ParsedAddress {
  std::string host;  // the IP literal without brackets, e.g. "127.0.0.1" or "::1"
  uint16_t port = 0;
  bool ipv6 = false;
};

// Parses "A.B.C.D:PORT" or "[IPV6]:PORT" with PORT a decimal number in 0..65535 (callers that
// need a non-zero port check it themselves). Host names, missing ports, unbracketed IPv6,
// IPv6 zone ids and anything inet_pton rejects are errors (kInvalidArgument, the message quotes
// the input). Never throws.
Result<ParsedAddress> parseHostPort(std::string_view text);

}  // namespace remora::common
