#include "control/endpoint_translation.h"

#include <charconv>

namespace remora::control {

std::string endpointAddress(std::string_view ip, uint32_t port) {
  std::string out;
  if (ip.find(':') != std::string_view::npos) {
    out.append("[").append(ip).append("]");
  } else {
    out.append(ip);
  }
  return out + ":" + std::to_string(port);
}

bool endpointPortMatches(const mesh::ServicePort& sp, int service_ports,
                         const mesh::EndpointPort& ep, int endpoint_ports) {
  if (!ep.has_port() || ep.port() <= 0) {
    return false;
  }
  if (sp.name() == ep.name()) {
    return true;  // the same name, or both unnamed
  }
  return service_ports == 1 && endpoint_ports == 1;
}

void addSliceEndpoints(const mesh::EndpointSlice& slice, const mesh::ServicePort& sp,
                       int service_ports, std::set<std::string>* out) {
  if (slice.address_type() == "FQDN") {
    return;
  }
  for (const mesh::EndpointPort& ep : slice.ports()) {
    if (!endpointPortMatches(sp, service_ports, ep, slice.ports_size())) {
      continue;
    }
    for (const mesh::Endpoint& e : slice.endpoints()) {
      const bool ready = !e.conditions().has_ready() || e.conditions().ready();
      if (ready && e.addresses_size() > 0) {
        out->insert(endpointAddress(e.addresses(0), static_cast<uint32_t>(ep.port())));
      }
    }
    return;  // port names are unique in a slice: at most one matches
  }
}

void addLegacyEndpoints(const mesh::Endpoints& endpoints, const mesh::ServicePort& sp,
                        int service_ports, std::set<std::string>* out) {
  for (const mesh::EndpointSubset& subset : endpoints.subsets()) {
    for (const mesh::EndpointPort& ep : subset.ports()) {
      if (!endpointPortMatches(sp, service_ports, ep, subset.ports_size())) {
        continue;
      }
      for (const mesh::EndpointAddress& a : subset.addresses()) {
        out->insert(endpointAddress(a.ip(), static_cast<uint32_t>(ep.port())));
      }
      break;
    }
  }
}

uint32_t numericTargetPort(const mesh::ServicePort& sp) {
  const std::string& t = sp.target_port();
  if (t.empty()) {
    return static_cast<uint32_t>(sp.port());
  }
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  return ec == std::errc() && end == t.data() + t.size() ? value : 0;
}

}  // namespace remora::control
