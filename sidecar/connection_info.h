#pragma once
// What is known about an accepted downstream connection before any byte is read.

#include <optional>

#include "common/socket_address.h"

namespace remora::sidecar {

struct ConnectionInfo {
  common::SocketAddress peer;
  common::SocketAddress local;
  // Set when iptables redirected the connection here (SO_ORIGINAL_DST differs from `local`).
  std::optional<common::SocketAddress> original_dst;
};

// Reads SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6) from an accepted socket.
// Returns nullopt when the connection was not redirected.
std::optional<common::SocketAddress> originalDestination(int fd,
                                                         const common::SocketAddress& local);

}  // namespace remora::sidecar
