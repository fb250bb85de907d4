// Sidecar injection (control/injection.h) on pods and workload templates: selection, what is
// added, annotations, probes, native mode, Jobs, naming, errors and idempotency.

#include "control/injection.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/cli/yaml_value.h"
#include "control/json_patch.h"

namespace remora::control {
namespace {

using google::protobuf::Value;

Value yaml(const std::string& text) {
  auto docs = cli::parseYamlDocuments(text, "test.yaml");
  EXPECT_TRUE(docs.isOk()) << docs.status().message();
  return docs.isOk() && !docs.value().empty() ? docs.value()[0].value : Value();
}

std::string str(const Value& v, const std::string& pointer) {
  const Value* x = findPointer(v, pointer);
  if (x == nullptr) {
    return "<absent>";
  }
  if (x->has_number_value()) {
    return std::to_string(static_cast<long long>(x->number_value()));
  }
  if (x->has_bool_value()) {
    return x->bool_value() ? "true" : "false";
  }
  return x->has_string_value() ? x->string_value() : "<not scalar>";
}

std::vector<std::string> names(const Value& v, const std::string& pointer) {
  std::vector<std::string> out;
  const Value* l = findPointer(v, pointer);
  if (l != nullptr && l->has_list_value()) {
    for (const Value& e : l->list_value().values()) {
      out.push_back(e.has_string_value() ? e.string_value() : str(e, "/name"));
    }
  }
  return out;
}

// The env variable `name` of a container: its value, or "field:PATH" for a downward API one.
std::string env(const Value& container, const std::string& name) {
  const Value* l = findPointer(container, "/env");
  if (l == nullptr) {
    return "<no env>";
  }
  for (const Value& e : l->list_value().values()) {
    if (str(e, "/name") == name) {
      return findPointer(e, "/valueFrom") != nullptr
                 ? "field:" + str(e, "/valueFrom/fieldRef/fieldPath")
                 : str(e, "/value");
    }
  }
  return "<absent>";
}

const char* kPod = R"(
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web, version: v2}
spec:
  containers:
  - name: app
    image: web:1
    ports: [{name: http, containerPort: 8080}]
)";

struct Injected {
  Value object;
  InjectionReport report;
  common::Status status;
};

Injected inject(const std::string& text, NamespaceSelection ns = NamespaceSelection::kUnknown,
                const InjectionOptions& options = {}) {
  Injected r;
  r.object = yaml(text);
  r.status = injectObject(&r.object, ns, options, &r.report);
  return r;
}

std::string withAnnotations(const std::string& annotations) {
  std::string pod = kPod;
  return pod.replace(pod.find("  labels:"), 0, "  annotations: {" + annotations + "}\n");
}

TEST(InjectionTest, SelectionFollowsNamespaceLabelAnnotationFalseWinsAndHostNetworkNever) {
  struct Case {
    NamespaceSelection ns;
    std::string annotation;  // "" none
    bool host_network;
    InjectOutcome want;
  };
  const Case cases[] = {
      {NamespaceSelection::kEnabled, "", false, InjectOutcome::kInjected},
      {NamespaceSelection::kNotEnabled, "", false, InjectOutcome::kNotSelected},
      {NamespaceSelection::kUnknown, "", false, InjectOutcome::kInjected},
      {NamespaceSelection::kNotEnabled, "true", false, InjectOutcome::kInjected},
      {NamespaceSelection::kEnabled, "false", false, InjectOutcome::kDisabledByAnnotation},
      {NamespaceSelection::kUnknown, "false", false, InjectOutcome::kDisabledByAnnotation},
      {NamespaceSelection::kEnabled, "true", true, InjectOutcome::kHostNetwork},
      {NamespaceSelection::kUnknown, "", true, InjectOutcome::kHostNetwork},
  };
  for (const Case& c : cases) {
    std::string text = c.annotation.empty()
                           ? std::string(kPod)
                           : withAnnotations("remora.dev/inject: \"" + c.annotation + "\"");
    if (c.host_network) {
      text += "  hostNetwork: true\n";
    }
    Injected r = inject(text, c.ns);
    ASSERT_TRUE(r.status.isOk()) << r.status.message();
    EXPECT_EQ(outcomeName(r.report.outcome), std::string(outcomeName(c.want)))
        << "ns " << static_cast<int>(c.ns) << " annotation '" << c.annotation << "' host "
        << c.host_network;
    const bool changed = !jsonEqual(r.object, yaml(text));
    EXPECT_EQ(changed, c.want == InjectOutcome::kInjected);
  }
}

