#pragma once
// What is known about an accepted downstream connection before any byte is read.

#include <optional>

#include "common/socket_address.h"

namespace remora::sidecar {

// (The peer address is read from the socket only where it is needed: x-forwarded-for, logs.)
struct ConnectionInfo {
  // The port the listener accepted on.
  uint16_t listener_port = 0;
  // Set when iptables redirected the connection here.
  std::optional<common::SocketAddress> original_dst;
  // Loop time (ms) of the accept: the first request head is timed from here.
  uint64_t accepted_ms = 0;
};

// Reads SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6) from a socket accepted by the
// listener bound to `listener`. Returns nullopt when the connection was not redirected: no
// conntrack entry, or the original destination is the listener itself (same port on a
// wildcard listener) — which spares a getsockname per connection.
std::optional<common::SocketAddress> originalDestination(int fd,
                                                         const common::SocketAddress& listener);

}  // namespace remora::sidecar
