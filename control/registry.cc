#include "control/registry.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>

#include "common/logging.h"
#include "common/time_format.h"
#include "control/field_checks.h"

namespace remora::control {

using common::Result;
using common::Status;

namespace {
std::string endpointAddress(const std::string& ip, uint32_t port) {
  return ip.find(':') != std::string::npos ? "[" + ip + "]:" + std::to_string(port)
                                           : ip + ":" + std::to_string(port);
}

AddressScope classifyV4(const unsigned char* a) noexcept {
  if (a[0] == 127) {
    return AddressScope::kLoopback;
  }
  if (a[0] == 0) {
    return AddressScope::kUnspecified;
  }
  if (a[0] == 169 && a[1] == 254) {
    return AddressScope::kLinkLocal;
  }
  if (a[0] >= 224) {  // multicast, reserved 240/4 and the broadcast address
    return AddressScope::kMulticast;
  }
  return AddressScope::kUnicast;
}

Status refuse(Refusal* why, Refusal kind, std::string message) {
  if (why != nullptr) {
    *why = kind;
  }
  return Status::invalid(std::move(message));
}

// Labels within Registry's limits; the message names the first problem.
Status checkLabels(const mesh::RegistrationRequest& r, Refusal* why) {
  if (static_cast<size_t>(r.labels().size()) > Registry::kMaxLabels) {
    return refuse(why, Refusal::kTooLarge,
                  "labels: " + std::to_string(r.labels().size()) + " labels, over the limit of " +
                      std::to_string(Registry::kMaxLabels));
  }
  size_t total = 0;
  for (const auto& [key, value] : r.labels()) {
    if (key.empty() || key.size() > Registry::kMaxLabelKeyBytes) {
      return refuse(why, Refusal::kTooLarge,
                    "labels: a key of " + std::to_string(key.size()) + " bytes; keys are 1.." +
                        std::to_string(Registry::kMaxLabelKeyBytes) + " bytes");
    }
    if (value.size() > Registry::kMaxLabelValueBytes) {
      return refuse(why, Refusal::kTooLarge,
                    "labels: '" + common::logValue(key, 64) + "' has a value of " +
                        std::to_string(value.size()) + " bytes, over the limit of " +
                        std::to_string(Registry::kMaxLabelValueBytes));
    }
    total += key.size() + value.size();
  }
  if (total > Registry::kMaxLabelBytes) {
    return refuse(why, Refusal::kTooLarge,
                  "labels: " + std::to_string(total) + " bytes in all, over the limit of " +
                      std::to_string(Registry::kMaxLabelBytes));
  }
  return Status::ok();
}
}  // namespace

AddressScope classifyAddress(std::string_view ip) noexcept {
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof(text)) {
    return AddressScope::kInvalid;
  }
  ip.copy(text, ip.size());
  text[ip.size()] = '\0';
  unsigned char a[16];
  if (inet_pton(AF_INET, text, a) == 1) {
    return classifyV4(a);
  }
  if (inet_pton(AF_INET6, text, a) != 1) {
    return AddressScope::kInvalid;
  }
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(a, a + 12, kMappedPrefix)) {
    return classifyV4(a + 12);
  }
  bool zero_to_14 = true;
  for (int i = 0; i < 15; ++i) {
    zero_to_14 = zero_to_14 && a[i] == 0;
  }
  if (zero_to_14 && a[15] == 1) {
    return AddressScope::kLoopback;
  }
  if (zero_to_14 && a[15] == 0) {
    return AddressScope::kUnspecified;
  }
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
    return AddressScope::kLinkLocal;
  }
  if (a[0] == 0xff) {
    return AddressScope::kMulticast;
  }
  return AddressScope::kUnicast;
}

std::string_view addressScopeName(AddressScope scope) noexcept {
  switch (scope) {
    case AddressScope::kInvalid:
      return "invalid";
    case AddressScope::kUnicast:
      return "unicast";
    case AddressScope::kLoopback:
      return "loopback";
    case AddressScope::kUnspecified:
      return "unspecified";
    case AddressScope::kLinkLocal:
      return "link-local";
    case AddressScope::kMulticast:
      return "multicast";
  }
  return "invalid";
}

