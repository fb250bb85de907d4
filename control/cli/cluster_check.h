#pragma once
// `remoractl check --kubernetes [--kubeconfig FILE] [--kube-context NAME] [--namespace NS]
// [--webhook-config NAME] [--control ADDR]`: checks a live installation the way
// `linkerd check` does (docs/kubernetes.md "Troubleshooting"). One line per check:
//
//   [ok]   Kubernetes API reachable: v1.20.2 at https://...
//   [FAIL] control plane ready: deployment remora-system/remora-control has 0 of 2 ready
//          -> kubectl -n remora-system describe deployment remora-control
//
// Checks, in order (a failed one does not stop the others, except that nothing runs without
// the API): API reachable; each CRD of this remoractl's installation present, established and
// current (its schema as this version ships it); the control plane Deployment ready; the
// injector's MutatingWebhookConfiguration present with a CA bundle holding a certificate valid
// now, and the webhook answering /healthz over TLS verified with that bundle; every injected
// pod's proxy connected to the control plane and in sync. A proxy is connected to one replica,
// so /v1/proxies is read from every running control plane pod (label app=remora-control)
// through the API server's pod proxy, unless --control ADDR (host:port) names one API.
//
// Returns 0 when every check passed, 1 when one failed, 2 on bad usage.

#include <cstdio>
#include <string>
#include <vector>

namespace remora::control::cli {

int runClusterCheck(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace remora::control::cli
