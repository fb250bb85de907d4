// Sidecar injection through the real admission path: kube-apiserver calls remora-control's
// webhook for pods created with kubectl, and remoractl inject gives the same pods.

#include <chrono>

#include "kubernetes_support.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

class WebhookInjectionTest : public KubernetesTest {
 protected:
  void SetUp() override {
    KubernetesTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) {
      return;
    }
    // The webhook is cluster-wide: this test's one only looks at this test's namespace.
    config_ = "injector-" + ns_;
    port_ = pickFreePort();
    std::string mwc =
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n"
        "metadata: {name: " +
        config_ +
        "}\nwebhooks:\n- name: sidecar-injector.remora.dev\n"
        "  admissionReviewVersions: [v1, v1beta1]\n  sideEffects: None\n  failurePolicy: Fail\n"
        "  timeoutSeconds: 10\n  clientConfig:\n    url: https://127.0.0.1:" +
        std::to_string(port_) +
        "/inject\n  rules: [{operations: [CREATE], apiGroups: [\"\"], apiVersions: [v1], "
        "resources: [pods]}]\n  namespaceSelector:\n    matchLabels: {remora.dev/inject: "
        "enabled, remora-test: " +
        ns_ + "}\n";
    RunResult r = api_->apply(mwc);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    cp_ = startControl("control", {"--webhook", "127.0.0.1:" + std::to_string(port_),
                                   "--webhook-san", "127.0.0.1", "--webhook-config", config_});
    ASSERT_FALSE(cp_.xds.empty()) << readFile(cp_.stderr_file);
    // The control plane puts its CA into the configuration; only then can the server call it.
    ASSERT_TRUE(eventually(
        [&] {
          return !api_->kubectl({"get", "mutatingwebhookconfiguration", config_, "-o",
                                 "jsonpath={.webhooks[0].clientConfig.caBundle}"})
                      .out.empty();
        },
        10s, 100ms))
        << readFile(cp_.stderr_file);
  }
  void TearDown() override {
    if (!config_.empty()) {
      api_->kubectl({"delete", "mutatingwebhookconfiguration", config_});
    }
  }
  std::string pod(const std::string& name, const std::string& annotations = "") const {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns_ +
           "\n  labels: {app: reviews, version: v1}\n" +
           (annotations.empty() ? "" : "  annotations: {" + annotations + "}\n") +
           "spec:\n  containers:\n  - name: app\n    image: example/reviews:1\n    ports: "
           "[{containerPort: 9080}]\n    readinessProbe: {httpGet: {path: /ready, port: 9080}}\n";
  }
  std::string containersOf(const std::string& name) const {
    return api_
        ->kubectl({"-n", ns_, "get", "pod", name, "-o",
                   "jsonpath={.spec.initContainers[*].name}|{.spec.containers[*].name}|"
                   "{.metadata.annotations.remora\\.dev/status}"})
        .out;
  }

  ControlPlane cp_;
  std::string config_;
  uint16_t port_ = 0;
};

