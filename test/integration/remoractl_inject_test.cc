// `remoractl inject` as users run it, on the shop's workloads (test/integration/data/): what it
// adds and honours, kinds passed through, idempotency byte for byte, errors with the document and
// line, and the same result as the admission webhook's JSONPatch applied to the same Pod.

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/base64.h"
#include "control/admission_review.h"
#include "control/cli/yaml_value.h"
#include "control/json_patch.h"
#include "support/process.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using google::protobuf::Value;

#ifndef REMORA_REMORACTL_BIN
#error "REMORA_REMORACTL_BIN must name the remoractl binary"
#endif

const std::string kShop =
    std::string(REMORA_SOURCE_DIR) + "/test/integration/data/shop-workloads.yaml";

class RemoractlInjectTest : public ::testing::Test {
 protected:
  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), REMORA_REMORACTL_BIN);
    return runToExit(dir_, "remoractl" + std::to_string(++runs_), args);
  }

  std::vector<control::cli::YamlDocument> parse(const std::string& text) {
    auto docs = control::cli::parseYamlDocuments(text, "output");
    EXPECT_TRUE(docs.isOk()) << docs.status().message();
    return docs.isOk() ? std::move(docs).value() : std::vector<control::cli::YamlDocument>{};
  }

  TempDir dir_;
  int runs_ = 0;
};

std::string str(const Value& v, const std::string& pointer) {
  const Value* x = control::findPointer(v, pointer);
  return x != nullptr && x->has_string_value() ? x->string_value() : "<none>";
}

std::vector<std::string> names(const Value& v, const std::string& pointer) {
  std::vector<std::string> out;
  const Value* l = control::findPointer(v, pointer);
  if (l != nullptr && l->has_list_value()) {
    for (const Value& e : l->list_value().values()) {
      out.push_back(e.has_string_value() ? e.string_value() : str(e, "/name"));
    }
  }
  return out;
}

std::string kindAndName(const Value& v) {
  return str(v, "/kind") + "/" + str(v, "/metadata/name");
}

TEST_F(RemoractlInjectTest, InjectsEveryWorkloadHonoursAnnotationsAndPassesOtherKindsThrough) {
  RunResult r = run({"inject", "-f", kShop});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto out = parse(r.out);
  auto in = parse(readFile(kShop));
  ASSERT_EQ(out.size(), in.size());
  ASSERT_EQ(out.size(), 10u);
  std::map<std::string, const Value*> by_name;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(kindAndName(out[i].value), kindAndName(in[i].value)) << "order kept";
    by_name[kindAndName(out[i].value)] = &out[i].value;
  }
  // Passed through unchanged: the Namespace, Service, ConfigMap (strings that look like other
  // types stay strings) and the Pod that opted out.
  for (size_t i : {0u, 6u, 7u, 8u}) {
    EXPECT_TRUE(control::jsonEqual(out[i].value, in[i].value)) << kindAndName(in[i].value);
  }
  EXPECT_EQ(str(*by_name["ConfigMap/shop-settings"], "/data/enabled"), "true");
  EXPECT_EQ(str(*by_name["ConfigMap/shop-settings"], "/data/script"),
            "#!/bin/sh\necho \"hello: world\"\n");

  const Value& frontend = *by_name["Deployment/frontend"];
  EXPECT_EQ(names(frontend, "/spec/template/spec/containers"),
            (std::vector<std::string>{"remora-proxy", "frontend"}));
  EXPECT_EQ(names(frontend, "/spec/template/spec/initContainers"),
            (std::vector<std::string>{"migrate", "remora-init"}));
  // The probes on named ports (http 8080, admin 9901) go through the proxy, so those ports
  // stay captured (docs/injection.md "Probes").
  EXPECT_EQ(
      names(frontend, "/spec/template/spec/initContainers/1/args"),
      (std::vector<std::string>{"iptables", "--proxy-uid", "1337", "--outbound-port", "15001",
                                "--inbound-port", "15006", "--exclude-inbound-ports", "15021,15090",
                                "--exclude-outbound-ip-ranges", "169.254.169.254/32"}));
  EXPECT_EQ(str(frontend, "/spec/template/spec/containers/1/readinessProbe/httpGet/path"),
            "/app-health/frontend/readyz");
  EXPECT_EQ(str(frontend, "/spec/template/spec/containers/1/livenessProbe/httpGet/path"),
            "/app-health/frontend/livez");
  const std::string proxy_env = "/spec/template/spec/containers/0/env";
  const auto env_names = names(frontend, proxy_env);
  const auto app_probes =
      std::find(env_names.begin(), env_names.end(), "REMORA_APP_PROBES") - env_names.begin();
  EXPECT_EQ(str(frontend, proxy_env + "/" + std::to_string(app_probes) + "/value"),
            R"({"/app-health/frontend/livez":{"tcpSocket":{"port":9901},"timeoutSeconds":1},)"
            R"("/app-health/frontend/readyz":{"httpGet":{"path":"/","port":8080},)"
            R"("timeoutSeconds":1}})");
  EXPECT_EQ(str(frontend, "/spec/template/metadata/annotations/remora.dev~1status"), "injected");
  EXPECT_EQ(str(frontend, "/spec/template/metadata/annotations/prometheus.io~1port"), "15090");

  const Value& v1 = *by_name["Deployment/catalog-v1"];
  EXPECT_EQ(str(v1, "/spec/template/spec/initContainers/0/args/8"), "9090,9091,15021,15090");
  EXPECT_EQ(str(v1, "/spec/template/spec/initContainers/0/args/10"), "5432");
  EXPECT_EQ(str(v1, "/spec/template/spec/containers/0/resources/requests/cpu"), "200m");
  EXPECT_EQ(str(v1, "/spec/template/spec/containers/0/resources/requests/memory"), "128Mi");

  const Value& v2 = *by_name["Deployment/catalog-v2"];
  EXPECT_EQ(names(v2, "/spec/template/spec/initContainers"),
            (std::vector<std::string>{"remora-init", "remora-proxy"}));
  EXPECT_EQ(str(v2, "/spec/template/spec/initContainers/1/restartPolicy"), "Always");
  EXPECT_EQ(names(v2, "/spec/template/spec/containers"), (std::vector<std::string>{"catalog"}));

  EXPECT_EQ(names(*by_name["StatefulSet/orders"], "/spec/template/spec/containers"),
            (std::vector<std::string>{"remora-proxy", "orders"}));
  EXPECT_EQ(names(*by_name["CronJob/nightly-report"],
                  "/spec/jobTemplate/spec/template/spec/initContainers"),
            (std::vector<std::string>{"remora-init", "remora-proxy"}));
  const Value& list = out[9].value;
  EXPECT_EQ(names(list, "/items/0/spec/template/spec/containers"),
            (std::vector<std::string>{"remora-proxy", "stock"}));
}

