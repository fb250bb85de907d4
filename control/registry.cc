#include "control/registry.h"

#include <ctime>

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
}  // namespace

Status Registry::validate(const mesh::RegistrationRequest& r, std::string* id) {
  const std::string ns = r.namespace_().empty() ? "default" : r.namespace_();
  if (!isDns1035Label(r.service())) {
    return Status::invalid("service: '" + r.service() +
                           "' is not a valid Service name (a DNS-1035 label)");
  }
  if (!isDnsLabel(ns)) {
    return Status::invalid("namespace: '" + ns + "' is not a valid namespace (a DNS-1123 label)");
  }
  if (!isIpLiteral(r.address())) {
    return Status::invalid("address: '" + r.address() + "' is not an IP address");
  }
  if (r.port() < 1 || r.port() > 65535) {
    return Status::invalid("port: " + std::to_string(r.port()) + " is out of range (1..65535)");
  }
  if (r.ttl_seconds() > kMaxTtlSeconds) {
    return Status::invalid("ttl_seconds: " + std::to_string(r.ttl_seconds()) +
                           " is over the maximum of " + std::to_string(kMaxTtlSeconds));
  }
  *id = ns + "/" + r.service() + "/" + endpointAddress(r.address(), r.port());
  return Status::ok();
}

mesh::RegistrationResponse Registry::responseFor(const std::string& id, const Entry& e,
                                                     uint64_t now_ms) {
  mesh::RegistrationResponse out;
  out.set_id(id);
  out.set_ttl_seconds(e.ttl_seconds);
  out.set_expires(common::rfc3339Utc(std::time(nullptr) + static_cast<std::time_t>(
      (e.expires_ms > now_ms ? e.expires_ms - now_ms : 0) / 1000)));
  return out;
}

Result<mesh::RegistrationResponse> Registry::registerEndpoint(
    const mesh::RegistrationRequest& request, uint64_t now_ms, bool* changed) {
  std::string id;
  Status s = validate(request, &id);
  if (!s.isOk()) {
    return s;
  }
  Entry e;
  e.endpoint.ns = request.namespace_().empty() ? "default" : request.namespace_();
  e.endpoint.service = request.service();
  e.endpoint.address = request.address();
  e.endpoint.port = request.port();
  e.endpoint.labels = {request.labels().begin(), request.labels().end()};
  e.ttl_seconds = request.ttl_seconds() ? request.ttl_seconds() : kDefaultTtlSeconds;
  e.expires_ms = now_ms + uint64_t{e.ttl_seconds} * 1000;
  auto it = entries_.find(id);
  *changed = it == entries_.end() || it->second.endpoint.labels != e.endpoint.labels;
  Entry& stored = entries_[id];
  stored = std::move(e);
  return responseFor(id, stored, now_ms);
}

Result<mesh::RegistrationResponse> Registry::heartbeat(
    const mesh::RegistrationRequest& request, uint64_t now_ms) {
  std::string id;
  Status s = validate(request, &id);
  if (!s.isOk()) {
    return s;
  }
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return Status::notFound(id + " is not registered (expired or never registered): register it again");
  }
  if (request.ttl_seconds() != 0) {
    it->second.ttl_seconds = request.ttl_seconds();
  }
  it->second.expires_ms = now_ms + uint64_t{it->second.ttl_seconds} * 1000;
  return responseFor(id, it->second, now_ms);
}

Status Registry::deregister(const mesh::RegistrationRequest& request) {
  std::string id;
  Status s = validate(request, &id);
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