TEST(InjectionTest, AddsRootInitContainerWithNetAdminAndTheProxyAsUid1337FirstContainer) {
  InjectionOptions options;
  options.proxy_image = "registry.local/remora:9";
  options.control_plane = "cp.remora:15010";
  Injected r = inject(kPod, NamespaceSelection::kEnabled, options);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  const Value& pod = r.object;

  EXPECT_EQ(names(pod, "/spec/initContainers"), (std::vector<std::string>{"remora-init"}));
  EXPECT_EQ(str(pod, "/spec/initContainers/0/image"), "registry.local/remora:9");
  EXPECT_EQ(names(pod, "/spec/initContainers/0/command"),
            (std::vector<std::string>{"remora-sidecar"}));
  EXPECT_EQ(names(pod, "/spec/initContainers/0/args"),
            (std::vector<std::string>{"iptables", "--proxy-uid", "1337", "--outbound-port", "15001",
                                      "--inbound-port", "15006", "--exclude-inbound-ports",
                                      "15021,15090"}));
  EXPECT_EQ(names(pod, "/spec/initContainers/0/securityContext/capabilities/add"),
            (std::vector<std::string>{"NET_ADMIN", "NET_RAW"}));
  EXPECT_EQ(str(pod, "/spec/initContainers/0/securityContext/runAsUser"), "0");
  EXPECT_EQ(str(pod, "/spec/initContainers/0/securityContext/runAsNonRoot"), "false");

  EXPECT_EQ(names(pod, "/spec/containers"), (std::vector<std::string>{"remora-proxy", "app"}));
  const Value& proxy = *findPointer(pod, "/spec/containers/0");
  EXPECT_EQ(str(proxy, "/image"), "registry.local/remora:9");
  EXPECT_EQ(str(proxy, "/securityContext/runAsUser"), "1337");
  EXPECT_EQ(str(proxy, "/securityContext/runAsNonRoot"), "true");
  EXPECT_EQ(str(proxy, "/securityContext/readOnlyRootFilesystem"), "true");
  EXPECT_EQ(str(proxy, "/securityContext/allowPrivilegeEscalation"), "false");
  EXPECT_EQ(str(proxy, "/readinessProbe/httpGet/path"), "/healthz/ready");
  EXPECT_EQ(str(proxy, "/readinessProbe/httpGet/port"), "15021");
  EXPECT_EQ(str(proxy, "/ports/0/containerPort"), "15090");
  EXPECT_EQ(str(proxy, "/resources/requests/cpu"), "50m");
  EXPECT_EQ(str(proxy, "/resources/requests/memory"), "64Mi");
  EXPECT_EQ(str(proxy, "/restartPolicy"), "<absent>");
  EXPECT_EQ(names(proxy, "/lifecycle/postStart/exec/command"),
            (std::vector<std::string>{"remora-sidecar", "wait"}));

  EXPECT_EQ(env(proxy, "REMORA_POD_NAME"), "field:metadata.name");
  EXPECT_EQ(env(proxy, "REMORA_NAMESPACE"), "field:metadata.namespace");
  EXPECT_EQ(env(proxy, "REMORA_SERVICE_ACCOUNT"), "field:spec.serviceAccountName");
  EXPECT_EQ(env(proxy, "REMORA_POD_IP"), "field:status.podIP");
  EXPECT_EQ(env(proxy, "REMORA_XDS"), "cp.remora:15010");
  EXPECT_EQ(env(proxy, "REMORA_NODE_ID"), "$(REMORA_POD_NAME).$(REMORA_NAMESPACE)");
  EXPECT_EQ(env(proxy, "REMORA_SERVICE"), "web");
  EXPECT_EQ(env(proxy, "REMORA_LABELS"), "app=web,version=v2");
  EXPECT_EQ(env(proxy, "REMORA_HEALTH"), "0.0.0.0:15021");
  EXPECT_EQ(env(proxy, "REMORA_PROMETHEUS"), "0.0.0.0:15090");
  EXPECT_EQ(env(proxy, "REMORA_LOG_LEVEL"), "info");

  EXPECT_EQ(str(pod, "/metadata/annotations/remora.dev~1status"), "injected");
  EXPECT_EQ(str(pod, "/metadata/annotations/prometheus.io~1scrape"), "true");
  EXPECT_EQ(str(pod, "/metadata/annotations/prometheus.io~1port"), "15090");
  EXPECT_EQ(str(pod, "/metadata/annotations/prometheus.io~1path"), "/stats/prometheus");
  EXPECT_EQ(r.report.service, "web");
}

