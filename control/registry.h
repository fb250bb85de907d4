#pragma once
// The registration API's state (file mode, SPEC.md "Registration API"): endpoints registered by
// workloads outside Kubernetes, each with a TTL that heartbeats renew. An endpoint whose TTL
// lapses is removed (expire()), and the control plane pushes the change.
//
// Pure bookkeeping with times passed in (ms on a monotonic clock); the owner calls expire() from
// a timer. Identity of an endpoint: namespace + service + address + port.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/translator.h"
#include "remora/mesh/v1/registry.pb.h"

namespace remora::control {

class Registry {
 public:
  static constexpr uint32_t kDefaultTtlSeconds = 30;
  static constexpr uint32_t kMaxTtlSeconds = 24 * 3600;

  // Adds the endpoint, or renews it and updates its labels and TTL. `changed` is set when the
  // mesh sees a difference (a new endpoint or new labels). Errors (kInvalidArgument, one line):
  // service not a DNS-1035 label, namespace not a DNS-1123 label, address not an IP, port not
  // in 1..65535, ttl_seconds over kMaxTtlSeconds.
  common::Result<mesh::RegistrationResponse> registerEndpoint(
      const mesh::RegistrationRequest& request, uint64_t now_ms, bool* changed);

  // Renews the TTL of a registered endpoint; kNotFound when it is not registered (expired
  // already: the workload must register again).
  common::Result<mesh::RegistrationResponse> heartbeat(
      const mesh::RegistrationRequest& request, uint64_t now_ms);

  // Removes the endpoint; kNotFound when it is not registered.
  common::Status deregister(const mesh::RegistrationRequest& request);

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
  static common::Status validate(const mesh::RegistrationRequest& request, std::string* id);
  static mesh::RegistrationResponse responseFor(const std::string& id, const Entry& e,
                                                    uint64_t now_ms);

  std::map<std::string, Entry> entries_;  // by id "namespace/service/address:port"
};

}  // namespace remora::control
