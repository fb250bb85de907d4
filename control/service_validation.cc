#include "control/service_validation.h"

#include <arpa/inet.h>

#include <map>
#include <set>
#include <string>

#include "control/field_checks.h"

namespace remora::control {
namespace {

// An IANA service name as Kubernetes allows it for a named targetPort.
bool isPortName(std::string_view s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' ||
      s.find("--") != std::string_view::npos) {
    return false;
  }
  bool letter = false;
  for (char c : s) {
    const bool lower = c >= 'a' && c <= 'z';
    letter = letter || lower;
    if (!lower && !(c >= '0' && c <= '9') && c != '-') {
      return false;
    }
  }
  return letter;
}

void checkTargetPort(std::string_view target, std::string_view path, ObjectChecker& check) {
  if (target.empty()) {
    return;
  }
  if (target.find_first_not_of("0123456789") == std::string_view::npos) {
    const int64_t port = target.size() > 6 ? 0 : std::stoll(std::string(target));
    checkPort(port, path, check);
  } else if (!isPortName(target)) {
    check.error(path, quote(target) +
                          " is neither a port number nor a port name (at most 15 of a-z, 0-9 "
                          "and '-', with at least one letter)");
  }
}

// Port names: required and unique once there is more than one port (as Kubernetes says).
template <typename Port>
void checkPortNames(const google::protobuf::RepeatedPtrField<Port>& ports, std::string_view path,
                    ObjectChecker& check) {
  std::map<std::string, size_t> names;
  for (int i = 0; i < ports.size(); ++i) {
    const std::string name_path = itemPath(path, "ports", i) + ".name";
    const std::string& name = ports[i].name();
    if (name.empty()) {
      if (ports.size() > 1) {
        check.error(name_path, "required when there is more than one port");
      }
      continue;
    }
    if (!isDnsLabel(name)) {
      check.error(name_path, quote(name) + " is not a valid port name (a DNS-1123 label)");
    }
    auto [first, fresh] = names.emplace(name, i);
    if (!fresh) {
      check.error(name_path,
                  "port name " + quote(name) + " is used twice (first at line " +
                      std::to_string(check.lineOf(itemPath(path, "ports", first->second))) + ")");
    }
  }
}

bool isAddressOf(std::string_view type, const std::string& address) {
  unsigned char buf[16];
  if (type == "IPv4") {
    return inet_pton(AF_INET, address.c_str(), buf) == 1;
  }
  if (type == "IPv6") {
    return inet_pton(AF_INET6, address.c_str(), buf) == 1;
  }
  return isDnsSubdomain(address);  // FQDN
}

void checkEndpointPorts(const google::protobuf::RepeatedPtrField<mesh::EndpointPort>& ports,
                        std::string_view path, bool port_required, ObjectChecker& check) {
  for (int i = 0; i < ports.size(); ++i) {
    const std::string port_path = itemPath(path, "ports", i);
    const mesh::EndpointPort& p = ports[i];
    if (p.has_port()) {
      checkPort(p.port(), port_path + ".port", check);
    } else if (port_required) {
      check.error(port_path + ".port", "required");
    }
    checkProtocol(p.protocol(), port_path + ".protocol", check);
  }
  checkPortNames(ports, path, check);
}

}  // namespace