TEST(InjectionTest, DefaultsMatchTheInstallation) {
  const InjectionOptions o;
  EXPECT_EQ(o.proxy_image, std::string("remora-sidecar:") + REMORA_VERSION);
  EXPECT_EQ(o.control_plane, "remora-control.remora-system.svc:15010");
  EXPECT_FALSE(o.native_sidecar);
  EXPECT_EQ(o.proxy_uid, 1337);
}

TEST(InjectionTest, AppInitContainersRunBeforeRemoraInitWithoutNativeMode) {
  std::string text = kPod;
  text += "  initContainers:\n  - {name: migrate, image: tool:1}\n";
  Injected r = inject(text);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_EQ(names(r.object, "/spec/initContainers"),
            (std::vector<std::string>{"migrate", "remora-init"}));
}

TEST(InjectionTest, NativeModePutsInitThenProxyWithRestartAlwaysBeforeTheAppsInitContainers) {
  for (bool by_option : {true, false}) {
    std::string text =
        by_option ? std::string(kPod) : withAnnotations("remora.dev/native-sidecar: \"true\"");
    text += "  initContainers:\n  - {name: migrate, image: tool:1}\n";
    InjectionOptions options;
    options.native_sidecar = by_option;
    Injected r = inject(text, NamespaceSelection::kUnknown, options);
    ASSERT_TRUE(r.status.isOk()) << r.status.message();
    EXPECT_EQ(names(r.object, "/spec/initContainers"),
              (std::vector<std::string>{"remora-init", "remora-proxy", "migrate"}));
    EXPECT_EQ(names(r.object, "/spec/containers"), (std::vector<std::string>{"app"}));
    const Value& proxy = *findPointer(r.object, "/spec/initContainers/1");
    EXPECT_EQ(str(proxy, "/restartPolicy"), "Always");
    EXPECT_EQ(str(proxy, "/startupProbe/httpGet/port"), "15021");
    EXPECT_EQ(str(proxy, "/lifecycle"), "<absent>");
  }
  // The annotation says "false" against the option.
  InjectionOptions native;
  native.native_sidecar = true;
  Injected r = inject(withAnnotations("remora.dev/native-sidecar: \"false\""),
                      NamespaceSelection::kUnknown, native);
  ASSERT_TRUE(r.status.isOk());
  EXPECT_EQ(names(r.object, "/spec/containers"), (std::vector<std::string>{"remora-proxy", "app"}));
}

