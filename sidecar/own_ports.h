#pragma once
// OwnPorts: the ports this sidecar listens on (every listener, the admin API, the Prometheus
// and health ports) and the addresses of this host, fixed when the server starts.
//
// A connection's original destination must never lead back into the sidecar: inbound traffic
// goes to 127.0.0.1:<the port the client dialled>, so without this a remote client that dials
// podIP:15000 through the inbound capture reaches the admin API (POST /quitquitquit), and an
// outbound passthrough to this host's own address on a sidecar port loops into the sidecar.
// Built on the main thread before the workers start; read-only afterwards, so any thread may
// call the const methods.

#include <array>
#include <bitset>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/socket_address.h"

namespace remora::sidecar {

class OwnPorts {
 public:
  void addPort(uint16_t port) noexcept { ports_.set(port); }
  // An address of this host (the port is ignored).
  void addAddress(const common::SocketAddress& address);
  // Adds the addresses of this host's interfaces (getifaddrs; main thread, at start). Loopback
  // and unspecified addresses are always treated as this host's, listed or not.
  void addInterfaceAddresses();

  bool hasPort(uint16_t port) const noexcept { return ports_.test(port); }
  // Whether forwarding to `target` would reach this sidecar: its port is one of ours and its
  // address is loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0, ::) or one of this host's.
  // The port is a bit test; the address is looked at only for our ports (no syscall).
  bool isSelf(const common::SocketAddress& target) const noexcept;

 private:
  using Bytes = std::array<uint8_t, 16>;  // IPv6, IPv4 as v4-mapped (::ffff:a.b.c.d)
  std::bitset<65536> ports_;
  std::vector<Bytes> addresses_;
};

// Logs (warn, at most a few lines a second per thread) that a connection from `peer` on
// `listener` was refused because its destination `target` is a port of this sidecar.
// `protocol`: "http" or "tcp".
void logOwnPortRefused(std::string_view listener, std::string_view protocol,
                       const common::SocketAddress& peer, const common::SocketAddress& target,
                       uint64_t now_ms);

}  // namespace remora::sidecar
