// Which pods have a sidecar (control/kube_sidecars.h): pods as the injection leaves them, trimmed
// as the Pod watch keeps them (control/kube_watch.h trimKubeObject), then read back.

#include "control/kube_sidecars.h"

#include <gtest/gtest.h>

#include <string>

#include "control/injection.h"
#include "control/kube_watch.h"

namespace remora::control {
namespace {

namespace pb = google::protobuf;

const KubeResource kPods{"Pod", "", "pods", {"v1"}, "v1"};

// A pod of the API server: `annotations` is a JSON object's members, `phase` its status.phase.
pb::Value pod(const std::string& annotations, const std::string& phase = "Running") {
  auto v = parseJson(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7",
                 "labels": {"app": "web"}, "annotations": {)" +
                     annotations + R"(}},
    "spec": {"serviceAccountName": "web",
             "containers": [{"name": "app", "image": "web:1",
                             "ports": [{"containerPort": 8080}]}]},
    "status": {"phase": ")" +
                     phase +
                     R"(", "podIP": "10.0.0.4", "podIPs": [{"ip": "10.0.0.4"}, {"ip": "fd00::4"}],
               "hostIP": "192.168.0.2"}})");
  EXPECT_TRUE(v.isOk()) << v.status().message();
  return v.isOk() ? v.value() : pb::Value();
}

// `p` through the injection (as the webhook does at creation), keeping its status.
pb::Value injected(pb::Value p) {
  pb::Value status = *jsonAt(p, "status");
  InjectionReport report;
  common::Status s = injectObject(&p, NamespaceSelection::kEnabled, {}, &report);
  EXPECT_TRUE(s.isOk()) << s.message();
  (*p.mutable_struct_value()->mutable_fields())["status"] = status;
  return p;
}

// `p` as the Pod watch keeps it.
pb::Value trimmed(pb::Value p) {
  auto o = trimKubeObject(kPods, "v1", std::move(p));
  EXPECT_TRUE(o.isOk()) << o.status().message();
  return o.isOk() ? o.value().object : pb::Value();
}

TEST(KubeSidecars, AnInjectedRunningPodHasASidecarOnItsIpsExceptTheExcludedPorts) {
  auto s = podSidecar(trimmed(injected(pod(R"("remora.dev/exclude-inbound-ports": "9090")"))));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->ips, (std::vector<std::string>{"10.0.0.4", "fd00::4"}));
  EXPECT_TRUE(s->ports.all);
  EXPECT_TRUE(s->ports.captures(8080));
  EXPECT_FALSE(s->ports.captures(9090));   // the annotation's
  EXPECT_FALSE(s->ports.captures(15021));  // the sidecar's own health port
}

TEST(KubeSidecars, IncludeInboundPortsLimitsTheCapturedPorts) {
  auto some = podSidecar(trimmed(injected(pod(R"("remora.dev/include-inbound-ports": "8080")"))));
  ASSERT_TRUE(some.has_value());
  EXPECT_FALSE(some->ports.all);
  EXPECT_TRUE(some->ports.captures(8080));
  EXPECT_FALSE(some->ports.captures(9090));
  auto none = podSidecar(trimmed(injected(pod(R"("remora.dev/include-inbound-ports": "")"))));
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->ports.captures(8080));
}

TEST(KubeSidecars, PodsNotInjectedNotRunningOrWithoutInterceptionHaveNone) {
  EXPECT_FALSE(podSidecar(trimmed(pod(""))).has_value());
  EXPECT_FALSE(podSidecar(trimmed(injected(pod("", "Pending")))).has_value());
  EXPECT_FALSE(podSidecar(trimmed(injected(pod("", "Succeeded")))).has_value());
  // The status annotation alone, set by hand: nothing intercepts the pod's traffic.
  EXPECT_FALSE(podSidecar(trimmed(pod(R"("remora.dev/status": "injected")"))).has_value());
  // No IP yet.
  pb::Value no_ip = injected(pod(""));
  auto* status = (*no_ip.mutable_struct_value()->mutable_fields())["status"]
                     .mutable_struct_value()
                     ->mutable_fields();
  status->erase("podIP");
  status->erase("podIPs");
  EXPECT_FALSE(podSidecar(trimmed(no_ip)).has_value());
}

TEST(KubeSidecars, TheWatchKeepsOnlyTheStatusAnnotationAndTheInitContainersArgs) {
  pb::Value t = trimmed(injected(pod(R"("team": "a", "remora.dev/log-level": "debug")")));
  const pb::Value* annotations = jsonAt(t, "metadata.annotations");
  ASSERT_NE(annotations, nullptr);
  ASSERT_EQ(annotations->struct_value().fields_size(), 1);
  EXPECT_EQ(annotations->struct_value().fields().at(kStatusAnnotation).string_value(),
            kInjectedStatus);
  const pb::Value* inits = jsonAt(t, "spec.initContainers");
  ASSERT_NE(inits, nullptr);
  ASSERT_EQ(inits->list_value().values_size(), 1);
  const pb::Value& init = inits->list_value().values(0);
  EXPECT_EQ(init.struct_value().fields_size(), 2);  // name and args
  EXPECT_EQ(jsonString(init, "name"), kInitContainerName);
  EXPECT_EQ(jsonAt(t, "spec.containers"), nullptr);
  // A pod without annotations keeps none.
  EXPECT_EQ(jsonAt(trimmed(pod(R"("team": "a")")), "metadata.annotations"), nullptr);
}

TEST(KubeSidecars, EveryIpOfEveryPodIsIndexed) {
  PodSidecar a{{"10.0.0.1", "fd00::1"}, {}};
  PodSidecar b{{"10.0.0.2"}, {}};
  b.ports.excluded = {9090};
  SidecarPods by_ip = sidecarsByIp({{"a.shop", a}, {"b.shop", b}});
  ASSERT_EQ(by_ip.size(), 3u);
  EXPECT_TRUE(by_ip.at("fd00::1").captures(9090));
  EXPECT_FALSE(by_ip.at("10.0.0.2").captures(9090));
}

}  // namespace
}  // namespace remora::control
