#include "kube_api_server.h"

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace remora::test {

namespace {

std::string script() {
  return std::string(REMORA_SOURCE_DIR) + "/test/k8s/apiserver.sh";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

KubeApiServer::KubeApiServer(std::string run, bool owned)
    : run_(std::move(run)),
      kubeconfig_(run_ + "/kubeconfig"),
      owned_(owned),
      dir_(std::make_unique<TempDir>()) {}

KubeApiServer::~KubeApiServer() {
  if (owned_) {
    run({"/bin/bash", script(), "stop", run_});
  }
}

RunResult KubeApiServer::run(const std::vector<std::string>& argv,
                             std::chrono::milliseconds timeout) const {
  static std::atomic<int> n{0};
  RunResult r = runToExit(*dir_, "cmd-" + std::to_string(n++), argv, timeout);
  r.err = r.out + r.err;  // callers show both
  return r;
}

KubeApiServer* KubeApiServer::shared(std::string* why_not, bool* skip) {
  // Destroyed at exit (not leaked): its scratch directory (the manifests applied, kubectl's
  // output) goes with it. The server itself is the ctest fixture's and stays up.
  static const std::unique_ptr<KubeApiServer> owner = [] {
    const char* run = std::getenv("REMORA_K8S_SHARED_RUN");
    std::string dir = run != nullptr ? run : REMORA_K8S_SHARED_RUN;
    return std::unique_ptr<KubeApiServer>(new KubeApiServer(dir, false));
  }();
  KubeApiServer* server = owner.get();
  std::string unavailable = readFile(server->run_ + "/unavailable");
  *skip = !unavailable.empty();
  if (!unavailable.empty()) {
    *why_not = "no Kubernetes API server here: " + trimmed(unavailable);
    return nullptr;
  }
  if (readFile(server->kubeconfig_).empty()) {
    *why_not =
        "the shared API server is not running (the ctest fixture k8s.ApiServerStart "
        "starts it; run the tests through ctest, or set REMORA_K8S_SHARED_RUN)";
    return nullptr;
  }
  return server;
}

std::unique_ptr<KubeApiServer> KubeApiServer::startPrivate(const std::string& extra_args,
                                                           std::string* why_not) {
  std::unique_ptr<KubeApiServer> api(new KubeApiServer("", true));
  api->run_ = api->dir_->path() + "/api";
  api->kubeconfig_ = api->run_ + "/kubeconfig";
  RunResult r = api->run({"/usr/bin/env", "APISERVER_EXTRA_ARGS=" + extra_args, "/bin/bash",
                          script(), "start", api->run_},
                         std::chrono::milliseconds(90000));
  if (r.exit_code != 0) {
    *why_not = "cannot start a private API server: " + r.err;
    return nullptr;  // the destructor stops whatever started
  }
  std::string why;
  if (!applyCrds(*api, &why)) {
    *why_not = why;
    return nullptr;
  }
  return api;
}

RunResult KubeApiServer::kubectl(const std::vector<std::string>& args) const {
  const char* kubectl = std::getenv("KUBECTL");
  std::vector<std::string> argv = {kubectl != nullptr ? kubectl : "/usr/bin/kubectl",
                                   "--kubeconfig", kubeconfig_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

RunResult KubeApiServer::apply(const std::string& yaml) const {
  static std::atomic<int> n{0};
  std::string file = dir_->write("apply-" + std::to_string(n++) + ".yaml", yaml);
  return kubectl({"apply", "-f", file});
}

std::string KubeApiServer::createNamespace(const std::string& prefix,
                                           const std::string& labels) const {
  static std::atomic<int> n{0};
  std::string name = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  std::string yaml = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n";
  if (!labels.empty()) {
    size_t eq = labels.find('=');
    yaml += "  labels: {\"" + labels.substr(0, eq) + "\": \"" + labels.substr(eq + 1) + "\"}\n";
  }
  RunResult r = apply(yaml);
  return r.exit_code == 0 ? name : "";
}

bool KubeApiServer::restart() const {
  return run({"/bin/bash", script(), "restart", run_}, std::chrono::milliseconds(90000))
             .exit_code == 0;
}

bool KubeApiServer::compact() const {
  return run({"/bin/bash", script(), "compact", run_}).exit_code == 0;
}

bool applyCrds(const KubeApiServer& api, std::string* why) {
  RunResult r = api.kubectl({"apply", "-f", std::string(REMORA_SOURCE_DIR) + "/k8s/crds/"});
  if (r.exit_code != 0) {
    *why = "kubectl apply -f k8s/crds/: " + r.err;
    return false;
  }
  // A CRD is served a moment after it is created.
  r = api.kubectl({"wait", "--for=condition=Established", "--timeout=30s", "crd", "--all"});
  if (r.exit_code != 0) {
    *why = "CRDs not established: " + r.err;
    return false;
  }
  return true;
}

}  // namespace remora::test
