#include "sidecar/own_ports.h"

#include <ifaddrs.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "sidecar/log_limiter.h"

namespace remora::sidecar {

namespace {

using Bytes = std::array<uint8_t, 16>;

Bytes bytesOf(const sockaddr* sa) noexcept {
  Bytes b{};
  if (sa->sa_family == AF_INET6) {
    std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else {
    b[10] = 0xff;
    b[11] = 0xff;
    std::memcpy(b.data() + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  }
  return b;
}

bool isV4Mapped(const Bytes& b) noexcept {
  return std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
         b[10] == 0xff && b[11] == 0xff;
}

// Loopback or unspecified: always this host.
bool isLoopbackOrUnspecified(const Bytes& b) noexcept {
  if (isV4Mapped(b)) {
    return b[12] == 127 || (b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 0);
  }
  bool zero_prefix = std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; });
  return zero_prefix && (b[15] == 0 || b[15] == 1);  // :: or ::1
}

}  // namespace

void OwnPorts::addAddress(const common::SocketAddress& address) {
  Bytes b = bytesOf(address.sa());
  if (std::find(addresses_.begin(), addresses_.end(), b) == addresses_.end()) {
    addresses_.push_back(b);
  }
}

void OwnPorts::addInterfaceAddresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    spdlog::warn(
        "cannot list this host's addresses (getifaddrs: {}): only loopback counts as "
        "this host when refusing destinations that are the sidecar's own ports",
        std::strerror(errno));
    return;
  }
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr != nullptr &&
        (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6)) {
      addAddress(common::fromSockaddr(i->ifa_addr));
    }
  }
  freeifaddrs(list);
}

bool OwnPorts::isSelf(const common::SocketAddress& target) const noexcept {
  if (!ports_.test(target.port())) {
    return false;
  }
  Bytes b = bytesOf(target.sa());
  return isLoopbackOrUnspecified(b) ||
         std::find(addresses_.begin(), addresses_.end(), b) != addresses_.end();
}

void logOwnPortRefused(std::string_view listener, std::string_view protocol,
                       const common::SocketAddress& peer, const common::SocketAddress& target,
                       uint64_t now_ms) {
  thread_local LogLimiter limiter(5, 1000);
  uint64_t suppressed = 0;
  if (!limiter.allow(now_ms, suppressed)) {
    return;
  }
  spdlog::warn(
      "listener {}: refused {} from {} to {}: that is one of the sidecar's own ports (admin, "
      "listeners), never a destination{}",
      listener, protocol == "http" ? "an HTTP request" : "a TCP connection", peer.toString(),
      target.toString(), LogLimiter::note(suppressed));
}

}  // namespace remora::sidecar