void validateService(const mesh::Service& service, ObjectChecker& check) {
  checkMetadata(service.metadata(), NameRule::kDns1035Label, check);
  const mesh::ServiceSpec& spec = service.spec();
  static const std::set<std::string, std::less<>> kTypes = {"", "ClusterIP", "NodePort",
                                                            "LoadBalancer", "ExternalName"};
  if (kTypes.count(spec.type()) == 0) {
    check.error("spec.type", "unknown Service type " + quote(spec.type()) +
                                 " (valid: ClusterIP, NodePort, LoadBalancer, ExternalName)");
  }
  std::map<std::pair<std::string, int32_t>, size_t> numbers;  // (protocol, port) -> index
  for (int i = 0; i < spec.ports_size(); ++i) {
    const std::string path = itemPath("spec", "ports", i);
    const mesh::ServicePort& p = spec.ports(i);
    if (!p.has_port()) {
      check.error(path + ".port", "required");
    } else if (checkPort(p.port(), path + ".port", check)) {
      const std::string protocol = p.protocol().empty() ? "TCP" : p.protocol();
      auto [first, fresh] = numbers.emplace(std::pair{protocol, p.port()}, i);
      if (!fresh) {
        check.error(path + ".port",
                    "port " + std::to_string(p.port()) + "/" + protocol +
                        " is listed twice (first at line " +
                        std::to_string(check.lineOf(itemPath("spec", "ports", first->second))) +
                        ")");
      }
    }
    checkTargetPort(p.target_port(), path + ".targetPort", check);
    checkProtocol(p.protocol(), path + ".protocol", check);
  }
  checkPortNames(spec.ports(), "spec", check);
}

void validateEndpointSlice(const mesh::EndpointSlice& slice, ObjectChecker& check) {
  checkMetadata(slice.metadata(), NameRule::kDnsSubdomain, check);
  const auto& labels = slice.metadata().labels();
  auto service = labels.find(std::string(kServiceNameLabel));
  if (service == labels.end()) {
    check.error("metadata.labels", "the label " + std::string(kServiceNameLabel) +
                                       " is required (it names the slice's Service)");
  } else if (!isDns1035Label(service->second)) {
    check.error(xds::mapEntryPath("metadata.labels", kServiceNameLabel),
                quote(service->second) + " is not a valid Service name");
  }
  const std::string& type = slice.address_type();
  const bool known_type = type == "IPv4" || type == "IPv6" || type == "FQDN";
  if (type.empty()) {
    check.error("addressType", "required (IPv4, IPv6 or FQDN)");
  } else if (!known_type) {
    check.error("addressType",
                "unknown address type " + quote(type) + " (valid: IPv4, IPv6, FQDN)");
  }
  for (int i = 0; i < slice.endpoints_size(); ++i) {
    const std::string path = itemPath("", "endpoints", i);
    const mesh::Endpoint& e = slice.endpoints(i);
    if (e.addresses_size() == 0) {
      check.error(path + ".addresses", "at least one address is required");
    }
    for (int j = 0; j < e.addresses_size() && known_type; ++j) {
      if (!isAddressOf(type, e.addresses(j))) {
        check.error(itemPath(path, "addresses", j),
                    quote(e.addresses(j)) + " is not an address of type " + type);
      }
    }
  }
  checkEndpointPorts(slice.ports(), "", /*port_required=*/false, check);
}

void validateEndpoints(const mesh::Endpoints& endpoints, ObjectChecker& check) {
  checkMetadata(endpoints.metadata(), NameRule::kDns1035Label, check);
  for (int i = 0; i < endpoints.subsets_size(); ++i) {
    const std::string path = itemPath("", "subsets", i);
    const mesh::EndpointSubset& subset = endpoints.subsets(i);
    auto addresses = [&](const google::protobuf::RepeatedPtrField<mesh::EndpointAddress>& list,
                         std::string_view name) {
      for (int j = 0; j < list.size(); ++j) {
        const std::string ip_path = itemPath(path, name, j) + ".ip";
        if (list[j].ip().empty()) {
          check.error(ip_path, "required");
        } else if (!isIpLiteral(list[j].ip())) {
          check.error(ip_path, quote(list[j].ip()) + " is not an IP address");
        }
      }
    };
    addresses(subset.addresses(), "addresses");
    addresses(subset.not_ready_addresses(), "notReadyAddresses");
    checkEndpointPorts(subset.ports(), path, /*port_required=*/true, check);
  }
}

}  // namespace remora::control