TEST(InjectionTest, EveryAnnotationReachesTheInitStepOrTheProxy) {
  Injected r = inject(withAnnotations(
      "remora.dev/exclude-inbound-ports: '9090, 8443,9090', "
      "remora.dev/exclude-outbound-ports: '5432,3306', "
      "remora.dev/exclude-outbound-ip-ranges: '169.254.169.254/32, fd00::/8', "
      "remora.dev/include-inbound-ports: '8080,9000', "
      "remora.dev/proxy-cpu: 250m, remora.dev/proxy-memory: 1Gi, remora.dev/log-level: debug"));
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_EQ(names(r.object, "/spec/initContainers/0/args"),
            (std::vector<std::string>{
                "iptables", "--proxy-uid", "1337", "--outbound-port", "15001", "--inbound-port",
                "15006", "--exclude-inbound-ports", "8443,9090,15021,15090",
                "--exclude-outbound-ports", "3306,5432", "--exclude-outbound-ip-ranges",
                "169.254.169.254/32,fd00::/8", "--include-inbound-ports", "8080,9000"}));
  const Value& proxy = *findPointer(r.object, "/spec/containers/0");
  EXPECT_EQ(str(proxy, "/resources/requests/cpu"), "250m");
  EXPECT_EQ(str(proxy, "/resources/requests/memory"), "1Gi");
  EXPECT_EQ(env(proxy, "REMORA_LOG_LEVEL"), "debug");
}

// A pod with every kind of probe; ANNOTATIONS is replaced by the pod's annotations.
const char* kProbedPod = R"(
kind: Pod
metadata: {name: web, annotations: {ANNOTATIONS}}
spec:
  containers:
  - name: app
    ports: [{name: http, containerPort: 8080}, {name: mgmt, containerPort: 9901}]
    readinessProbe: {httpGet: {path: /ready, port: http}}
    livenessProbe: {tcpSocket: {port: 9901}}
    startupProbe: {grpc: {port: 7070}}
  - name: other
    livenessProbe: {httpGet: {port: "8081"}}
    readinessProbe: {httpGet: {port: unknown-name}}
)";

// The path of a probe rewritten to the sidecar (httpGet :15021 over HTTP, no tcpSocket left),
// else "<not rewritten>".
std::string rewrittenPath(const Value& v, const std::string& probe) {
  if (str(v, probe + "/httpGet/port") != "15021" || str(v, probe + "/httpGet/scheme") != "HTTP" ||
      str(v, probe + "/tcpSocket") != "<absent>") {
    return "<not rewritten>";
  }
  return str(v, probe + "/httpGet/path");
}

// A pod "web" with one container "web"; `fields` are the container's other fields (indented 4).
std::string webPod(const std::string& fields) {
  return "kind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n" + fields;
}

Injected injectProbed(const std::string& annotations) {
  std::string text = kProbedPod;
  text.replace(text.find("ANNOTATIONS"), 11, annotations);
  return inject(text);
}

// Contract change: the ports of probes the sidecar can run are no longer excluded (their probes
// are rewritten, see below); with the opt-out annotation every probe port is, as before.
TEST(InjectionTest, WithProbeRewriteOffProbePortsAreExcludedFromInboundCaptureUnlessIncluded) {
  const std::string off = "remora.dev/rewrite-app-probes: 'false'";
  Injected r = injectProbed(off);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_EQ(str(r.object, "/spec/initContainers/0/args/8"), "7070,8080,8081,9901,15021,15090");
  // The app's probes are left as they are: kubelet reaches the app directly.
  EXPECT_EQ(str(r.object, "/spec/containers/1/readinessProbe/httpGet/port"), "http");
  EXPECT_EQ(str(r.object, "/spec/containers/1/livenessProbe/tcpSocket/port"), "9901");
  EXPECT_EQ(env(*findPointer(r.object, "/spec/containers/0"), "REMORA_APP_PROBES"), "<absent>");

  // With an include list given, as the annotation says.
  auto including = [&](const std::string& ports) {
    Injected i = injectProbed(off + ", remora.dev/include-inbound-ports: '" + ports + "'");
    EXPECT_TRUE(i.status.isOk()) << i.status.message();
    return names(i.object, "/spec/initContainers/0/args");
  };
  const std::vector<std::string> args = {
      "iptables", "--proxy-uid",    "1337",  "--outbound-port",
      "15001",    "--inbound-port", "15006", "--exclude-inbound-ports"};
  auto with = [&](std::vector<std::string> rest) {
    std::vector<std::string> all = args;
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
  };
  EXPECT_EQ(including("8080"), with({"15021,15090", "--include-inbound-ports", "8080"}));
  EXPECT_EQ(including("*"),
            with({"7070,8080,8081,9901,15021,15090", "--include-inbound-ports", "*"}));
  EXPECT_EQ(including(""), with({"15021,15090", "--include-inbound-ports="}));
}

