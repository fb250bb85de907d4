#include "common/socket_address.h"

#include "common/host_port.h"

#include <arpa/inet.h>

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
  if (storage.ss_family == AF_INET6) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof(buf));
    return buf;
  }
  // IPv4 by hand: glibc's inet_ntop formats it with sprintf, about 1,200 instructions, and
  // every new connection's peer is formatted (x-forwarded-for, the access log).
  const auto* octets = reinterpret_cast<const uint8_t*>(
      &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr);
  char buf[16];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    unsigned v = octets[i];
    if (v >= 100) {
      *p++ = static_cast<char>('0' + v / 100);
      v %= 100;
      *p++ = static_cast<char>('0' + v / 10);
      v %= 10;
    } else if (v >= 10) {
      *p++ = static_cast<char>('0' + v / 10);
      v %= 10;
    }
    *p++ = static_cast<char>('0' + v);
    if (i < 3) {
      *p++ = '.';
    }
  }
  return std::string(buf, static_cast<size_t>(p - buf));
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
  Result<ParsedAddress> parsed = parseHostPort(text);
  if (!parsed.isOk()) {
    return parsed.status();
  }
  const ParsedAddress& p = parsed.value();
  SocketAddress out;
  // parseHostPort already checked the literal with inet_pton; this only fills the sockaddr.
  if (p.ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out.storage);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, p.host.c_str(), &a->sin6_addr);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&out.storage);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, p.host.c_str(), &a->sin_addr);
  }
  out.setPort(p.port);
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
