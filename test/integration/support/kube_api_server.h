#pragma once
// Test support: a real kube-apiserver (v1.20.2, with etcd) on 127.0.0.1, started by
// test/k8s/apiserver.sh, and kubectl against it (docs/kubernetes.md "How the tests run a real
// API server").
//
// Most tests share one API server that the ctest fixture k8s.ApiServerStart started (its run
// directory is REMORA_K8S_SHARED_RUN) and keep apart by namespaces; tests that restart the
// server or compact etcd start a private one.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "process.h"
#include "sockets.h"

namespace remora::test {

class KubeApiServer {
 public:
  // The shared server; nullptr when there is none, with the reason in `why_not`. `skip` says
  // whether the reason is that the API server cannot be built here (test/k8s/build-apiserver.sh
  // said so: the tests skip with that message) rather than a failure to start it.
  static KubeApiServer* shared(std::string* why_not, bool* skip);
  // A server of the caller's own, stopped when the object dies. `extra_args` go to
  // kube-apiserver (e.g. "--watch-cache=false"). nullptr (with the reason) on failure.
  static std::unique_ptr<KubeApiServer> startPrivate(const std::string& extra_args,
                                                     std::string* why_not);
  ~KubeApiServer();

  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& runDir() const { return run_; }
  // kubectl --kubeconfig ... ARGS.
  RunResult kubectl(const std::vector<std::string>& args) const;
  // kubectl apply -f of `yaml` (written to a file of the run directory).
  RunResult apply(const std::string& yaml) const;
  // A namespace of the test's own (created now, `labels` "k=v" optional); its name.
  std::string createNamespace(const std::string& prefix, const std::string& labels = "") const;
  // Restarts kube-apiserver (etcd keeps the data): every watch breaks and resourceVersions
  // older than the restart become 410 Gone. Returns false on failure.
  bool restart() const;
  // Compacts etcd at its current revision (with --watch-cache=false, older resourceVersions
  // are then 410 Gone).
  bool compact() const;

 private:
  KubeApiServer(std::string run, bool owned);
  std::string run_;
  std::string kubeconfig_;
  bool owned_ = false;
  // Runs a helper command of this server to its exit.
  RunResult run(const std::vector<std::string>& argv,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(60000)) const;

  std::unique_ptr<TempDir> dir_;  // scratch files; for a private server also its run dir
};

// The shipped CRDs (k8s/crds/) applied to `api`; false (with kubectl's output in `why`) on
// failure.
bool applyCrds(const KubeApiServer& api, std::string* why);

}  // namespace remora::test