TEST(InjectionTest, HttpAndTcpProbesGoThroughTheSidecarOthersKeepTheirPortsExcluded) {
  Injected r = injectProbed("");
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  const Value& proxy = *findPointer(r.object, "/spec/containers/0");
  ASSERT_EQ(str(proxy, "/name"), "remora-proxy");
  // Only the grpc probe's port stays excluded (the unresolvable named port has nothing to
  // exclude and cannot be rewritten).
  EXPECT_EQ(str(r.object, "/spec/initContainers/0/args/8"), "7070,15021,15090");

  const std::string app = "/spec/containers/1";
  // httpGet on a named port; tcpSocket becomes an httpGet.
  EXPECT_EQ(rewrittenPath(r.object, app + "/readinessProbe"), "/app-health/app/readyz");
  EXPECT_EQ(rewrittenPath(r.object, app + "/livenessProbe"), "/app-health/app/livez");
  // grpc: untouched.
  EXPECT_EQ(str(r.object, app + "/startupProbe/grpc/port"), "7070");
  EXPECT_EQ(str(r.object, app + "/startupProbe/httpGet"), "<absent>");
  // Numeric string port: rewritten; unknown port name: untouched.
  EXPECT_EQ(rewrittenPath(r.object, "/spec/containers/2/livenessProbe"), "/app-health/other/livez");
  EXPECT_EQ(str(r.object, "/spec/containers/2/readinessProbe/httpGet/port"), "unknown-name");

  EXPECT_EQ(env(proxy, "REMORA_APP_PROBES"),
            R"({"/app-health/app/livez":{"tcpSocket":{"port":9901},"timeoutSeconds":1},)"
            R"("/app-health/app/readyz":{"httpGet":{"path":"/ready","port":8080},)"
            R"("timeoutSeconds":1},)"
            R"("/app-health/other/livez":{"httpGet":{"path":"/","port":8081},)"
            R"("timeoutSeconds":1}})");
}

TEST(InjectionTest, RewrittenProbesKeepTimingAndCarryPathHeadersAndTimeoutToTheProxy) {
  const std::string pod = webPod(R"(    startupProbe:
      httpGet:
        path: /started
        port: 8080
        scheme: HTTP
        httpHeaders: [{name: X-Probe, value: "a\"b"}]
      initialDelaySeconds: 3
      periodSeconds: 7
      timeoutSeconds: 4
      failureThreshold: 9
      successThreshold: 1
)");
  Injected r = inject(pod);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  const std::string probe = "/spec/containers/1/startupProbe";
  EXPECT_EQ(rewrittenPath(r.object, probe), "/app-health/web/startupz");
  EXPECT_EQ(str(r.object, probe + "/httpGet/httpHeaders"), "<absent>");
  EXPECT_EQ(str(r.object, probe + "/initialDelaySeconds"), "3");
  EXPECT_EQ(str(r.object, probe + "/periodSeconds"), "7");
  EXPECT_EQ(str(r.object, probe + "/timeoutSeconds"), "4");
  EXPECT_EQ(str(r.object, probe + "/failureThreshold"), "9");
  EXPECT_EQ(str(r.object, probe + "/successThreshold"), "1");
  EXPECT_EQ(env(*findPointer(r.object, "/spec/containers/0"), "REMORA_APP_PROBES"),
            R"({"/app-health/web/startupz":{"httpGet":{"path":"/started","port":8080,)"
            R"("httpHeaders":[{"name":"X-Probe","value":"a\"b"}]},"timeoutSeconds":4}})");
  EXPECT_EQ(str(r.object, "/spec/initContainers/0/args/8"), "15021,15090");
}

