// Kubernetes mode when the API server goes away, when watches expire, and with two replicas.

#include <atomic>
#include <chrono>
#include <thread>

#include "kubernetes_support.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

long long metric(const ControlPlane& cp, const std::string& line_prefix) {
  std::string m = cp.get("/metrics");
  size_t p = m.find("\n" + line_prefix + " ");
  return p == std::string::npos ? -1 : std::atoll(m.c_str() + p + line_prefix.size() + 2);
}

long long sumOf(const ControlPlane& cp, const std::string& name) {
  long long sum = 0;
  for (const std::string& line : splitLines(cp.get("/metrics"))) {
    if (line.rfind(name + "{", 0) == 0) {
      sum += std::atoll(line.c_str() + line.rfind(' ') + 1);
    }
  }
  return sum;
}

TEST_F(KubernetesTest, ApiServerRestartAndExpiredWatchesLoseNoRequestAndPushNothingUnchanged) {
  std::string why;
  auto api = KubeApiServer::startPrivate("", &why);
  ASSERT_TRUE(api) << why;
  ASSERT_EQ(api->kubectl({"create", "namespace", ns_}).exit_code, 0);
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  applyCanary(v1, v2, api.get());
  ControlPlane cp = startControl("control", {}, api.get());
  ASSERT_FALSE(cp.xds.empty()) << readFile(cp.stderr_file);
  Sidecar sc = meshSidecar(dir_, cp.xds, "frontend-1." + ns_, "frontend", ns_);
  ASSERT_FALSE(sc.admin.empty());
  std::string pushes_before = jsonStrings(cp.get("/v1/status"))["pushes"];

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  auto load = [&] {
    common::HttpClient c(sc.listeners.at("outbound"));
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      (callVia(c, "catalog").first == 200 ? ok : failed)++;
      std::this_thread::sleep_for(1ms);
    }
  };
  std::thread a(load), b(load);
  // Objects elsewhere move the resourceVersion on; the restarted server's watch cache starts
  // there, so the control plane's watches resume from a version that is gone: 410, re-list.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(api->kubectl({"-n", "default", "create", "configmap", "churn-" + std::to_string(i)})
                  .exit_code,
              0);
  }
  ASSERT_TRUE(api->restart());
  EXPECT_TRUE(
      eventually([&] { return sumOf(cp, "remora_control_kube_relists_total") >= 1; }, 20s, 100ms))
      << readFile(cp.stderr_file);
  // A change after all that still arrives (the watches are back).
  ASSERT_EQ(api->apply(kubeSplit(ns_, 0, 100)).exit_code, 0);
  common::HttpClient c(sc.listeners.at("outbound"));
  EXPECT_TRUE(eventually([&] { return callVia(c, "catalog").second == "v2"; }, 10s));
  stop = true;
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_GT(sumOf(cp, "remora_control_kube_watch_failures_total"), 0);
  // The re-lists found nothing new: one push for the route change only.
  std::string log = readFile(cp.stderr_file);
  EXPECT_NE(log.find("listed again (410 Gone): nothing changed"), std::string::npos) << log;
  EXPECT_EQ(std::stoll(jsonStrings(cp.get("/v1/status"))["pushes"]), std::stoll(pushes_before) + 1)
      << log;
}

