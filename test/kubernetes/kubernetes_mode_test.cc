// remora-control in Kubernetes mode against a real kube-apiserver: sidecars (on loopback,
// standing in for pods) get their config from objects created with kubectl.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "kubernetes_support.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

TEST_F(KubernetesTest, SidecarsRouteByServicesSlicesAndRoutesCreatedWithKubectl) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  applyCanary(v1, v2);
  // The pod that the sidecar stands in for (no kubelet runs it: the object is enough).
  ASSERT_EQ(
      api_->apply("apiVersion: v1\nkind: Pod\nmetadata: {name: frontend-1, namespace: " + ns_ +
                  ", labels: {app: frontend, version: v3}}\nspec:\n  serviceAccountName: "
                  "frontend-sa\n  containers: [{name: app, image: example/frontend:1}]\n")
          .exit_code,
      0);
  ControlPlane cp = startControl("control");
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1." + ns_, "frontend", ns_,
                           {"--labels", "version=forged"});
  ASSERT_FALSE(sc.admin.empty()) << readFile(sc.stderr_file);
  // The node id maps to the Pod: its labels and service account, not what the sidecar said.
  std::string proxies = cp.get("/v1/proxies");
  EXPECT_NE(proxies.find("\"pod\":\"" + ns_ + "/frontend-1\",\"service_account\":\"frontend-sa\""),
            std::string::npos)
      << proxies;
  EXPECT_NE(proxies.find("\"version\":\"v3\""), std::string::npos) << proxies;
  EXPECT_EQ(proxies.find("forged"), std::string::npos) << proxies;

  common::HttpClient c(sc.listeners.at("outbound"));
  for (const std::string& host :
       std::vector<std::string>{"catalog", "catalog." + ns_ + ":8080", "catalog-v2"}) {
    auto [status, id] = callVia(c, host);
    EXPECT_EQ(status, 200) << host;
    EXPECT_EQ(id, host == "catalog-v2" ? "v2" : "v1") << host;
  }
  std::string services = cp.get("/v1/services");
  EXPECT_NE(services.find(v1.address), std::string::npos) << services;
  EXPECT_NE(services.find("\"routes\":[\"" + ns_ + "/canary\"]"), std::string::npos) << services;
  std::string status = cp.get("/v1/status");
  EXPECT_NE(status.find("\"name\":\"kubernetes:https://127.0.0.1:"), std::string::npos) << status;
  EXPECT_NE(status.find("\"waiting_for\":[]}"), std::string::npos) << status;

  // A new endpoint created with kubectl reaches the sidecar; deleting the Service's slice
  // takes it away.
  Echo v2b = Echo::start(dir_, "v2b");
  ASSERT_EQ(
      api_->apply(kubeSlice(sliceVersion(*api_), ns_, "v2b", "catalog-v2", v2b.address)).exit_code,
      0);
  ASSERT_EQ(api_->kubectl({"-n", ns_, "delete", "endpointslice", "v2"}).exit_code, 0);
  // Both changes are in once every request goes to v2b (while only the new slice is in, the
  // requests alternate between v2 and v2b).
  auto onlyV2b = [&] {
    for (int i = 0; i < 6; ++i) {
      if (callVia(c, "catalog-v2").second != "v2b") {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(eventually(onlyV2b, 5s));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(callVia(c, "catalog-v2").second, "v2b");
  }
}

TEST_F(KubernetesTest, EndpointsOfRunningInjectedPodsGetHttp1RequestsOverHttp2) {
  // orders-1 (HTTP/1) behind its own sidecar; the slice's endpoint is that sidecar's inbound
  // listener, and the Pod (as the injection leaves it) has that IP once it runs.
  Echo echo = Echo::start(dir_, "orders-1");
  ControlPlane cp = startControl("control");
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar far =
      meshSidecar(dir_, cp.xds, "orders-1." + ns_, "orders", ns_, {"--app", echo.address});
  ASSERT_FALSE(far.admin.empty()) << readFile(far.stderr_file);
  Sidecar near = meshSidecar(dir_, cp.xds, "frontend-1." + ns_, "frontend", ns_);
  ASSERT_FALSE(near.admin.empty()) << readFile(near.stderr_file);
  RunResult r = api_->apply(
      kubeService(ns_, "orders") +
      kubeSlice(sliceVersion(*api_), ns_, "orders", "orders", far.listeners.at("inbound")) +
      "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: orders-1\n  namespace: " + ns_ +
      "\n  annotations: {remora.dev/status: injected}\nspec:\n  initContainers:\n  - {name: "
      "remora-init, image: remora-sidecar:test, args: [iptables, --exclude-inbound-ports, "
      "'15021,15090']}\n  containers: [{name: app, image: example/orders:1}]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A running injected pod left on the shared API server would show in other tests'
  // `remoractl check --kubernetes` (it lists them cluster-wide): deleted however the test ends.
  struct DeletePod {
    const KubeApiServer& api;
    std::string ns;
    ~DeletePod() { (void)api.kubectl({"-n", ns, "delete", "pod", "orders-1", "--wait=false"}); }
  } delete_pod{*api_, ns_};
  auto detected = [&](const std::string& protocol, const std::string& reason) {
    return far.stat("remora_protocol_detect_total{listener=\"inbound\",protocol=\"" + protocol +
                    "\",reason=\"" + reason + "\"}");
  };
  common::HttpClient c(near.listeners.at("outbound"));
  // Pending (no IP, not running): HTTP/1 all the way.
  ASSERT_TRUE(eventually([&] { return callVia(c, "orders").second == "orders-1"; }, 5s));
  EXPECT_GE(detected("http", "request-line"), 1);
  EXPECT_EQ(detected("http2", "http2-preface"), 0);

  RunResult running = api_->kubectl(
      {"-n", ns_, "patch", "pod", "orders-1", "--subresource=status", "--type=merge", "-p",
       R"({"status":{"phase":"Running","podIP":"127.0.0.1","podIPs":[{"ip":"127.0.0.1"}]}})"});
  ASSERT_EQ(running.exit_code, 0) << running.err;
  // Running and injected: the endpoint is marked and the caller switches to HTTP/2.
  EXPECT_TRUE(eventually(
      [&] {
        return callVia(c, "orders").second == "orders-1" && detected("http2", "http2-preface") >= 1;
      },
      5s));
  const long long http1 = detected("http", "request-line");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(callVia(c, "orders", "/n" + std::to_string(i)).second, "orders-1");
  }
  EXPECT_EQ(detected("http", "request-line"), http1);  // none of them as HTTP/1
  const std::string dump = near.adminGet("/config_dump");
  EXPECT_NE(dump.find("\"has_sidecar\":true"), std::string::npos) << dump;
}

TEST_F(KubernetesTest, AppliedRouteAndPolicyChangesReachEverySidecarWithinASecond) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  applyCanary(v1, v2);
  ControlPlane cp = startControl("control", {"--debounce", "20ms"});
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  std::vector<Sidecar> sidecars;
  std::vector<common::HttpClient> clients;
  for (int i = 0; i < 3; ++i) {
    sidecars.push_back(
        meshSidecar(dir_, cp.xds, "frontend-" + std::to_string(i) + "." + ns_, "frontend", ns_));
    ASSERT_FALSE(sidecars.back().admin.empty()) << readFile(sidecars.back().stderr_file);
  }
  for (const Sidecar& s : sidecars) {
    clients.emplace_back(s.listeners.at("outbound"));
  }
  // Until every sidecar answers `want` for catalog (one request each per round).
  auto everySidecar = [&](const std::function<bool(int, const std::string&)>& want) {
    return eventually(
        [&] {
          for (auto& c : clients) {
            auto [status, id] = callVia(c, "catalog");
            if (!want(status, id)) {
              return false;
            }
          }
          return true;
        },
        10s, 2ms);
  };
  ASSERT_TRUE(everySidecar([](int s, const std::string& id) { return s == 200 && id == "v1"; }));

  // 12 route flips (v1 <-> v2), then 12 policy changes (a fault abort with a new status).
  std::vector<long long> total_ms;  // from just before kubectl apply starts
  std::vector<long long> after_ms;  // from kubectl's exit (the object is stored)
  for (int i = 0; i < 24; ++i) {
    std::string yaml;
    std::function<bool(int, const std::string&)> want;
    if (i < 12) {
      bool to_v2 = i % 2 == 0;
      yaml = kubeSplit(ns_, to_v2 ? 0 : 100, to_v2 ? 100 : 0);
      want = [to_v2](int s, const std::string& id) {
        return s == 200 && id == (to_v2 ? "v2" : "v1");
      };
    } else {
      int code = 500 + (i - 12);
      yaml =
          "apiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: "
          "catalog, namespace: " +
          ns_ +
          "}\nspec:\n  targetRefs: [{group: \"\", kind: Service, name: catalog}]\n"
          "  faultInjection: {abort: {percent: 100, httpStatus: " +
          std::to_string(code) + "}}\n";
      want = [code](int s, const std::string&) { return s == code; };
    }
    auto start = std::chrono::steady_clock::now();
    RunResult r = api_->apply(yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto stored = std::chrono::steady_clock::now();
    ASSERT_TRUE(everySidecar(want)) << "change " << i;
    total_ms.push_back(msSince(start));
    after_ms.push_back(msSince(stored));
  }
  auto pct = [](std::vector<long long> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  };
  std::printf(
      "kubectl apply -> all 3 sidecars, %zu changes: p50 %lld ms, p99 %lld ms "
      "(kubectl's own run included); from kubectl's exit: p50 %lld ms, p99 %lld ms\n",
      total_ms.size(), pct(total_ms, 0.5), pct(total_ms, 0.99), pct(after_ms, 0.5),
      pct(after_ms, 0.99));
  EXPECT_LT(pct(after_ms, 0.99), 1000);
  EXPECT_LT(pct(total_ms, 0.5), 1000);
}

TEST_F(KubernetesTest, InvalidPolicyGetsAcceptedFalseAndTheOldConfigKeepsServing) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  applyCanary(v1, v2);
  std::string good =
      "apiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: "
      "{name: catalog, namespace: " +
      ns_ +
      "}\nspec:\n  targetRefs: [{group: \"\", kind: Service, name: catalog}]\n"
      "  faultInjection: {abort: {percent: 100, httpStatus: 503}}\n";
  ASSERT_EQ(api_->apply(good).exit_code, 0);
  ControlPlane cp = startControl("control");
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1." + ns_, "frontend", ns_);
  ASSERT_FALSE(sc.admin.empty());
  common::HttpClient c(sc.listeners.at("outbound"));
  EXPECT_EQ(callVia(c, "catalog").first, 503);
  auto condition = [&] {
    return api_
        ->kubectl({"-n", ns_, "get", "trafficpolicy", "catalog", "-o",
                   "jsonpath={.status.conditions[0].status} {.status.conditions[0].reason} "
                   "{.status.conditions[0].observedGeneration} "
                   "{.status.conditions[0].message}"})
        .out;
  };
  std::string cond;
  EXPECT_TRUE(
      eventually([&] { return (cond = condition()).rfind("True Accepted 1", 0) == 0; }, 10s, 100ms))
      << cond;

  // Valid for the schema, wrong for the mesh: a backoff whose base is over its maximum.
  std::string bad = good + "  retry: {attempts: 2, backoff: {baseInterval: 2s, maxInterval: 1s}}\n";
  ASSERT_EQ(api_->apply(bad).exit_code, 0);
  EXPECT_TRUE(
      eventually([&] { return (cond = condition()).rfind("False Invalid 2", 0) == 0; }, 10s, 100ms))
      << cond;
  EXPECT_NE(cond.find("spec.retry.backoff"), std::string::npos) << cond;
  // The old version stays in force; the problem shows in /v1/status too.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(callVia(c, "catalog").first, 503);
  }
  std::string status = cp.get("/v1/status");
  EXPECT_NE(status.find("TrafficPolicy " + ns_ + "/catalog: spec.retry.backoff"), std::string::npos)
      << status;
  // Fixed: accepted again, and the new version applies.
  std::string fixed =
      "apiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: "
      "{name: catalog, namespace: " +
      ns_ +
      "}\nspec:\n  targetRefs: [{group: \"\", kind: Service, name: catalog}]\n"
      "  faultInjection: {abort: {percent: 100, httpStatus: 502}}\n";
  ASSERT_EQ(api_->apply(fixed).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return callVia(c, "catalog").first == 502; }, 5s));
  EXPECT_TRUE(
      eventually([&] { return (cond = condition()).rfind("True Accepted 3", 0) == 0; }, 10s, 100ms))
      << cond;
  // The route's status is under status.parents[], one entry per parentRef.
  RunResult route = api_->kubectl(
      {"-n", ns_, "get", "httproute", "canary", "-o",
       "jsonpath={.status.parents[0].parentRef.name} {.status.parents[0].controllerName} "
       "{.status.parents[0].conditions[0].type}={.status.parents[0].conditions[0].status}"});
  EXPECT_EQ(route.out, "catalog remora.dev/control-plane Accepted=True") << route.err;
}

}  // namespace
}  // namespace remora::test