TEST(InjectionTest, HttpsProbesAndProbesWithAHostAreNotRewrittenAndKeepTheirPortExcluded) {
  const std::string pod =
      webPod(R"(    livenessProbe: {httpGet: {path: /l, port: 8443, scheme: HTTPS}}
    readinessProbe: {httpGet: {path: /r, port: 8080, host: 10.0.0.1}}
    startupProbe: {tcpSocket: {port: 9000, host: db}}
)");
  Injected r = inject(pod);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_TRUE(jsonEqual(*findPointer(r.object, "/spec/containers/1"),
                        *findPointer(yaml(pod), "/spec/containers/0")));
  EXPECT_EQ(str(r.object, "/spec/initContainers/0/args/8"), "8080,8443,9000,15021,15090");
  EXPECT_EQ(env(*findPointer(r.object, "/spec/containers/0"), "REMORA_APP_PROBES"), "<absent>");
}

TEST(InjectionTest, ProbesAlreadyPointingAtTheAppHealthPathAreLeftAlone) {
  // E.g. a manifest saved after injection and re-applied without the proxy.
  const std::string pod = webPod(
      R"(    readinessProbe: {httpGet: {path: /app-health/web/readyz, port: 15021, scheme: HTTP}}
)");
  Injected r = inject(pod);
  ASSERT_TRUE(r.status.isOk()) << r.status.message();
  EXPECT_EQ(str(r.object, "/spec/containers/1/readinessProbe/httpGet/path"),
            "/app-health/web/readyz");
  EXPECT_EQ(env(*findPointer(r.object, "/spec/containers/0"), "REMORA_APP_PROBES"), "<absent>");
  EXPECT_EQ(str(r.object, "/spec/initContainers/0/args/8"), "15021,15090");
}

TEST(InjectionTest, BadAnnotationValuesAreErrorsNamingTheAnnotationAndChangeNothing) {
  const std::pair<std::string, std::string> cases[] = {
      {"remora.dev/exclude-inbound-ports: '80,http'", "remora.dev/exclude-inbound-ports wants"},
      {"remora.dev/exclude-outbound-ports: '0'", "remora.dev/exclude-outbound-ports wants"},
      {"remora.dev/exclude-outbound-ports: '*'", "remora.dev/exclude-outbound-ports wants"},
      {"remora.dev/include-inbound-ports: '65536'", "remora.dev/include-inbound-ports wants"},
      {"remora.dev/exclude-outbound-ip-ranges: '10.0.0.0/33'",
       "remora.dev/exclude-outbound-ip-ranges wants"},
      {"remora.dev/exclude-outbound-ip-ranges: 'example.com'",
       "remora.dev/exclude-outbound-ip-ranges wants"},
      {"remora.dev/proxy-cpu: lots", "remora.dev/proxy-cpu wants"},
      {"remora.dev/proxy-memory: '-1Gi'", "remora.dev/proxy-memory wants"},
      {"remora.dev/log-level: verbose", "remora.dev/log-level wants"},
      {"remora.dev/native-sidecar: 'yes'", "remora.dev/native-sidecar wants"},
      {"remora.dev/rewrite-app-probes: 'no'", "remora.dev/rewrite-app-probes wants"},
      {"remora.dev/inject: 'enabled'", "remora.dev/inject wants"},
  };
  for (const auto& [annotation, want] : cases) {
    const std::string text = withAnnotations(annotation);
    Injected r = inject(text);
    ASSERT_FALSE(r.status.isOk()) << annotation;
    EXPECT_NE(r.status.message().find(want), std::string::npos) << r.status.message();
    const std::string key = annotation.substr(0, annotation.find(':'));
    EXPECT_EQ(r.report.error_pointer, "/metadata/annotations/" + escapePointerToken(key));
    EXPECT_TRUE(jsonEqual(r.object, yaml(text))) << annotation;
  }
}

