#pragma once
// Shared pieces of the Kubernetes tests: a fixture on the shared API server with a namespace
// of its own, and the objects the tests create there.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/http_client.h"
#include "support/kube_api_server.h"
#include "support/mesh.h"

namespace remora::test {

// A Service `name` (port 8080) in `ns`.
std::string kubeService(const std::string& ns, const std::string& name);
// An EndpointSlice of Service `svc` in `ns` with one endpoint "IP:PORT", in the version the
// server serves (`api_version`: discovery.k8s.io/v1 or v1beta1).
std::string kubeSlice(const std::string& api_version, const std::string& ns,
                      const std::string& name, const std::string& svc, const std::string& address);
// An HTTPRoute for Service catalog splitting between catalog-v1 and catalog-v2.
std::string kubeSplit(const std::string& ns, int w1, int w2);

class KubernetesTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // remora-control --kubernetes on the API server, watching only this test's namespace (and
  // keeping its Lease there), plus `extra`.
  ControlPlane startControl(const std::string& name, std::vector<std::string> extra = {},
                            const KubeApiServer* api = nullptr);
  // Services catalog, catalog-v1, catalog-v2 with one endpoint each, and the route 100/0.
  void applyCanary(const Echo& v1, const Echo& v2, const KubeApiServer* api = nullptr);
  // The EndpointSlice version the API server serves.
  std::string sliceVersion(const KubeApiServer& api);

  TempDir dir_;
  KubeApiServer* api_ = nullptr;
  std::string ns_;
};

}  // namespace remora::test
