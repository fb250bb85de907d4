#pragma once
// The registration API's state (file mode, docs/control-plane.md): endpoints registered by
// workloads outside Kubernetes, each with a TTL that heartbeats renew. An endpoint whose TTL
// lapses is removed (expire()), and the control plane pushes the change.
//
// Pure bookkeeping with times passed in (ms on a monotonic clock); the owner calls expire() from
// a timer. Identity of an endpoint: namespace + service + address + port.
//
// What a registration may say is bounded (issue 9): the address must be a unicast address that
// another host can reach (loopback, unspecified and link-local addresses are refused unless the
// registry was made with allow_local_addresses, for tests and the demo: a caller's sidecar would
// otherwise send that Service's traffic to its own admin port or to the cloud metadata service),
// and the labels are bounded in count and bytes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "control/translator.h"
#include "remora/mesh/v1/registry.pb.h"

namespace remora::control {

// What an IP literal is, as far as routing traffic to it is concerned. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) are classified as the IPv4 address they map.
enum class AddressScope : uint8_t {
  kInvalid,      // not an IP literal
  kUnicast,      // anything else: reachable from another host (private ranges included)
  kLoopback,     // 127.0.0.0/8, ::1
  kUnspecified,  // 0.0.0.0/8 ("this host" on Linux), ::
  kLinkLocal,    // 169.254.0.0/16 (cloud metadata lives there), fe80::/10
  kMulticast,    // 224.0.0.0/4, 255.255.255.255, ff00::/8: never a TCP endpoint
};
AddressScope classifyAddress(std::string_view ip) noexcept;
// "loopback", "unspecified", ... for messages.
std::string_view addressScopeName(AddressScope scope) noexcept;

// Why a registration call was refused (for the API's refusal counters).
enum class Refusal : uint8_t {
  kNone,
  kInvalid,   // a malformed field
  kAddress,   // an address the registry does not accept (see AddressScope)
  kTooLarge,  // labels over the limits
};

class Registry {
 public:
  static constexpr uint32_t kDefaultTtlSeconds = 30;
  static constexpr uint32_t kMaxTtlSeconds = 24 * 3600;
  // Label limits: Kubernetes' key shape (a 253-byte prefix, '/', a 63-byte name) and room for
  // values longer than Kubernetes' 63 bytes, with a total well under the API's body limit.
  static constexpr size_t kMaxLabels = 64;
  static constexpr size_t kMaxLabelKeyBytes = 317;
  static constexpr size_t kMaxLabelValueBytes = 253;
  static constexpr size_t kMaxLabelBytes = 8 * 1024;  // keys and values together

  // `allow_local_addresses`: accept loopback, unspecified and link-local addresses
  // (--registry-allow-loopback).
  explicit Registry(bool allow_local_addresses = false) noexcept
      : allow_local_addresses_(allow_local_addresses) {}

  // Adds the endpoint, or renews it and updates its labels, sidecar flag and TTL. `changed` is
  // set when the mesh sees a difference (a new endpoint, new labels or a new sidecar flag). Errors
  // (kInvalidArgument, one line; `why`, when given, says which kind): service not a DNS-1035 label,
  // namespace not a DNS-1123 label, address not an IP (kInvalid), an address of a refused scope
  // (kAddress), port not in 1..65535, ttl_seconds over kMaxTtlSeconds (kInvalid), labels over the
  // limits (kTooLarge).
  common::Result<mesh::RegistrationResponse> registerEndpoint(
      const mesh::RegistrationRequest& request, uint64_t now_ms, bool* changed,
      Refusal* why = nullptr);

  // Renews the TTL of a registered endpoint; kNotFound when it is not registered (expired
  // already: the workload must register again). Same identity checks as registerEndpoint.
  common::Result<mesh::RegistrationResponse> heartbeat(const mesh::RegistrationRequest& request,
                                                       uint64_t now_ms, Refusal* why = nullptr);

  // Removes the endpoint; kNotFound when it is not registered.
  common::Status deregister(const mesh::RegistrationRequest& request, Refusal* why = nullptr);

  // Removes every endpoint whose TTL has lapsed at `now_ms`; returns their ids.
  std::vector<std::string> expire(uint64_t now_ms);

  // The earliest expiry time, if any endpoint is registered.
  std::optional<uint64_t> nextExpiry() const noexcept;

  // Every registered endpoint, sorted by id.
  std::vector<RegisteredEndpoint> endpoints() const;
  size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    RegisteredEndpoint endpoint;
    uint32_t ttl_seconds = kDefaultTtlSeconds;
    uint64_t expires_ms = 0;
  };
  // Checks the identity fields (and the TTL); fills `id`.
  common::Status validate(const mesh::RegistrationRequest& request, std::string* id,
                          Refusal* why) const;
  static mesh::RegistrationResponse responseFor(const std::string& id, const Entry& e,
                                                uint64_t now_ms);

  bool allow_local_addresses_ = false;
  std::map<std::string, Entry> entries_;  // by id "namespace/service/address:port"
};

}  // namespace remora::control