TEST(InjectionTest, InjectingTwiceChangesNothingAndAnExistingProxyCountsAsInjected) {
  // A plain pod, and one whose probes were rewritten (REMORA_APP_PROBES is not added again).
  for (const Injected& once : {inject(kPod), injectProbed("")}) {
    ASSERT_EQ(once.report.outcome, InjectOutcome::kInjected);
    Value twice = once.object;
    InjectionReport report;
    ASSERT_TRUE(injectObject(&twice, NamespaceSelection::kEnabled, {}, &report).isOk());
    EXPECT_EQ(report.outcome, InjectOutcome::kAlreadyInjected);
    EXPECT_TRUE(jsonEqual(twice, once.object));
  }

  std::string manual = kPod;
  manual += "  - {name: remora-proxy, image: mine}\n";
  Injected m = inject(manual);
  EXPECT_EQ(m.report.outcome, InjectOutcome::kAlreadyInjected);
  EXPECT_TRUE(jsonEqual(m.object, yaml(manual)));
}

TEST(InjectionTest, EveryWorkloadKindGetsItsPodTemplateInjected) {
  const std::pair<std::string, std::string> kinds[] = {
      {"Deployment", "/spec/template"}, {"StatefulSet", "/spec/template"},
      {"DaemonSet", "/spec/template"},  {"ReplicaSet", "/spec/template"},
      {"Job", "/spec/template"},        {"CronJob", "/spec/jobTemplate/spec/template"},
  };
  for (const auto& [kind, pointer] : kinds) {
    const std::string tmpl = "{metadata: {labels: {app: w}}, spec: {containers: [{name: c}]}}";
    const std::string text = "kind: " + kind + "\nmetadata: {name: w-" + kind + "}\nspec: " +
                             (kind == "CronJob" ? "{jobTemplate: {spec: {template: " + tmpl + "}}}"
                                                : "{template: " + tmpl + "}");
    Injected r = inject(text);
    ASSERT_TRUE(r.status.isOk()) << kind << ": " << r.status.message();
    EXPECT_EQ(r.report.outcome, InjectOutcome::kInjected) << kind;
    EXPECT_EQ(names(r.object, pointer + "/spec/containers"),
              (std::vector<std::string>{"remora-proxy", "c"}))
        << kind;
    EXPECT_EQ(str(r.object, pointer + "/metadata/annotations/remora.dev~1status"), "injected");
    EXPECT_EQ(str(r.object, "/metadata/annotations"), "<absent>") << kind;
  }
  EXPECT_EQ(podTemplatePointer("Service"), std::nullopt);
}

TEST(InjectionTest, OtherKindsAndWorkloadAnnotationsOutsideTheTemplateAreIgnored) {
  const std::string service = "kind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n";
  Injected s = inject(service);
  ASSERT_TRUE(s.status.isOk());
  EXPECT_EQ(s.report.outcome, InjectOutcome::kNotSelected);
  EXPECT_TRUE(jsonEqual(s.object, yaml(service)));
  // remora.dev/inject on the Deployment itself is not the pod's annotation.
  Injected d = inject(
      "kind: Deployment\nmetadata: {name: d, annotations: {remora.dev/inject: 'false'}}\n"
      "spec: {template: {spec: {containers: [{name: c}]}}}\n");
  ASSERT_TRUE(d.status.isOk());
  EXPECT_EQ(d.report.outcome, InjectOutcome::kInjected);
}

