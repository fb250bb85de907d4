#include "kubernetes_support.h"

namespace remora::test {

std::string kubeService(const std::string& ns, const std::string& name) {
  return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  ports: [{name: http, port: 8080, targetPort: 8080}]\n";
}

std::string kubeSlice(const std::string& api_version, const std::string& ns,
                      const std::string& name, const std::string& svc, const std::string& address) {
  size_t colon = address.rfind(':');
  return "---\napiVersion: " + api_version + "\nkind: EndpointSlice\nmetadata:\n  name: " + name +
         "\n  namespace: " + ns + "\n  labels: {kubernetes.io/service-name: " + svc +
         "}\naddressType: IPv4\nendpoints:\n- addresses: [" + address.substr(0, colon) +
         "]\n  conditions: {ready: true}\nports: [{name: http, port: " + address.substr(colon + 1) +
         "}]\n";
}

std::string kubeSplit(const std::string& ns, int w1, int w2) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: canary, "
         "namespace: " +
         ns +
         "}\nspec:\n  parentRefs: [{group: \"\", kind: Service, name: catalog, port: 8080}]\n"
         "  rules:\n  - backendRefs:\n    - {name: catalog-v1, port: 8080, weight: " +
         std::to_string(w1) +
         "}\n    - {name: catalog-v2, port: 8080, weight: " + std::to_string(w2) + "}\n";
}

void KubernetesTest::SetUp() {
  std::string why;
  bool skip = false;
  api_ = KubeApiServer::shared(&why, &skip);
  if (api_ == nullptr) {
    if (skip) {
      GTEST_SKIP() << why;
    }
    FAIL() << why;
  }
  ns_ = api_->createNamespace("mesh");
  ASSERT_FALSE(ns_.empty());
}

ControlPlane KubernetesTest::startControl(const std::string& name, std::vector<std::string> extra,
                                          const KubeApiServer* api) {
  const KubeApiServer& a = api != nullptr ? *api : *api_;
  std::vector<std::string> args = {"--kubernetes",
                                   "--kubeconfig",
                                   a.kubeconfig(),
                                   "--watch-namespaces",
                                   ns_,
                                   "--lease-namespace",
                                   ns_};
  args.insert(args.end(), extra.begin(), extra.end());
  return ControlPlane::start(dir_, name, "", args);
}

std::string KubernetesTest::sliceVersion(const KubeApiServer& api) {
  RunResult r = api.kubectl({"api-versions"});
  for (const std::string& line : splitLines(r.out)) {
    if (line == "discovery.k8s.io/v1") {
      return line;
    }
  }
  return "discovery.k8s.io/v1beta1";
}

void KubernetesTest::applyCanary(const Echo& v1, const Echo& v2, const KubeApiServer* api) {
  const KubeApiServer& a = api != nullptr ? *api : *api_;
  std::string v = sliceVersion(a);
  RunResult r =
      a.apply(kubeService(ns_, "catalog") + kubeService(ns_, "catalog-v1") +
              kubeService(ns_, "catalog-v2") + kubeSlice(v, ns_, "v1", "catalog-v1", v1.address) +
              kubeSlice(v, ns_, "v2", "catalog-v2", v2.address) + "---\n" + kubeSplit(ns_, 100, 0));
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace remora::test
