#include "common/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

namespace remora::common {
namespace {

Status bad(std::string_view text, std::string_view why) {
  std::string m = "invalid address \"";
  m.append(text);
  m += "\": ";
  m.append(why);
  return Status::invalid(std::move(m));
}

// Decimal 0..65535, digits only (no sign, no spaces).
bool parsePort(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) {
    return false;
  }
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) {
    return false;
  }
  *out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

Result<ParsedAddress> parseHostPort(std::string_view text) {
  if (text.empty()) {
    return bad(text, "empty (expected IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)");
  }
  ParsedAddress out;
  std::string_view port;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return bad(text, "missing ']' after the IPv6 address");
    }
    out.host = std::string(text.substr(1, close - 1));
    out.ipv6 = true;
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return bad(text, "missing ':PORT' after ']'");
    }
    port = rest.substr(1);
    in6_addr a6{};
    if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1) {
      return bad(text, "\"" + out.host + "\" is not an IPv6 address");
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return bad(text, "missing ':PORT'");
    }
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return bad(text, "IPv6 addresses need brackets, e.g. [::1]:8080");
    }
    in_addr a4{};
    if (out.host.empty() || inet_pton(AF_INET, out.host.c_str(), &a4) != 1) {
      return bad(text, "\"" + out.host + "\" is not an IPv4 address (host names are not allowed)");
    }
  }
  if (port.empty()) {
    return bad(text, "missing port");
  }
  if (!parsePort(port, &out.port)) {
    return bad(text, "port \"" + std::string(port) + "\" is not a number in 0..65535");
  }
  return out;
}

}  // namespace remora::common
