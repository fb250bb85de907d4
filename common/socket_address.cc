#include "common/socket_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace remora::common {

uint16_t SocketAddress::port() const noexcept {
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void SocketAddress::setPort(uint16_t port) noexcept {
  if (storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  }
}

std::string SocketAddress::host() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof(buf));
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof(buf));
  }
  return buf;
}

std::string SocketAddress::toString() const {
  std::string h = host();
  std::string p = std::to_string(port());
  return isV6() ? "[" + h + "]:" + p : h + ":" + p;
}

bool SocketAddress::operator==(const SocketAddress& o) const noexcept {
  if (storage.ss_family != o.storage.ss_family || port() != o.port()) {
    return false;
  }
  if (isV6()) {
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&o.storage)->sin6_addr,
                       sizeof(in6_addr)) == 0;
  }
  return reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr ==
         reinterpret_cast<const sockaddr_in*>(&o.storage)->sin_addr.s_addr;
}

Result<SocketAddress> parseSocketAddress(std::string_view text) {
  std::string host;
  std::string_view port_text;
  bool v6 = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::invalid("'" + std::string(text) + "' is not [IPv6]:PORT");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    v6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::invalid("'" + std::string(text) + "' has no :PORT");
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
      port > 65535) {
    return Status::invalid("'" + std::string(text) + "' has a bad port (0-65535)");
  }
  SocketAddress out;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.storage);
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      return Status::invalid("'" + host + "' is not an IPv6 address");
    }
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&out.storage);
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return Status::invalid("'" + host + "' is not an IPv4 address");
    }
  }
  out.setPort(static_cast<uint16_t>(port));
  return out;
}

SocketAddress loopbackAddress(uint16_t port) noexcept {
  SocketAddress a;
  auto* in = reinterpret_cast<sockaddr_in*>(&a.storage);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  in->sin_port = htons(port);
  return a;
}

SocketAddress fromSockaddr(const sockaddr* sa) noexcept {
  SocketAddress out;
  if (sa->sa_family == AF_INET6) {
    std::memcpy(&out.storage, sa, sizeof(sockaddr_in6));
  } else {
    std::memcpy(&out.storage, sa, sizeof(sockaddr_in));
  }
  return out;
}

}  // namespace remora::common