TEST_F(WebhookInjectionTest, PodCreatedInALabelledNamespaceComesBackInjected) {
  ASSERT_EQ(
      api_->kubectl({"label", "namespace", ns_, "remora.dev/inject=enabled", "remora-test=" + ns_})
          .exit_code,
      0);
  RunResult r = api_->apply(pod("reviews-1"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(containersOf("reviews-1"), "remora-init|remora-proxy app|injected");
  // The proxy gets its identity and the control plane's address from the pod.
  RunResult env = api_->kubectl(
      {"-n", ns_, "get", "pod", "reviews-1", "-o",
       "jsonpath={.spec.containers[0].env[?(@.name==\"REMORA_SERVICE\")].value} "
       "{.spec.containers[0].securityContext.runAsUser} {.spec.initContainers[0].args} "
       "{.spec.containers[1].readinessProbe.httpGet.path}"});
  EXPECT_NE(env.out.find("reviews 1337"), std::string::npos) << env.out;
  // The probe goes through the proxy, so its port (9080) stays captured.
  EXPECT_NE(env.out.find("\"--exclude-inbound-ports\",\"15021,15090\""), std::string::npos)
      << env.out;
  EXPECT_NE(env.out.find(" /app-health/app/readyz"), std::string::npos) << env.out;

  // inject: "false" wins over the namespace label.
  ASSERT_EQ(api_->apply(pod("reviews-2", "remora.dev/inject: \"false\"")).exit_code, 0);
  EXPECT_EQ(containersOf("reviews-2"), "|app|");
  std::string metrics = cp_.get("/metrics");
  EXPECT_NE(metrics.find("remora_webhook_requests_total{result=\"injected\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("remora_webhook_requests_total{result=\"disabled_by_annotation\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(WebhookInjectionTest, PodInANamespaceWithoutTheLabelIsAdmittedUnchanged) {
  ASSERT_EQ(api_->kubectl({"label", "namespace", ns_, "remora-test=" + ns_}).exit_code, 0);
  ASSERT_EQ(api_->apply(pod("reviews-1")).exit_code, 0);
  EXPECT_EQ(containersOf("reviews-1"), "|app|");
}

TEST_F(WebhookInjectionTest, RemoractlInjectGivesTheSamePodAsTheWebhook) {
  ASSERT_EQ(
      api_->kubectl({"label", "namespace", ns_, "remora.dev/inject=enabled", "remora-test=" + ns_})
          .exit_code,
      0);
  std::string original = dir_.write("pod.yaml", pod("reviews-1"));
  RunResult cli = runToExit(dir_, "inject",
                            {REMORA_REMORACTL_BIN, "inject", "-f", original, "--namespace-labels",
                             "remora.dev/inject=enabled"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  std::string injected = dir_.write("injected.yaml", cli.out);
  // Both through the server (a dry run: defaults filled in the same way): the original is
  // injected by the webhook; the CLI's output is already injected, which the webhook leaves.
  const std::string fields = "jsonpath={.spec}|{.metadata.annotations}|{.metadata.labels}";
  RunResult via_webhook =
      api_->kubectl({"create", "--dry-run=server", "-f", original, "-o", fields});
  RunResult via_cli = api_->kubectl({"create", "--dry-run=server", "-f", injected, "-o", fields});
  ASSERT_EQ(via_webhook.exit_code, 0) << via_webhook.err;
  ASSERT_EQ(via_cli.exit_code, 0) << via_cli.err;
  EXPECT_NE(via_webhook.out.find("remora-proxy"), std::string::npos) << via_webhook.out;
  EXPECT_EQ(via_webhook.out, via_cli.out);
}

}  // namespace
}  // namespace remora::test

namespace remora::test {
namespace {

TEST_F(WebhookInjectionTest, RemoractlCheckKubernetesSaysWhatIsMissingThenPassesWhenAllIsThere) {
  ASSERT_EQ(api_->kubectl({"label", "namespace", ns_, "remora.dev/inject=enabled",
                           "remora-test=" + ns_})
                .exit_code,
            0);
  auto check = [&] {
    return runToExit(dir_, "check",
                     {REMORA_REMORACTL_BIN, "check", "--kubernetes", "--kubeconfig",
                      api_->kubeconfig(), "--namespace", ns_, "--webhook-config", config_,
                      "--control", cp_.http},
                     std::chrono::milliseconds(30000));
  };
  // No control plane Deployment in this namespace (the one serving runs outside the cluster).
  RunResult r = check();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("[ok]   Kubernetes API reachable: v1.20"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[ok]   CRD trafficpolicies.policy.remora.dev: present and current"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[FAIL] control plane ready: deployment " + ns_ +
                       "/remora-control: not found"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[ok]   injector webhook: " + config_ + " has a valid CA bundle"),
            std::string::npos)
      << r.out;

  // A running injected pod whose proxy is not connected fails the last check...
  ASSERT_EQ(api_->apply(pod("reviews-1")).exit_code, 0);
  RunResult running = api_->kubectl(
      {"-n", ns_, "patch", "pod", "reviews-1", "--subresource=status", "--type=merge", "-p",
       R"({"status":{"phase":"Running","podIP":"10.244.0.9"}})"});
  ASSERT_EQ(running.exit_code, 0) << running.err;
  r = check();
  EXPECT_NE(r.out.find("[FAIL] injected proxies in sync: 1 of 1: reviews-1." + ns_ +
                       " (not connected)"),
            std::string::npos)
      << r.out;
  // ... and passes once it is; with a ready Deployment every check passes.
  Sidecar proxy = meshSidecar(dir_, cp_.xds, "reviews-1." + ns_, "reviews", ns_);
  ASSERT_FALSE(proxy.admin.empty());
  std::string deployment =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: remora-control, namespace: " + ns_ +
      "}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: remora-control}}\n  template:\n"
      "    metadata: {labels: {app: remora-control}}\n    spec: {containers: [{name: c, image: "
      "remora-control:test}]}\n";
  ASSERT_EQ(api_->apply(deployment).exit_code, 0);
  ASSERT_EQ(api_->kubectl({"-n", ns_, "patch", "deployment", "remora-control",
                           "--subresource=status", "--type=merge", "-p",
                           R"({"status":{"replicas":1,"readyReplicas":1}})"})
                .exit_code,
            0);
  r = check();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[ok]   control plane ready: deployment " + ns_ +
                       "/remora-control has 1 of 1 replicas ready"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("[ok]   injected proxies in sync: 1 running injected pod(s)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << r.out;
}

TEST_F(WebhookInjectionTest, RemoractlCheckKubernetesFailsWhenAControlPlaneReplicaDoesNotAnswer) {
  // Without --control the check reads /v1/proxies from every running control plane pod through
  // the API server's pod proxy (each proxy is connected to one replica). This replica's address
  // is loopback, which the API server does not proxy to (or finds nothing listening on).
  std::string replica =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: remora-control-1\n"
      "  namespace: " +
      ns_ +
      "\n  labels: {app: remora-control}\nspec:\n  containers: [{name: c, "
      "image: remora-control:test}]\n";
  ASSERT_EQ(api_->apply(replica).exit_code, 0);
  RunResult running = api_->kubectl({"-n", ns_, "patch", "pod", "remora-control-1",
                                     "--subresource=status", "--type=merge", "-p",
                                     R"({"status":{"phase":"Running","podIP":"127.0.0.1"}})"});
  ASSERT_EQ(running.exit_code, 0) << running.err;
  RunResult r = runToExit(dir_, "check",
                          {REMORA_REMORACTL_BIN, "check", "--kubernetes", "--kubeconfig",
                           api_->kubeconfig(), "--namespace", ns_, "--webhook-config", config_},
                          std::chrono::milliseconds(30000));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("[FAIL] injected proxies in sync: read /v1/proxies from 0 of 1 running "
                       "control plane replica(s)"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace remora::test
