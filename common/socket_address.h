#pragma once
// Socket addresses as users write them: "IPv4:PORT" or "[IPv6]:PORT".

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace remora::common {

// Room for an IPv4 or an IPv6 address: 28 bytes, not sockaddr_storage's 128 (every connection
// keeps a few addresses). `ss_family` reads the family both kinds begin with.
union SocketStorage {
  sockaddr_in6 v6;  // first: value-initialization zeroes the whole union
  sockaddr_in v4;
  sa_family_t ss_family;
};

struct SocketAddress {
  SocketStorage storage{};

  const sockaddr* sa() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() noexcept { return reinterpret_cast<sockaddr*>(&storage); }
  socklen_t len() const noexcept {
    return storage.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  uint16_t port() const noexcept;
  void setPort(uint16_t port) noexcept;
  bool isV6() const noexcept { return storage.ss_family == AF_INET6; }
  // "1.2.3.4:80" or "[::1]:80".
  std::string toString() const;
  // Host part only: "1.2.3.4" or "::1".
  std::string host() const;
  bool operator==(const SocketAddress& o) const noexcept;
};

// Parses "IPv4:PORT" or "[IPv6]:PORT" (numeric hosts only; port 0..65535).
Result<SocketAddress> parseSocketAddress(std::string_view text);
// 127.0.0.1:port.
SocketAddress loopbackAddress(uint16_t port) noexcept;
// Builds from a sockaddr returned by the kernel (getsockname, accept, SO_ORIGINAL_DST).
SocketAddress fromSockaddr(const sockaddr* sa) noexcept;

}  // namespace remora::common
