#include "control/kube_sidecars.h"

#include <charconv>
#include <string_view>

#include "common/cli_flags.h"
#include "control/injection.h"
#include "control/kube_watch.h"

namespace remora::control {

namespace pb = google::protobuf;

namespace {

// "15021,15090" -> {15021, 15090}; items that are not ports are skipped (the injection wrote
// the list, and the sidecar refuses a bad one).
std::set<uint32_t> portSet(const std::string& list) {
  std::set<uint32_t> out;
  for (const std::string& item : common::splitCommaList(list)) {
    uint32_t port = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), port);
    if (ec == std::errc() && end == item.data() + item.size() && port >= 1 && port <= 65535) {
      out.insert(port);
    }
  }
  return out;
}

constexpr std::string_view kExcludeFlag = "--exclude-inbound-ports";
constexpr std::string_view kIncludeFlag = "--include-inbound-ports";

// The remora-init container's iptables flags ("--flag VALUE" or "--flag=VALUE"); nullopt
// without that container (nothing intercepts the pod's inbound traffic).
std::optional<SidecarPorts> capturedPorts(const pb::Value& pod) {
  const pb::Value* inits = jsonAt(pod, "spec.initContainers");
  if (inits == nullptr || !inits->has_list_value()) {
    return std::nullopt;
  }
  for (const pb::Value& c : inits->list_value().values()) {
    const pb::Value* args = jsonAt(c, "args");
    if (jsonString(c, "name") != kInitContainerName || args == nullptr || !args->has_list_value()) {
      continue;
    }
    SidecarPorts ports;
    const auto& list = args->list_value().values();
    for (int i = 0; i < list.size(); ++i) {
      const std::string& arg = list[i].string_value();
      const size_t eq = arg.find('=');
      const std::string name = arg.substr(0, eq);
      if (name != kExcludeFlag && name != kIncludeFlag) {
        continue;
      }
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < list.size()) {
        value = list[++i].string_value();
      }
      if (name == kExcludeFlag) {
        ports.excluded = portSet(value);
      } else if (value != "*") {
        ports.all = false;
        ports.included = portSet(value);
      }
    }
    return ports;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PodSidecar> podSidecar(const pb::Value& pod) {
  const pb::Value* annotations = jsonAt(pod, "metadata.annotations");
  if (annotations == nullptr || !annotations->has_struct_value()) {
    return std::nullopt;
  }
  auto it = annotations->struct_value().fields().find(kStatusAnnotation);
  if (it == annotations->struct_value().fields().end() ||
      it->second.string_value() != kInjectedStatus ||
      jsonString(pod, "status.phase") != "Running") {
    return std::nullopt;
  }
  PodSidecar out;
  if (const pb::Value* ips = jsonAt(pod, "status.podIPs");
      ips != nullptr && ips->has_list_value()) {
    for (const pb::Value& ip : ips->list_value().values()) {
      if (std::string a = jsonString(ip, "ip"); !a.empty()) {
        out.ips.push_back(std::move(a));
      }
    }
  }
  if (out.ips.empty()) {
    if (std::string ip = jsonString(pod, "status.podIP"); !ip.empty()) {
      out.ips.push_back(std::move(ip));
    }
  }
  std::optional<SidecarPorts> ports = capturedPorts(pod);
  if (out.ips.empty() || !ports) {
    return std::nullopt;
  }
  out.ports = std::move(*ports);
  return out;
}

SidecarPods sidecarsByIp(const std::map<std::string, PodSidecar>& pods) {
  SidecarPods out;
  for (const auto& [key, pod] : pods) {
    for (const std::string& ip : pod.ips) {
      out[ip] = pod.ports;
    }
  }
  return out;
}

}  // namespace remora::control