TEST(InjectionTest, ServiceNameComesFromAppLabelsThenTheWorkloadOrPodName) {
  const std::pair<std::string, std::string> cases[] = {
      {"kind: Pod\nmetadata: {name: p, labels: {app.kubernetes.io/name: a, app: b}}", "a"},
      {"kind: Pod\nmetadata: {name: p, labels: {app: b}}", "b"},
      {"kind: Deployment\nmetadata: {name: dep}\nspec: {template: {spec: {containers: []}}}",
       "dep"},
      {"kind: Pod\nmetadata: {generateName: web-7d9f8c6b5-, labels: {pod-template-hash: "
       "7d9f8c6b5}}",
       "web"},
      {"kind: Pod\nmetadata: {generateName: report-28000000-}", "report-28000000"},
      {"kind: Pod\nmetadata: {name: db-12, labels: {statefulset.kubernetes.io/pod-name: db-12}}",
       "db"},
      {"kind: Pod\nmetadata: {name: plain-3}", "plain-3"},
  };
  for (const auto& [head, want] : cases) {
    std::string text = head + "\n";
    if (text.find("spec:") == std::string::npos) {
      text += "spec: {containers: [{name: c}]}\n";
    }
    Injected r = inject(text);
    ASSERT_TRUE(r.status.isOk()) << head << ": " << r.status.message();
    EXPECT_EQ(r.report.service, want) << head;
  }
  Injected nameless = inject("kind: Pod\nmetadata: {}\nspec: {containers: [{name: c}]}\n");
  EXPECT_FALSE(nameless.status.isOk());
  EXPECT_NE(nameless.status.message().find("service name"), std::string::npos);
}

TEST(InjectionTest, JobsWithoutNativeModeGetAWarningNativeJobsDoNot) {
  const char* job =
      "kind: Job\nmetadata: {name: j}\nspec: {template: {spec: {containers: "
      "[{name: c}], restartPolicy: Never}}}\n";
  Injected r = inject(job);
  ASSERT_TRUE(r.status.isOk());
  ASSERT_EQ(r.report.warnings.size(), 1u);
  EXPECT_NE(r.report.warnings[0].find("remora.dev/native-sidecar"), std::string::npos);
  EXPECT_NE(r.report.warnings[0].find("/drain"), std::string::npos);
  InjectionOptions native;
  native.native_sidecar = true;
  Injected n = inject(job, NamespaceSelection::kUnknown, native);
  EXPECT_TRUE(n.report.warnings.empty());
  // A Job's Pod, as the webhook sees it.
  Injected pod = inject(
      "kind: Pod\nmetadata: {name: j-x, labels: {job-name: j}}\nspec: {containers: [{name: c}]}\n");
  EXPECT_EQ(pod.report.warnings.size(), 1u);
}

TEST(InjectionTest, MalformedPodsAreErrorsNotCrashes) {
  const char* cases[] = {
      "kind: Pod\nmetadata: {name: p}\n",
      "kind: Pod\nmetadata: {name: p}\nspec: [1]\n",
      "kind: Pod\nmetadata: {name: p}\nspec: {containers: {name: c}}\n",
      "kind: Pod\nmetadata: {name: p}\nspec: {containers: [1, 2]}\n",
      "kind: Deployment\nmetadata: {name: d}\nspec: {template: 3}\n",
      "kind: CronJob\nmetadata: {name: c}\nspec: {}\n",
  };
  for (const char* text : cases) {
    Injected r = inject(text);
    EXPECT_FALSE(r.status.isOk()) << text;
    EXPECT_TRUE(jsonEqual(r.object, yaml(text))) << text;
  }
}

}  // namespace
}  // namespace remora::control
