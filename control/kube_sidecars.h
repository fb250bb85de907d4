#pragma once
// Kubernetes mode: which pods have a remora sidecar in front of them (docs/kubernetes.md
// "Sidecar to sidecar"), so that the translator marks their endpoints has_sidecar and callers'
// sidecars send HTTP/1 requests to them over one HTTP/2 connection.
//
// A pod counts when the injection marked it (remora.dev/status: injected), it has the
// remora-init container that sets up the interception, it is Running and it has an IP. Its sidecar
// receives the ports its remora-init container captures
// (`--include-inbound-ports`, `--exclude-inbound-ports`, as the injection wrote them): an
// endpoint on an excluded port reaches the app directly and is not marked.

#include <google/protobuf/struct.pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/translator.h"

namespace remora::control {

struct PodSidecar {
  std::vector<std::string> ips;  // status.podIPs (else status.podIP)
  SidecarPorts ports;
};

// The sidecar of a Pod (trimmed by trimKubeObject, or whole); nullopt when it has none (not
// injected, no remora-init container, not Running, no IP yet).
std::optional<PodSidecar> podSidecar(const google::protobuf::Value& pod);

// Every IP of `pods` (any key) -> the ports its sidecar captures. A map: deterministic order.
SidecarPods sidecarsByIp(const std::map<std::string, PodSidecar>& pods);

}  // namespace remora::control
