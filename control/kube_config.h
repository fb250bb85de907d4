#pragma once
// Where the Kubernetes API server is and how to authenticate to it (docs/kubernetes.md
// "Control plane in Kubernetes mode"): from a kubeconfig file (--kubeconfig) or, inside a pod,
// from the service account the kubelet mounts.

#include <functional>
#include <string>

#include "common/status.h"

namespace remora::control {

struct KubeConfig {
  std::string server;  // "https://10.96.0.1:443", no trailing slash
  std::string ca_pem;  // CA bundle (PEM) to verify the server; empty: the system's
  bool insecure_skip_tls_verify = false;
  std::string token;       // bearer token (when not read from token_file)
  std::string token_file;  // read again before each request (bound tokens rotate)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string namespace_;  // the context's (or the pod's) namespace; may be empty
  std::string origin;      // "kubeconfig FILE (context NAME)" or "in-cluster", for logs
};

// Reads a kubeconfig: the current context (or `context` when not empty), its cluster and user.
// Understood: cluster server, certificate-authority(-data), insecure-skip-tls-verify; user
// token, tokenFile, client-certificate(-data), client-key(-data). File paths are relative to
// the kubeconfig's directory. Exec and auth-provider plugins are refused (kInvalidArgument,
// "FILE: users[NAME]: exec credential plugins are not supported ..."). Every error names the
// file and what is wrong.
common::Result<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context = "");

// The in-cluster configuration: KUBERNETES_SERVICE_HOST / _PORT from `env` and token, ca.crt
// and namespace from `dir` (default /var/run/secrets/kubernetes.io/serviceaccount). kNotFound
// when not inside a pod (the variables are absent); kInvalidArgument when the files cannot be
// read.
common::Result<KubeConfig> inClusterConfig(
    const std::function<const char*(const char*)>& env,
    const std::string& dir = "/var/run/secrets/kubernetes.io/serviceaccount");

}  // namespace remora::control
