#include "sidecar/connection_info.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace remora::sidecar {

std::string_view cxProtocolName(CxProtocol p) noexcept {
  switch (p) {
    case CxProtocol::kDetecting:
      return "detecting";
    case CxProtocol::kHttp1:
      return "http1";
    case CxProtocol::kHttp2:
      return "http2";
    case CxProtocol::kTcp:
      return "tcp";
  }
  return "detecting";
}

namespace {
bool isWildcard(const common::SocketAddress& a) {
  if (a.isV6()) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
  }
  return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == INADDR_ANY;
}
}  // namespace

std::optional<common::SocketAddress> originalDestination(int fd,
                                                         const common::SocketAddress& listener) {
  if (fd < 0) {
    return std::nullopt;
  }
  common::SocketAddress dst;
  socklen_t len = sizeof(dst.storage);
  int rc = listener.isV6() ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst.sa(), &len)
                           : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst.sa(), &len);
  if (rc != 0 || dst == listener || (isWildcard(listener) && dst.port() == listener.port())) {
    return std::nullopt;
  }
  return dst;
}

}  // namespace remora::sidecar