TEST_F(RemoractlInjectTest, InjectingTheOutputAgainChangesNotOneByteAndStdinWorksLikeAFile) {
  RunResult once = run({"inject", "-f", kShop});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  const std::string injected = dir_.write("injected.yaml", once.out);
  RunResult twice = run({"inject", "-f", injected});
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_EQ(twice.out, once.out);
  RunResult piped = runToExit(dir_, "piped",
                              {"/bin/sh", "-c", std::string("exec \"$0\" inject -f - < \"$1\""),
                               REMORA_REMORACTL_BIN, kShop});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, once.out);
}

TEST_F(RemoractlInjectTest, FlagsSetTheImageTheControlPlaneAndNativeMode) {
  RunResult r = run({"inject", "-f", kShop, "--native-sidecar", "--image", "reg.local/remora:7",
                     "--control-plane=cp.example:15010"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = parse(r.out);
  ASSERT_GE(out.size(), 5u);
  const Value& orders = out[4].value;  // the StatefulSet, without annotations of its own
  EXPECT_EQ(names(orders, "/spec/template/spec/initContainers"),
            (std::vector<std::string>{"remora-init", "remora-proxy"}));
  EXPECT_EQ(str(orders, "/spec/template/spec/initContainers/1/image"), "reg.local/remora:7");
  EXPECT_EQ(str(orders, "/spec/template/spec/initContainers/1/env/4/value"), "cp.example:15010");
}

TEST_F(RemoractlInjectTest, WithNamespaceLabelsOnlyTheLabelOrTheAnnotationSelects) {
  const std::string file = dir_.write("two.yaml", R"(kind: Pod
metadata: {name: a}
spec: {containers: [{name: c}]}
---
kind: Pod
metadata: {name: b, annotations: {remora.dev/inject: "true"}}
spec: {containers: [{name: c}]}
)");
  RunResult r = run({"inject", "-f", file, "--namespace-labels", "team=x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = parse(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(names(out[0].value, "/spec/containers"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(names(out[1].value, "/spec/containers"),
            (std::vector<std::string>{"remora-proxy", "c"}));
  RunResult e = run({"inject", "-f", file, "--namespace-labels", "remora.dev/inject=enabled"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(names(parse(e.out)[0].value, "/spec/containers"),
            (std::vector<std::string>{"remora-proxy", "c"}));
}

TEST_F(RemoractlInjectTest, ErrorsNameTheDocumentAndLineAndPrintNothing) {
  const std::string bad = dir_.write("bad.yaml", R"(kind: Service
metadata: {name: s}
---
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations:
        remora.dev/log-level: loud
    spec: {containers: [{name: c}]}
)");
  RunResult r = run({"inject", "-f", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "remoractl: inject: " + bad +
                       ": document 2, line 10: annotation remora.dev/log-level wants trace, "
                       "debug, info, warn or error, got 'loud'\n");

  const std::string broken = dir_.write("broken.yaml", "kind: Pod\n---\nkind: [Pod\n");
  RunResult b = run({"inject", "-f", broken});
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_EQ(b.err.rfind("remoractl: inject: " + broken + ": document 2, line ", 0), 0u) << b.err;
}

TEST_F(RemoractlInjectTest, JobsWithoutNativeModeAreInjectedWithAWarningOnStderr) {
  const std::string job = dir_.write("job.yaml", R"(apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
)");
  RunResult r = run({"inject", "-f", job});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remoractl: inject: warning: " + job +
                       ": document 1: Job: a Job's pod "
                       "completes only when remora-proxy exits too"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("remora-proxy"), std::string::npos);
}

TEST_F(RemoractlInjectTest, BadUsageExits2) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"inject", "--frobnicate"}, "remoractl: inject: unknown flag --frobnicate"},
      {{"inject", "-f", dir_.file("missing.yaml")},
       "remoractl: inject: " + dir_.file("missing.yaml")},
      {{"inject", "extra"}, "remoractl: inject: unexpected argument 'extra'"},
      {{"inject", "--namespace-labels", "novalue"}, "remoractl: inject: --namespace-labels wants"},
      {{"inject", "--image="}, "remoractl: inject: --image needs a value"},
  };
  for (const auto& [args, want] : cases) {
    RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind(want, 0), 0u) << r.err;
  }
}