TEST_F(KubernetesTest, TwoReplicasServeXdsAndOnlyTheLeaderWritesStatus) {
  Echo v1 = Echo::start(dir_, "v1");
  Echo v2 = Echo::start(dir_, "v2");
  applyCanary(v1, v2);
  std::vector<std::string> flags = {"--lease-duration", "2s"};
  ControlPlane a = startControl("control-a", flags);
  ControlPlane b = startControl("control-b", flags);
  ASSERT_FALSE(a.xds.empty()) << readFile(a.stderr_file);
  ASSERT_FALSE(b.xds.empty()) << readFile(b.stderr_file);
  auto isLeader = [](const ControlPlane& cp) {
    return cp.get("/v1/status").find("\"leader\":true") != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return isLeader(a) != isLeader(b); }, 10s, 50ms));
  ControlPlane& leader = isLeader(a) ? a : b;
  ControlPlane& follower = isLeader(a) ? b : a;
  // Both serve the same config to their sidecars.
  Sidecar sa = meshSidecar(dir_, a.xds, "frontend-a." + ns_, "frontend", ns_);
  Sidecar sb = meshSidecar(dir_, b.xds, "frontend-b." + ns_, "frontend", ns_);
  ASSERT_FALSE(sa.admin.empty());
  ASSERT_FALSE(sb.admin.empty());
  common::HttpClient ca(sa.listeners.at("outbound"));
  common::HttpClient cb(sb.listeners.at("outbound"));
  EXPECT_EQ(callVia(ca, "catalog").second, "v1");
  EXPECT_EQ(callVia(cb, "catalog").second, "v1");

  std::string route_status = "jsonpath={.status.parents[0].conditions[0].status}";
  EXPECT_TRUE(eventually(
      [&] {
        return api_->kubectl({"-n", ns_, "get", "httproute", "canary", "-o", route_status}).out ==
               "True";
      },
      10s, 100ms));
  const std::string writes = "remora_control_kube_status_writes_total{result=\"ok\"}";
  EXPECT_GE(metric(leader, writes), 1);
  EXPECT_EQ(metric(follower, writes), 0);
  std::string holder = api_->kubectl({"-n", ns_, "get", "lease", "remora-control", "-o",
                                      "jsonpath={.spec.holderIdentity}"})
                           .out;
  EXPECT_NE(leader.get("/v1/status").find("\"identity\":\"" + holder + "\""), std::string::npos)
      << holder;

  // The leader goes; the follower takes the Lease over and writes the statuses itself.
  leader.process.stop();
  EXPECT_TRUE(eventually([&] { return isLeader(follower); }, 10s, 100ms));
  EXPECT_TRUE(eventually([&] { return metric(follower, writes) >= 1; }, 10s, 100ms));
  ASSERT_EQ(api_->apply(kubeSplit(ns_, 0, 100) + "    - {name: nowhere, port: 8080, weight: 0}\n")
                .exit_code,
            0);
  EXPECT_TRUE(eventually(
      [&] {
        return api_->kubectl({"-n", ns_, "get", "httproute", "canary", "-o", route_status}).out ==
               "False";
      },
      10s, 100ms));
}

}  // namespace
}  // namespace remora::test

namespace remora::test {
namespace {

TEST_F(KubernetesTest,
       RegisteredWorkloadsAreEndpointSlicesThatEveryReplicaServesAndTheLeaderExpires) {
  Echo legacy = Echo::start(dir_, "legacy");
  ASSERT_EQ(api_->apply(kubeService(ns_, "billing")).exit_code, 0);
  ControlPlane a = startControl("control-a", {"--lease-duration", "2s"});
  ASSERT_FALSE(a.xds.empty()) << readFile(a.stderr_file);
  std::string reg =
      "{\"service\":\"billing\",\"namespace\":\"" + ns_ +
      "\",\"address\":\"127.0.0.1\",\"port\":" + std::to_string(portOf(legacy.address)) +
      ",\"ttl_seconds\":3}";
  ASSERT_EQ(a.post("/v1/registry/register", reg), 200);
  // Stored as a slice of the Service, labelled as remora's.
  RunResult slices = api_->kubectl({"-n", ns_, "get", "endpointslices", "-l",
                                    "endpointslice.kubernetes.io/managed-by=remora.dev", "-o",
                                    "jsonpath={.items[*].endpoints[0].addresses[0]}"});
  EXPECT_TRUE(eventually(
      [&] {
        slices = api_->kubectl({"-n", ns_, "get", "endpointslices", "-l",
                                "endpointslice.kubernetes.io/managed-by=remora.dev", "-o",
                                "jsonpath={.items[*].endpoints[0].addresses[0]}"});
        return slices.out == "127.0.0.1";
      },
      5s, 100ms))
      << slices.err;
  // A replica started afterwards serves it too, and takes its heartbeats.
  ControlPlane b = startControl("control-b", {"--lease-duration", "2s"});
  ASSERT_FALSE(b.xds.empty()) << readFile(b.stderr_file);
  Sidecar sb = meshSidecar(dir_, b.xds, "frontend-b." + ns_, "frontend", ns_);
  ASSERT_FALSE(sb.admin.empty());
  common::HttpClient c(sb.listeners.at("outbound"));
  EXPECT_TRUE(eventually([&] { return callVia(c, "billing").second == "legacy"; }, 5s));
  EXPECT_EQ(b.post("/v1/registry/heartbeat", reg), 200);
  // Without heartbeats the leader deletes it after its TTL, and the mesh forgets it.
  EXPECT_TRUE(eventually([&] { return callVia(c, "billing").first == 503; }, 15s, 100ms));
  slices = api_->kubectl({"-n", ns_, "get", "endpointslices", "-l",
                          "endpointslice.kubernetes.io/managed-by=remora.dev", "-o", "name"});
  EXPECT_EQ(slices.out, "") << slices.err;
}

}  // namespace
}  // namespace remora::test
