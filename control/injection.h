#pragma once
// Sidecar injection: the one mutation that both `remoractl inject` (offline, on manifests) and
// the admission webhook (on each Pod the API server is about to create) apply. It works on the
// JSON document model (google.protobuf.Value) so that fields it does not know pass through
// untouched. docs/injection.md describes what is added and why; this header is the contract.

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::control {

// Annotations (on the pod, or on a workload's pod template).
inline constexpr const char* kInjectAnnotation = "remora.dev/inject";
inline constexpr const char* kStatusAnnotation = "remora.dev/status";
inline constexpr const char* kInjectedStatus = "injected";
inline constexpr const char* kExcludeInboundPortsAnnotation = "remora.dev/exclude-inbound-ports";
inline constexpr const char* kExcludeOutboundPortsAnnotation = "remora.dev/exclude-outbound-ports";
inline constexpr const char* kExcludeOutboundIpRangesAnnotation =
    "remora.dev/exclude-outbound-ip-ranges";
inline constexpr const char* kIncludeInboundPortsAnnotation = "remora.dev/include-inbound-ports";
inline constexpr const char* kProxyCpuAnnotation = "remora.dev/proxy-cpu";
inline constexpr const char* kProxyMemoryAnnotation = "remora.dev/proxy-memory";
inline constexpr const char* kLogLevelAnnotation = "remora.dev/log-level";
inline constexpr const char* kNativeSidecarAnnotation = "remora.dev/native-sidecar";
// "false": kubelet probes the app directly on excluded ports instead of through the sidecar.
inline constexpr const char* kRewriteAppProbesAnnotation = "remora.dev/rewrite-app-probes";
// The namespace label that selects every pod of the namespace, and its value.
inline constexpr const char* kNamespaceInjectLabel = "remora.dev/inject";
inline constexpr const char* kNamespaceInjectEnabled = "enabled";

inline constexpr const char* kProxyContainerName = "remora-proxy";
inline constexpr const char* kInitContainerName = "remora-init";

struct InjectionOptions {
  // One image runs both the init step (`remora-sidecar iptables ...`) and the proxy; it must
  // have remora-sidecar on its PATH. The default is the name docs/kubernetes.md builds
  // k8s/images/Dockerfile.sidecar as, next to remora-control:VERSION of the installation.
  std::string proxy_image = std::string("remora-sidecar:") + REMORA_VERSION;
  std::string control_plane = "remora-control.remora-system.svc:15010";  // REMORA_XDS
  bool native_sidecar = false;  // default for pods without remora.dev/native-sidecar
  int64_t proxy_uid = 1337;
  std::string proxy_cpu = "50m";      // default CPU request of remora-proxy
  std::string proxy_memory = "64Mi";  // default memory request of remora-proxy
};

// What the caller knows about the namespace's remora.dev/inject label.
enum class NamespaceSelection {
  kEnabled,     // the namespace is labelled remora.dev/inject=enabled
  kNotEnabled,  // the label is absent or has another value: only annotated pods are injected
  kUnknown,     // offline (remoractl inject): inject unless the pod says "false"
};

enum class InjectOutcome {
  kInjected,
  kAlreadyInjected,       // remora.dev/status: injected, or a remora-proxy container is there
  kDisabledByAnnotation,  // remora.dev/inject: "false"
  kNotSelected,           // neither the namespace label nor the annotation selects it
  kHostNetwork,           // hostNetwork: true is never injected
};

// "injected", "already-injected", "disabled-by-annotation", "not-selected", "host-network".
const char* outcomeName(InjectOutcome outcome);

struct InjectionReport {
  InjectOutcome outcome = InjectOutcome::kNotSelected;
  std::string service;                // REMORA_SERVICE given to the proxy (when injected)
  std::vector<std::string> warnings;  // e.g. a Job without native-sidecar mode
  // On an error: the JSON Pointer (within the object given) of the value at fault.
  std::string error_pointer;
};

// The JSON Pointer of the pod template inside an object of `kind`: "" for Pod,
// "/spec/template" for Deployment, StatefulSet, DaemonSet, ReplicaSet and Job,
// "/spec/jobTemplate/spec/template" for CronJob; nullopt for any other kind (not injected).
std::optional<std::string> podTemplatePointer(std::string_view kind);

// Injects the object `object` (a whole Pod, Deployment, ... as listed by podTemplatePointer;
// its "kind" member says which) in place, when selected:
//  1. another kind, or no pod template there: untouched, kNotSelected;
//  2. hostNetwork: true -> kHostNetwork; remora.dev/status: injected or a remora-proxy container
//     -> kAlreadyInjected; remora.dev/inject: "false" -> kDisabledByAnnotation; then "true", a
//     namespace kEnabled or kUnknown selects it, else kNotSelected. Only the pod template's own
//     annotations count (a workload's metadata is not the pod's).
//  3. selected: adds remora-init and remora-proxy, the annotations and the exclusions as
//     docs/injection.md lists; kInjected. The app containers' liveness, readiness and startup
//     probes that are httpGet (plain HTTP) or tcpSocket without `host:` are rewritten to
//     httpGet :15021 /app-health/<container>/<livez|readyz|startupz> (timing fields kept), the
//     originals going to remora-proxy's REMORA_APP_PROBES as a JSON object path -> probe; the
//     ports of the other probes are excluded from inbound capture. With
//     remora.dev/rewrite-app-probes: "false" nothing is rewritten and every probe port is
//     excluded (unless remora.dev/include-inbound-ports lists the captured ports).
// Errors (kInvalidArgument, nothing changed): an annotation with a bad value (message names the
// annotation and the expected form; report->error_pointer points at it), a template that is not
// an object, containers that are not a list of objects, no name to derive the service from.
// Injecting an injected object again changes nothing.
common::Status injectObject(google::protobuf::Value* object, NamespaceSelection ns,
                            const InjectionOptions& options, InjectionReport* report);

}  // namespace remora::control
