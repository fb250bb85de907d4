#include "sidecar/connection_info.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace remora::sidecar {

std::optional<common::SocketAddress> originalDestination(int fd,
                                                         const common::SocketAddress& local) {
  if (fd < 0) {
    return std::nullopt;
  }
  common::SocketAddress dst;
  socklen_t len = sizeof(dst.storage);
  int rc = local.isV6() ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, dst.sa(), &len)
                        : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, dst.sa(), &len);
  if (rc != 0 || dst == local) {
    return std::nullopt;
  }
  return dst;
}

}  // namespace remora::sidecar