Status Registry::validate(const mesh::RegistrationRequest& r, std::string* id, Refusal* why) const {
  const std::string ns = r.namespace_().empty() ? "default" : r.namespace_();
  if (!isDns1035Label(r.service())) {
    return refuse(why, Refusal::kInvalid,
                  "service: '" + common::logValue(r.service(), 64) +
                      "' is not a valid Service name (a DNS-1035 label)");
  }
  if (!isDnsLabel(ns)) {
    return refuse(why, Refusal::kInvalid,
                  "namespace: '" + common::logValue(ns, 64) +
                      "' is not a valid namespace (a DNS-1123 label)");
  }
  const AddressScope scope = classifyAddress(r.address());
  if (scope == AddressScope::kInvalid) {
    return refuse(why, Refusal::kInvalid,
                  "address: '" + common::logValue(r.address(), 64) + "' is not an IP address");
  }
  if (scope == AddressScope::kMulticast ||
      (scope != AddressScope::kUnicast && !allow_local_addresses_)) {
    return refuse(
        why, Refusal::kAddress,
        "address: " + r.address() + " is a " + std::string(addressScopeName(scope)) +
            " address; callers' sidecars would send this Service's traffic to themselves" +
            (scope == AddressScope::kMulticast
                 ? std::string(" (never a TCP endpoint)")
                 : std::string(" (start remora-control with --registry-allow-loopback to allow "
                               "it, for tests on one host)")));
  }
  if (r.port() < 1 || r.port() > 65535) {
    return refuse(why, Refusal::kInvalid,
                  "port: " + std::to_string(r.port()) + " is out of range (1..65535)");
  }
  if (r.ttl_seconds() > kMaxTtlSeconds) {
    return refuse(why, Refusal::kInvalid,
                  "ttl_seconds: " + std::to_string(r.ttl_seconds()) + " is over the maximum of " +
                      std::to_string(kMaxTtlSeconds));
  }
  *id = ns + "/" + r.service() + "/" + endpointAddress(r.address(), r.port());
  return Status::ok();
}

mesh::RegistrationResponse Registry::responseFor(const std::string& id, const Entry& e,
                                                 uint64_t now_ms) {
  mesh::RegistrationResponse out;
  out.set_id(id);
  out.set_ttl_seconds(e.ttl_seconds);
  out.set_expires(common::rfc3339Utc(
      std::time(nullptr) +
      static_cast<std::time_t>((e.expires_ms > now_ms ? e.expires_ms - now_ms : 0) / 1000)));
  return out;
}

Result<mesh::RegistrationResponse> Registry::registerEndpoint(
    const mesh::RegistrationRequest& request, uint64_t now_ms, bool* changed, Refusal* why) {
  std::string id;
  Status s = validate(request, &id, why);
  if (s.isOk()) {
    s = checkLabels(request, why);
  }
  if (!s.isOk()) {
    return s;
  }
  Entry e;
  e.endpoint.ns = request.namespace_().empty() ? "default" : request.namespace_();
  e.endpoint.service = request.service();
  e.endpoint.address = request.address();
  e.endpoint.port = request.port();
  e.endpoint.labels = {request.labels().begin(), request.labels().end()};
  e.endpoint.sidecar = request.sidecar();
  e.ttl_seconds = request.ttl_seconds() ? request.ttl_seconds() : kDefaultTtlSeconds;
  e.expires_ms = now_ms + uint64_t{e.ttl_seconds} * 1000;
  auto it = entries_.find(id);
  *changed = it == entries_.end() || it->second.endpoint.labels != e.endpoint.labels ||
             it->second.endpoint.sidecar != e.endpoint.sidecar;
  Entry& stored = entries_[id];
  stored = std::move(e);
  return responseFor(id, stored, now_ms);
}

Result<mesh::RegistrationResponse> Registry::heartbeat(const mesh::RegistrationRequest& request,
                                                       uint64_t now_ms, Refusal* why) {
  std::string id;
  Status s = validate(request, &id, why);
  if (!s.isOk()) {
    return s;
  }
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return Status::notFound(id +
                            " is not registered (expired or never registered): register it again");
  }
  if (request.ttl_seconds() != 0) {
    it->second.ttl_seconds = request.ttl_seconds();
  }
  it->second.expires_ms = now_ms + uint64_t{it->second.ttl_seconds} * 1000;
  return responseFor(id, it->second, now_ms);
}

Status Registry::deregister(const mesh::RegistrationRequest& request, Refusal* why) {
  std::string id;
  Status s = validate(request, &id, why);
  if (!s.isOk()) {
    return s;
  }
  if (entries_.erase(id) == 0) {
    return Status::notFound(id + " is not registered");
  }
  return Status::ok();
}

std::vector<std::string> Registry::expire(uint64_t now_ms) {
  std::vector<std::string> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires_ms <= now_ms) {
      gone.push_back(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::optional<uint64_t> Registry::nextExpiry() const noexcept {
  std::optional<uint64_t> out;
  for (const auto& [id, e] : entries_) {
    if (!out || e.expires_ms < *out) {
      out = e.expires_ms;
    }
  }
  return out;
}

std::vector<RegisteredEndpoint> Registry::endpoints() const {
  std::vector<RegisteredEndpoint> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) {
    out.push_back(e.endpoint);
  }
  return out;
}

}  // namespace remora::control