// The pods the shop's workloads would create, as the webhook sees them.
std::vector<Value> podsOf(const std::vector<control::cli::YamlDocument>& docs) {
  std::vector<Value> pods;
  for (const auto& doc : docs) {
    const std::string kind = str(doc.value, "/kind");
    auto pointer = control::podTemplatePointer(kind);
    if (!pointer || kind == "Pod") {
      continue;
    }
    Value pod = *control::findPointer(doc.value, *pointer);
    auto* fields = pod.mutable_struct_value()->mutable_fields();
    (*fields)["apiVersion"].set_string_value("v1");
    (*fields)["kind"].set_string_value("Pod");
    auto* meta = (*fields)["metadata"].mutable_struct_value()->mutable_fields();
    (*meta)["name"].set_string_value(str(doc.value, "/metadata/name") + "-0");
    (*meta)["namespace"].set_string_value("shop");
    pods.push_back(std::move(pod));
  }
  return pods;
}

class ShopNamespaces : public control::NamespaceLabels {
 public:
  common::Result<std::map<std::string, std::string>> labels(const std::string& name) override {
    if (name != "shop") {
      return common::Status::notFound(name);
    }
    return std::map<std::string, std::string>{{"remora.dev/inject", "enabled"}};
  }
};

TEST_F(RemoractlInjectTest, WebhookPatchAppliedToEachPodGivesExactlyWhatRemoractlPrints) {
  std::vector<Value> pods = podsOf(parse(readFile(kShop)));
  ASSERT_EQ(pods.size(), 5u);
  std::string stream;
  for (const Value& pod : pods) {
    stream += (stream.empty() ? "" : "---\n") + control::cli::emitYaml(pod);
  }
  RunResult r = run({"inject", "-f", dir_.write("pods.yaml", stream)});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  ShopNamespaces namespaces;
  std::string webhook_stream;
  for (const Value& pod : pods) {
    std::string object;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(pod, &object).ok());
    const std::string review =
        R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x",)"
        R"("kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"shop",)"
        R"("operation":"CREATE","object":)" +
        object + "}}";
    control::AdmissionResult answer = control::reviewAdmission(review, namespaces, {});
    ASSERT_EQ(answer.reason, control::AdmissionReason::kInjected) << answer.message;
    Value body;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(answer.body, &body).ok());
    std::string patch_json;
    ASSERT_TRUE(common::decodeBase64(str(body, "/response/patch"), &patch_json));
    Value patch;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(patch_json, &patch).ok());
    Value patched = pod;
    ASSERT_TRUE(control::applyJsonPatch(patch.list_value(), &patched).isOk());
    webhook_stream += (webhook_stream.empty() ? "" : "---\n") + control::cli::emitYaml(patched);
  }
  EXPECT_EQ(webhook_stream, r.out);
}

}  // namespace
}  // namespace remora::test
