#pragma once
// What is known about an accepted downstream connection before any byte is read.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/socket_address.h"

namespace remora::sidecar {

// What a downstream connection speaks, as far as it is known: the `protocol` label of
// remora_downstream_cx_active (a connection counts under exactly one at a time).
enum class CxProtocol : uint8_t { kDetecting, kHttp1, kHttp2, kTcp };
inline constexpr size_t kCxProtocolCount = 4;
// "detecting", "http1", "http2", "tcp".
std::string_view cxProtocolName(CxProtocol p) noexcept;

// (The peer address is read from the socket only where it is needed: x-forwarded-for, logs.)
struct ConnectionInfo {
  // The port the listener accepted on.
  uint16_t listener_port = 0;
  // Set when iptables redirected the connection here.
  std::optional<common::SocketAddress> original_dst;
  // Loop time (ms) of the accept: the first request head is timed from here.
  uint64_t accepted_ms = 0;
  // Where the connection is counted in remora_downstream_cx_active.
  CxProtocol cx_protocol = CxProtocol::kDetecting;
};

// Reads SO_ORIGINAL_DST (IPv4) / IP6T_SO_ORIGINAL_DST (IPv6) from a socket accepted by the
// listener bound to `listener`. Returns nullopt when the connection was not redirected: no
// conntrack entry, or the original destination is the listener itself (same port on a
// wildcard listener) — which spares a getsockname per connection.
std::optional<common::SocketAddress> originalDestination(int fd,
                                                         const common::SocketAddress& listener);

}  // namespace remora::sidecar
