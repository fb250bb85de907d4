#include "control/manifest_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "control/manifest_files.h"

namespace remora::control {
namespace {

namespace fs = std::filesystem;

#ifndef REMORA_SOURCE_DIR
#error "REMORA_SOURCE_DIR must point at the repository root"
#endif

// A scratch directory of manifest files, removed with the object.
class ManifestDir {
 public:
  ManifestDir() {
    std::string templ = ::testing::TempDir() + "/manifests.XXXXXX";
    const char* made = ::mkdtemp(templ.data());
    EXPECT_NE(made, nullptr);
    path_ = templ;
  }
  ~ManifestDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ManifestDir(const ManifestDir&) = delete;
  ManifestDir& operator=(const ManifestDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `text` to `name` (subdirectories made as needed).
  void write(const std::string& name, const std::string& text) const {
    const fs::path p = fs::path(path_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  // Loads the directory; errors come back with the directory prefix removed ("a.yaml:3:5: ...").
  ManifestLoad load() const {
    auto loaded = loadManifests(path_);
    EXPECT_TRUE(loaded.isOk()) << loaded.status().message();
    if (!loaded.isOk()) {
      return {};
    }
    ManifestLoad out = std::move(loaded).value();
    for (std::string& e : out.errors) {
      if (e.compare(0, path_.size() + 1, path_ + "/") == 0) {
        e.erase(0, path_.size() + 1);
      }
    }
    return out;
  }

  // The errors of a directory holding just `files`.
  static std::vector<std::string> errorsOf(const std::map<std::string, std::string>& files) {
    ManifestDir dir;
    for (const auto& [name, text] : files) {
      dir.write(name, text);
    }
    return dir.load().errors;
  }

 private:
  std::string path_;
};

using Errors = std::vector<std::string>;

// A Service named `name` in shop with one port 8080 ("http"), as a document of its own.
std::string service(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: shop}\nspec:\n  ports: [{name: http, port: 8080}]\n";
}

// A shop with every kind, several files, a subdirectory, .yml, a List, an omitted namespace.
constexpr const char* kServices = R"(# services of the shop
apiVersion: v1
kind: Service
metadata:
  name: catalog
  namespace: shop
  labels: {app: catalog}
spec:
  selector: {app: catalog}
  clusterIP: 10.96.0.12
  type: ClusterIP
  ports:
  - {name: http, port: 8080, targetPort: http, protocol: TCP, appProtocol: http}
  - {name: admin, port: 9090, targetPort: 9091}
---
apiVersion: v1
kind: Service
metadata: {name: catalog-v1, namespace: shop}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: catalog-v2, namespace: shop}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: orders}
spec:
  ports: [{port: 80, targetPort: "8080"}]
)";

constexpr const char* kEndpoints = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: catalog-abc12
  namespace: shop
  labels: {kubernetes.io/service-name: catalog}
addressType: IPv4
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  zone: zone-a
  targetRef: {kind: Pod, name: catalog-1, namespace: shop}
- addresses: [127.0.0.2]
  conditions: {ready: false}
ports:
- {name: http, port: 18081, protocol: TCP, appProtocol: http}
---
apiVersion: v1
kind: List
items:
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: catalog-v1-x1
    namespace: shop
    labels: {kubernetes.io/service-name: catalog-v1}
  addressType: IPv4
  endpoints: [{addresses: [127.0.0.1]}]
  ports: [{name: http, port: 18081}]
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: catalog-v2-x1
    namespace: shop
    labels: {kubernetes.io/service-name: catalog-v2}
  addressType: IPv6
  endpoints: [{addresses: ["::1"]}]
  ports: [{name: http, port: 18082}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: orders}
subsets:
- addresses: [{ip: 127.0.0.1, hostname: orders-0, targetRef: {kind: Pod, name: orders-0}}]
  notReadyAddresses: [{ip: 127.0.0.3}]
  ports: [{name: http, port: 18083, protocol: TCP}]
)";

constexpr const char* kRoute = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: catalog-canary, namespace: shop}
spec:
  parentRefs: [{group: "", kind: Service, name: catalog, port: 8080}]
  hostnames: [catalog.shop.svc.cluster.local, "*.catalog.example"]
  rules:
  - name: api
    matches:
    - path: {type: PathPrefix, value: /api}
      headers: [{name: x-canary, value: "1"}, {type: RegularExpression, name: x-user, value: "u[0-9]+"}]
      queryParams: [{name: debug, value: "on"}]
      method: GET
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-a, value: "1"}], add: [{name: x-b, value: "2"}], remove: [x-c]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {remove: [server]}
    - type: URLRewrite
      urlRewrite: {hostname: catalog.internal, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v1}}
    backendRefs:
    - {name: catalog-v1, port: 8080, weight: 90}
    - {group: "", kind: Service, name: catalog-v2, namespace: shop, port: 8080, weight: 10}
    timeouts: {request: 2s, backendRequest: 500ms}
    retry: {codes: [503], attempts: 2, backoff: 25ms}
  - matches: [{path: {type: Exact, value: /health}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /healthz}}}]
    backendRefs: [{name: catalog, port: 9090}]
)";

constexpr const char* kPolicies = R"(apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: catalog, namespace: shop}
spec:
  targetRefs: [{group: "", kind: Service, name: catalog}]
  loadBalancer:
    type: RING_HASH
    hashOn: {header: x-user}
    panicThresholdPercent: 50
  connectionPool: {maxConnections: 1024, maxPendingRequests: 0, maxRequests: 1024,
                   maxRetries: 3, connectTimeout: 5s, idleTimeout: 1h}
  outlierDetection: {consecutive5xx: 5, consecutiveGatewayErrors: 0, interval: 10s,
                     baseEjectionTime: 30s, maxEjectionTime: 300s, maxEjectionPercent: 10}
  healthCheck:
    http: {path: /healthz, expectedStatuses: [200, 204]}
    interval: 5s
    timeout: 1s
    unhealthyThreshold: 3
    healthyThreshold: 2
  retry:
    attempts: 2
    perTryTimeout: 1s
    retryOn: [5xx, gateway-error, reset, connect-failure, retriable-status-codes]
    retriableStatusCodes: [503]
    backoff: {baseInterval: 25ms, maxInterval: 250ms}
    budget: {percent: 20, minRetriesPerSecond: 3}
  timeout: 15s
  rateLimit: {requestsPerUnit: 100, unit: second, burst: 20, perSource: false}
  faultInjection:
    delay: {percent: 10, fixedDelay: 500ms}
    abort: {percent: 5, httpStatus: 503}
  fallback: {status: 200, body: '{"items":[],"degraded":true}',
             headers: {content-type: application/json}}
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: versions, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog-v1}, {kind: Service, name: catalog-v2}]
  loadBalancer: {type: PEAK_EWMA, ewmaDecay: 10s}
  healthCheck: {tcp: {}}
)";

TEST(ManifestLoaderTest, LoadsAShopWithEveryKind) {
  ManifestDir dir;
  dir.write("services.yaml", kServices);
  dir.write("endpoints/slices.yml", kEndpoints);
  dir.write("routes/catalog.yaml", kRoute);
  dir.write("policies.yaml", kPolicies);
  dir.write("README.md", "not a manifest: {");
  dir.write(".hidden.yaml", "kind: Nonsense\n");
  dir.write("..data/services.yaml", kServices);  // a ConfigMap volume's twin

  ManifestLoad load = dir.load();
  ASSERT_TRUE(load.ok()) << ::testing::PrintToString(load.errors);
  const MeshManifests& m = load.manifests;
  EXPECT_EQ(m.files, 4u);
  EXPECT_EQ(m.services.size(), 4u);
  EXPECT_EQ(m.endpoint_slices.size(), 3u);
  EXPECT_EQ(m.endpoints.size(), 1u);
  EXPECT_EQ(m.routes.size(), 1u);
  EXPECT_EQ(m.policies.size(), 2u);
  EXPECT_EQ(m.objectCount(), 11u);

  // Origins: the real file and line of each object, namespaces filled in.
  const auto& orders = m.services[3];
  EXPECT_EQ(orders.file, dir.path() + "/services.yaml");
  EXPECT_EQ(orders.pos, (xds::SourcePos{28, 1}));
  EXPECT_EQ(orders.object.metadata().namespace_(), "default");
  EXPECT_EQ(orders.object.spec().ports(0).target_port(), "8080");
  EXPECT_EQ(m.services[0].object.spec().cluster_ip(), "10.96.0.12");
  EXPECT_EQ(m.endpoint_slices[1].file, dir.path() + "/endpoints/slices.yml");
  EXPECT_EQ(m.endpoint_slices[1].pos, (xds::SourcePos{22, 3}));  // an item of the List
  EXPECT_EQ(m.endpoint_slices[2].object.endpoints(0).addresses(0), "::1");
  EXPECT_FALSE(m.endpoint_slices[0].object.endpoints(1).conditions().ready());
  EXPECT_TRUE(m.endpoint_slices[0].object.endpoints(1).conditions().has_ready());
  EXPECT_FALSE(m.endpoint_slices[1].object.endpoints(0).conditions().has_ready());
  EXPECT_EQ(m.endpoints[0].object.subsets(0).not_ready_addresses(0).ip(), "127.0.0.3");

  const auto& route = m.routes[0];
  const mesh::HTTPRouteRule& rule = route.object.spec().rules(0);
  EXPECT_EQ(rule.backend_refs(0).weight(), 90);
  EXPECT_EQ(rule.backend_refs(1).weight(), 10);
  EXPECT_EQ(rule.timeouts().backend_request().nanos(), 500000000);
  EXPECT_EQ(rule.filters(2).url_rewrite().path().replace_prefix_match(), "/v1");
  EXPECT_EQ(route.map.find("spec.rules[0].backendRefs[1].weight"), (xds::SourcePos{23, 89}));
  EXPECT_EQ(route.error("spec.rules[0].backendRefs[1].weight", "x"),
            dir.path() + "/routes/catalog.yaml:23:89: spec.rules[0].backendRefs[1].weight: x");
  EXPECT_EQ(route.where(), dir.path() + "/routes/catalog.yaml:1");

  const mesh::TrafficPolicySpec& policy = m.policies[0].object.spec();
  EXPECT_EQ(policy.load_balancer().hash_on().header(), "x-user");
  EXPECT_TRUE(policy.connection_pool().has_max_pending_requests());
  EXPECT_EQ(policy.connection_pool().max_pending_requests(), 0u);
  EXPECT_EQ(policy.outlier_detection().max_ejection_time().seconds(), 300);
  EXPECT_TRUE(policy.outlier_detection().has_consecutive_gateway_errors());
  EXPECT_EQ(policy.retry().budget().percent(), 20);
  EXPECT_EQ(policy.fallback().headers().at("content-type"), "application/json");
  EXPECT_TRUE(m.policies[1].object.spec().health_check().has_tcp());
}

TEST(ManifestLoaderTest, TheExampleShopIsValid) {
  auto loaded = loadManifests(std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  const ManifestLoad& load = loaded.value();
  ASSERT_TRUE(load.ok()) << ::testing::PrintToString(load.errors);
  const MeshManifests& m = load.manifests;
  EXPECT_EQ(m.services.size(), 5u);
  EXPECT_EQ(m.endpoint_slices.size(), 9u);
  EXPECT_EQ(m.routes.size(), 1u);
  EXPECT_EQ(m.policies.size(), 2u);
  // The canary: 90 / 10 between catalog-v1 and catalog-v2.
  const mesh::HTTPRouteRule& rule = m.routes[0].object.spec().rules(0);
  ASSERT_EQ(rule.backend_refs_size(), 2);
  EXPECT_EQ(rule.backend_refs(0).name(), "catalog-v1");
  EXPECT_EQ(rule.backend_refs(0).weight(), 90);
  EXPECT_EQ(rule.backend_refs(1).name(), "catalog-v2");
  EXPECT_EQ(rule.backend_refs(1).weight(), 10);
  bool retries = false;
  bool outliers = false;
  bool rate_limit = false;
  for (const auto& p : m.policies) {
    retries = retries || p.object.spec().retry().attempts() > 0;
    outliers = outliers || p.object.spec().has_outlier_detection();
    rate_limit = rate_limit || p.object.spec().has_rate_limit();
  }
  EXPECT_TRUE(retries && outliers && rate_limit);
  for (const auto& slice : m.endpoint_slices) {
    for (const auto& e : slice.object.endpoints()) {
      EXPECT_EQ(e.addresses(0), "127.0.0.1") << slice.object.metadata().name();
    }
  }
}

TEST(ManifestLoaderTest, ErrorsInLaterDocumentsNameTheFilesRealLine) {
  const std::string third = R"(apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog}]
  timeout: soon
)";
  EXPECT_EQ(ManifestDir::errorsOf({{"multi.yaml", "---\n" + service("catalog") + "---\n# two\n" +
                                                      service("orders") + "---\n" + third}}),
            (Errors{"multi.yaml:20:12: spec.timeout: invalid duration \"soon\": expected a "
                    "number followed by a unit (ns, us, ms, s, m, h)"}));
}

TEST(ManifestLoaderTest, UnknownFieldsAreToleratedInKubernetesKinds) {
  ManifestDir dir;
  dir.write("k8s.yaml", R"(apiVersion: v1
kind: Service
metadata:
  name: catalog
  namespace: shop
  uid: 0b8e7c1a
  resourceVersion: "123"
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl, fieldsV1: {f:spec: {}}}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"a":1}'}
spec:
  clusterIPs: [10.0.0.1]
  sessionAffinity: None
  internalTrafficPolicy: Cluster
  ports: [{name: http, port: 8080, nodePort: 30080}]
status: {loadBalancer: {}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: catalog-1
  namespace: shop
  labels: {kubernetes.io/service-name: catalog}
  ownerReferences: [{kind: Service, name: catalog}]
addressType: IPv4
endpoints:
- addresses: [10.1.0.4]
  deprecatedTopology: {a: b}
  hints: {forZones: [{name: z}]}
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: catalog, namespace: shop}
subsets: [{addresses: [{ip: 10.1.0.4, nodeName: n}], ports: [{port: 8080, extra: 1}]}]
status: {}
)");
  ManifestLoad load = dir.load();
  EXPECT_TRUE(load.ok()) << ::testing::PrintToString(load.errors);
  EXPECT_EQ(load.manifests.objectCount(), 3u);
}

TEST(ManifestLoaderTest, UnknownFieldsUnderSpecAreErrorsInRoutesAndPolicies) {
  EXPECT_EQ(ManifestDir::errorsOf({{"mesh.yaml", service("catalog") + R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop, uid: x, generation: 3}
spec:
  parentRefs: [{kind: Service, name: catalog}]
  rules:
  - backendRefs: [{name: catalog, port: 8080, filters: []}]
    sessionPersistence: {sessionName: s}
status: {parents: [{conditions: []}]}
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop, labels: {a: b}, finalizers: [x]}
spec:
  targetRefs: [{kind: Service, name: catalog}]
  circuitBreaker: {maxConnections: 1}
  retry: {attempts: 1, retryOnn: [5xx]}
status: {}
)"}}),
            (Errors{
                "mesh.yaml:13:47: spec.rules[0].backendRefs[0].filters: unknown field "
                "(HTTPBackendRef has: group, kind, name, namespace, port, weight)",
                "mesh.yaml:14:5: spec.rules[0].sessionPersistence: unknown field (HTTPRouteRule "
                "has: name, matches, filters, backendRefs, timeouts, retry)",
                "mesh.yaml:22:3: spec.circuitBreaker: unknown field (TrafficPolicySpec has: "
                "targetRefs, loadBalancer, connectionPool, outlierDetection, healthCheck, retry, "
                "timeout, rateLimit, faultInjection, fallback)",
                "mesh.yaml:23:24: spec.retry.retryOnn: unknown field (Retry has: attempts, "
                "perTryTimeout, retryOn, retriableStatusCodes, backoff, budget)",
            }));
}

TEST(ManifestLoaderTest, UnknownKindsAndVersionsAreErrorsAtTheirLine) {
  EXPECT_EQ(ManifestDir::errorsOf({{"kinds.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: r}
---
metadata: {name: nothing}
---
- just
- a list
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
)"}}),
            (Errors{
                "kinds.yaml:2:7: kind: unknown kind \"Deployment\" (apiVersion apps/v1); "
                "remora reads v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, "
                "gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 "
                "TrafficPolicy, v1 List",
                "kinds.yaml:5:13: apiVersion: HTTPRoute is read as "
                "gateway.networking.k8s.io/v1, got \"gateway.networking.k8s.io/v1beta1\"",
                "kinds.yaml:9:1: apiVersion: required (a string)",
                "kinds.yaml:9:1: kind: required (a string)",
                "kinds.yaml:11:1: expected a Kubernetes object (a mapping with apiVersion and "
                "kind)",
                "kinds.yaml:17:26: kind: unknown kind \"ConfigMap\" (apiVersion v1); remora "
                "reads v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, "
                "gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 "
                "TrafficPolicy, v1 List",
            }));
}

TEST(ManifestLoaderTest, ASyntaxErrorLosesOnlyItsFile) {
  ManifestDir dir;
  dir.write("a.yaml", service("catalog"));
  dir.write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [x\n");
  ManifestLoad load = dir.load();
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].rfind("b.yaml:4:1: YAML syntax error: ", 0), 0u) << load.errors[0];
  EXPECT_EQ(load.manifests.services.size(), 1u);
  EXPECT_EQ(load.manifests.files, 2u);
}

TEST(ManifestLoaderTest, ServiceErrors) {
  EXPECT_EQ(ManifestDir::errorsOf({{"svc.yaml", R"(apiVersion: v1
kind: Service
metadata: {namespace: Shop}
spec:
  type: Headless
  ports:
  - {name: http, port: 0, targetPort: "70000"}
  - {name: http, port: 8080, targetPort: -http-}
  - {port: 8080, targetPort: a_b}
  - {name: q, port: 9000, protocol: QUIC}
---
apiVersion: v1
kind: Service
metadata: {name: 9lives}
)"}}),
            (Errors{
                "svc.yaml:3:1: metadata.name: required",
                "svc.yaml:3:23: metadata.namespace: \"Shop\" is not a valid namespace (a "
                "DNS-1123 label)",
                "svc.yaml:5:9: spec.type: unknown Service type \"Headless\" (valid: "
                "ClusterIP, NodePort, LoadBalancer, ExternalName)",
                "svc.yaml:7:24: spec.ports[0].port: port 0 is out of range (1..65535)",
                "svc.yaml:7:39: spec.ports[0].targetPort: port 70000 is out of range (1..65535)",
                "svc.yaml:8:12: spec.ports[1].name: port name \"http\" is used twice (first "
                "at line 7)",
                "svc.yaml:8:42: spec.ports[1].targetPort: \"-http-\" is neither a port number "
                "nor a port name (at most 15 of a-z, 0-9 and '-', with at least one letter)",
                "svc.yaml:9:5: spec.ports[2].name: required when there is more than one port",
                "svc.yaml:9:12: spec.ports[2].port: port 8080/TCP is listed twice (first at "
                "line 8)",
                "svc.yaml:9:30: spec.ports[2].targetPort: \"a_b\" is neither a port number "
                "nor a port name (at most 15 of a-z, 0-9 and '-', with at least one letter)",
                "svc.yaml:10:37: spec.ports[3].protocol: unknown protocol \"QUIC\" (valid: "
                "TCP, UDP, SCTP)",
                "svc.yaml:14:18: metadata.name: \"9lives\" is not a valid Service name (a "
                "DNS-1035 label: at most 63 of a-z, 0-9 and '-', starting with a letter, "
                "ending with a letter or digit)",
            }));
}

TEST(ManifestLoaderTest, EndpointErrors) {
  EXPECT_EQ(ManifestDir::errorsOf({{"ep.yaml", service("catalog") + R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s1, namespace: shop}
addressType: IPv4
endpoints:
- addresses: ["::1", 10.0.0.1]
- conditions: {ready: true}
ports: [{port: 70000, protocol: tcp}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s2, namespace: shop, labels: {kubernetes.io/service-name: Catalog}}
addressType: IP
---
apiVersion: v1
kind: Endpoints
metadata: {name: catalog, namespace: shop}
subsets:
- addresses: [{ip: 10.0.0.300}, {hostname: h}]
  ports: [{name: http}]
)"}}),
            (Errors{
                "ep.yaml:9:1: metadata.labels: the label kubernetes.io/service-name is "
                "required (it names the slice's Service)",
                "ep.yaml:12:15: endpoints[0].addresses[0]: \"::1\" is not an address of type "
                "IPv4",
                "ep.yaml:13:3: endpoints[1].addresses: at least one address is required",
                "ep.yaml:14:16: ports[0].port: port 70000 is out of range (1..65535)",
                "ep.yaml:14:33: ports[0].protocol: unknown protocol \"tcp\" (valid: TCP, UDP, "
                "SCTP)",
                "ep.yaml:18:76: metadata.labels[\"kubernetes.io/service-name\"]: \"Catalog\" "
                "is not a valid Service name",
                "ep.yaml:19:14: addressType: unknown address type \"IP\" (valid: IPv4, IPv6, "
                "FQDN)",
                "ep.yaml:25:20: subsets[0].addresses[0].ip: \"10.0.0.300\" is not an IP address",
                "ep.yaml:25:33: subsets[0].addresses[1].ip: required",
                "ep.yaml:26:11: subsets[0].ports[0].port: required",
            }));
}

TEST(ManifestLoaderTest, RouteErrors) {
  const std::string routes = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r1, namespace: shop}
spec:
  parentRefs: [{name: gw}, {group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  hostnames: [10.0.0.1]
  rules:
  - name: Bad_Name
    matches:
    - path: {type: Prefix, value: /}
      headers: [{type: Regex, name: x, value: y}, {name: X, value: z}, {name: "bad header"}]
      queryParams: [{type: RegularExpression, name: q, value: "(unclosed"}]
      method: FETCH
    - path: {type: Exact, value: no-slash}
    filters:
    - {type: RequestRedirect}
    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, value: "1"}, {name: A, value: "2"}]}}
    - {type: RequestHeaderModifier, responseHeaderModifier: {}}
    - {type: URLRewrite}
    backendRefs:
    - {kind: Deployment, name: web, port: 80}
    - {name: catalog, weight: -1}
    - {group: apps, name: catalog, port: 8080, weight: 2000000}
    timeouts: {request: 1s, backendRequest: 2s}
    retry: {codes: [200, 503], attempts: -1}
  - filters:
    - {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /x}}}
    - {type: Mirror}
    backendRefs: [{name: catalog, port: 8080, weight: 0}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r2, namespace: shop}
spec:
  rules:
  - matches: [{path: {type: RegularExpression, value: "/items/[0-9]+"}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replaceFullPath: /a}}}]
)";
  EXPECT_EQ(
      ManifestDir::errorsOf({{"routes.yaml", routes}}),
      (Errors{
          "routes.yaml:5:16: spec.parentRefs[0]: kind is unset, which means Gateway: remora "
          "attaches routes to Services (write kind: Service)",
          "routes.yaml:5:36: spec.parentRefs[1].group: group \"gateway.networking.k8s.io\" is "
          "not the core group of a Service (\"\")",
          "routes.yaml:5:69: spec.parentRefs[1].kind: kind \"Gateway\" is not supported: "
          "remora attaches routes to Services (the Gateway API mesh convention)",
          "routes.yaml:6:15: spec.hostnames[0]: \"10.0.0.1\" is not a host name (a DNS name, "
          "optionally starting with \"*.\"; no IP addresses)",
          "routes.yaml:8:11: spec.rules[0].name: \"Bad_Name\" is not a valid rule name (a "
          "DNS-1123 label)",
          "routes.yaml:10:20: spec.rules[0].matches[0].path.type: unknown path match type "
          "\"Prefix\" (valid: Exact, PathPrefix, RegularExpression)",
          "routes.yaml:11:24: spec.rules[0].matches[0].headers[0].type: unknown match type "
          "\"Regex\" (valid: Exact, RegularExpression)",
          "routes.yaml:11:58: spec.rules[0].matches[0].headers[1].name: \"X\" is matched "
          "twice (first at line 11)",
          "routes.yaml:11:79: spec.rules[0].matches[0].headers[2].name: \"bad header\" is not "
          "a valid header name",
          "routes.yaml:12:63: spec.rules[0].matches[0].queryParams[0].value: invalid regular "
          "expression \"(unclosed\": " +
              std::string(std::regex_error(std::regex_constants::error_paren).what()),
          "routes.yaml:13:15: spec.rules[0].matches[0].method: unknown method \"FETCH\" "
          "(valid: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)",
          "routes.yaml:14:34: spec.rules[0].matches[1].path.value: a path must start with "
          "'/', got \"no-slash\"",
          "routes.yaml:16:14: spec.rules[0].filters[0].type: filter type RequestRedirect is "
          "not supported by remora (supported: RequestHeaderModifier, ResponseHeaderModifier, "
          "URLRewrite)",
          "routes.yaml:17:90: spec.rules[0].filters[1].requestHeaderModifier.set[1]: \"A\" is "
          "listed twice (first at line 17)",
          "routes.yaml:18:7: spec.rules[0].filters[2]: requestHeaderModifier is required for "
          "type RequestHeaderModifier",
          "routes.yaml:18:14: spec.rules[0].filters[2].type: RequestHeaderModifier is given "
          "twice in one rule (first at line 17)",
          "routes.yaml:18:37: spec.rules[0].filters[2].responseHeaderModifier: set but type "
          "is \"RequestHeaderModifier\"",
          "routes.yaml:19:7: spec.rules[0].filters[3]: urlRewrite is required for type "
          "URLRewrite",
          "routes.yaml:21:14: spec.rules[0].backendRefs[0].kind: kind \"Deployment\" is not "
          "supported: backends are Services",
          "routes.yaml:22:7: spec.rules[0].backendRefs[1]: port is required for a Service "
          "backend",
          "routes.yaml:22:31: spec.rules[0].backendRefs[1].weight: weight -1 is out of range "
          "(0..1000000)",
          "routes.yaml:23:15: spec.rules[0].backendRefs[2].group: group \"apps\" is not the "
          "core group of a Service (\"\")",
          "routes.yaml:23:56: spec.rules[0].backendRefs[2].weight: weight 2000000 is out of "
          "range (0..1000000)",
          "routes.yaml:24:45: spec.rules[0].timeouts.backendRequest: longer than "
          "timeouts.request (each try must fit in the whole request)",
          "routes.yaml:25:21: spec.rules[0].retry.codes[0]: status 200 is out of range "
          "(400..599)",
          "routes.yaml:25:42: spec.rules[0].retry.attempts: must be 0 or more",
          "routes.yaml:27:52: spec.rules[1].filters[0].urlRewrite.path.type: ReplaceFullPath "
          "can be mapped only when every match of the rule is an Exact path match (the "
          "sidecar rewrites a matched prefix)",
          "routes.yaml:28:14: spec.rules[1].filters[1].type: unknown filter type \"Mirror\" "
          "(supported: RequestHeaderModifier, ResponseHeaderModifier, URLRewrite)",
          "routes.yaml:29:5: spec.rules[1].backendRefs: every backendRef has weight 0, so no "
          "request could be sent anywhere",
          "routes.yaml:34:1: spec.parentRefs: at least one parentRef is required: remora "
          "attaches routes to Services (kind: Service, the Gateway API mesh convention)",
          "routes.yaml:37:47: spec.rules[0].filters[0].urlRewrite.path: replacePrefixMatch is "
          "required for type ReplacePrefixMatch",
          "routes.yaml:37:60: spec.rules[0].filters[0].urlRewrite.path.type: "
          "ReplacePrefixMatch needs every match of the rule to be a PathPrefix path match",
          "routes.yaml:37:97: spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: set "
          "but type is ReplacePrefixMatch",
      }));
}

TEST(ManifestLoaderTest, TrafficPolicyErrors) {
  const std::string policy = R"(apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop}
spec:
  targetRefs: [{name: catalog}, {kind: Deployment, name: web}, {kind: Service, name: catalog}]
  loadBalancer: {type: LEAST_REQUEST, hashOn: {cookie: c}, ewmaDecay: 1s, panicThresholdPercent: 101}
  connectionPool: {maxConnections: 0, maxRequests: 0, connectTimeout: 0s}
  outlierDetection: {interval: 0s, baseEjectionTime: 60s, maxEjectionTime: 30s, maxEjectionPercent: 200}
  healthCheck: {interval: 5s, unhealthyThreshold: 0}
  retry:
    retryOn: [5xx, retriable-4xx]
    retriableStatusCodes: [503, 700]
    backoff: {baseInterval: 1s, maxInterval: 100ms}
    budget: {percent: 120}
  rateLimit: {requestsPerUnit: 0, unit: Second, burst: 0}
  faultInjection:
    delay: {percent: 10}
    abort: {percent: -5, httpStatus: 100}
  fallback: {status: 700, headers: {"bad header": x, ok: y}}
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: q, namespace: shop}
spec:
  loadBalancer: {type: RING_HASH, hashOn: {sourceIP: false}}
  healthCheck: {http: {path: healthz, expectedStatuses: [99]}}
  rateLimit: {unit: hour}
  faultInjection: {}
)";
  EXPECT_EQ(
      ManifestDir::errorsOf({{"p.yaml", service("catalog") + "---\n" + policy}}),
      (Errors{
          "p.yaml:11:16: spec.targetRefs[0].kind: required (Service)",
          "p.yaml:11:40: spec.targetRefs[1].kind: kind \"Deployment\" is not supported: a "
          "TrafficPolicy targets Services",
          "p.yaml:11:86: spec.targetRefs[2].name: Service \"catalog\" is targeted twice "
          "(first at line 11)",
          "p.yaml:12:39: spec.loadBalancer.hashOn: hashOn applies only to RING_HASH and "
          "MAGLEV, not LEAST_REQUEST",
          "p.yaml:12:71: spec.loadBalancer.ewmaDecay: ewmaDecay applies only to PEAK_EWMA, "
          "not LEAST_REQUEST",
          "p.yaml:12:98: spec.loadBalancer.panicThresholdPercent: 101 is not a percentage "
          "(0..100)",
          "p.yaml:13:36: spec.connectionPool.maxConnections: must be at least 1",
          "p.yaml:13:52: spec.connectionPool.maxRequests: must be at least 1",
          "p.yaml:13:71: spec.connectionPool.connectTimeout: must be greater than 0",
          "p.yaml:14:32: spec.outlierDetection.interval: must be greater than 0",
          "p.yaml:14:76: spec.outlierDetection.maxEjectionTime: maxEjectionTime (default "
          "300s) must be at least baseEjectionTime (default 30s)",
          "p.yaml:14:101: spec.outlierDetection.maxEjectionPercent: 200 is not a percentage "
          "(0..100)",
          "p.yaml:15:3: spec.healthCheck: set http or tcp",
          "p.yaml:15:51: spec.healthCheck.unhealthyThreshold: must be at least 1",
          "p.yaml:17:20: spec.retry.retryOn[1]: unknown retry condition \"retriable-4xx\" "
          "(valid: 5xx, gateway-error, reset, connect-failure, retriable-status-codes, "
          "cancelled, deadline-exceeded, resource-exhausted, internal, unavailable)",
          "p.yaml:18:5: spec.retry.retriableStatusCodes: only used when retryOn lists "
          "retriable-status-codes",
          "p.yaml:18:33: spec.retry.retriableStatusCodes[1]: status 700 is out of range "
          "(100..599)",
          "p.yaml:19:46: spec.retry.backoff.maxInterval: must be at least baseInterval "
          "(default 25ms)",
          "p.yaml:20:23: spec.retry.budget.percent: 120 is not a percentage (0..100)",
          "p.yaml:21:32: spec.rateLimit.requestsPerUnit: must be at least 1",
          "p.yaml:21:41: spec.rateLimit.unit: unknown unit \"Second\" (valid: second, minute, "
          "hour)",
          "p.yaml:21:56: spec.rateLimit.burst: must be at least 1",
          "p.yaml:23:5: spec.faultInjection.delay: fixedDelay is required",
          "p.yaml:24:22: spec.faultInjection.abort.percent: -5 is not a percentage (0..100)",
          "p.yaml:24:38: spec.faultInjection.abort.httpStatus: status 100 is out of range "
          "(200..599)",
          "p.yaml:25:22: spec.fallback.status: status 700 is out of range (200..599)",
          "p.yaml:25:51: spec.fallback.headers[\"bad header\"]: \"bad header\" is not a valid "
          "header name",
          "p.yaml:30:1: spec.targetRefs: at least one targetRef (a Service) is required",
          "p.yaml:31:54: spec.loadBalancer.hashOn.sourceIP: false hashes on nothing: write "
          "sourceIP: true or leave hashOn out",
          "p.yaml:32:30: spec.healthCheck.http.path: a path must start with '/', got \"healthz\"",
          "p.yaml:32:58: spec.healthCheck.http.expectedStatuses[0]: status 99 is out of range "
          "(100..599)",
          "p.yaml:33:3: spec.rateLimit: requestsPerUnit is required",
          "p.yaml:34:3: spec.faultInjection: set delay or abort",
      }));
}

TEST(ManifestLoaderTest, ReferencesMustResolve) {
  const std::string mesh = R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ghost-1, namespace: shop, labels: {kubernetes.io/service-name: ghost}}
addressType: IPv4
---
apiVersion: v1
kind: Endpoints
metadata: {name: phantom, namespace: shop}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: catalog, port: 80, sectionName: grpc}, {kind: Service, name: catalog, namespace: other}]
  rules:
  - backendRefs: [{name: catalogue, port: 8080}, {name: catalog, port: 9090}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p1, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p2, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: orders}, {kind: Service, name: catalog}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p3, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: orders}]
)";
  ManifestDir dir;
  dir.write("a-services.yaml",
            service("catalog") + "---\n" + service("orders") + "---\n" + service("catalog"));
  dir.write("b-mesh.yaml", mesh);
  ManifestLoad load = dir.load();
  EXPECT_EQ(load.errors,
            (Errors{
                "a-services.yaml:15:18: metadata.name: Service shop/catalog is already defined "
                "at " +
                    dir.path() + "/a-services.yaml:1",
                "b-mesh.yaml:3:81: metadata.labels[\"kubernetes.io/service-name\"]: no Service "
                "shop/ghost",
                "b-mesh.yaml:8:18: metadata.name: no Service shop/phantom",
                "b-mesh.yaml:14:53: spec.parentRefs[0].port: Service shop/catalog has no port 80 "
                "(it has: 8080)",
                "b-mesh.yaml:14:70: spec.parentRefs[0].sectionName: Service shop/catalog has no "
                "port named \"grpc\"",
                "b-mesh.yaml:14:99: spec.parentRefs[1].name: no Service other/catalog",
                "b-mesh.yaml:16:26: spec.rules[0].backendRefs[0].name: no Service shop/catalogue",
                "b-mesh.yaml:16:72: spec.rules[0].backendRefs[1].port: Service shop/catalog has "
                "no port 9090 (it has: 8080)",
                "b-mesh.yaml:28:69: spec.targetRefs[1].name: Service shop/catalog is already "
                "targeted by TrafficPolicy shop/p1 at " +
                    dir.path() + "/b-mesh.yaml:18 (one TrafficPolicy per Service)",
            }));
  // The first of each stays; p2 was dropped, so p3 may take orders.
  EXPECT_EQ(load.manifests.services.size(), 2u);
  ASSERT_EQ(load.manifests.policies.size(), 2u);
  EXPECT_EQ(load.manifests.policies[1].object.metadata().name(), "p3");
  EXPECT_TRUE(load.manifests.routes.empty());
  EXPECT_TRUE(load.manifests.endpoint_slices.empty());
}

TEST(ManifestLoaderTest, AReferenceToABrokenServiceIsNotAnotherError) {
  EXPECT_EQ(ManifestDir::errorsOf({{"x.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop}
spec:
  ports: [{port: 8080, targetPort: "bad_name"}]
---
apiVersion: policy.remora.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop}
spec:
  targetRefs: [{kind: Service, name: catalog}]
)"}}),
            (Errors{"x.yaml:5:36: spec.ports[0].targetPort: \"bad_name\" is neither a port number "
                    "nor a port name (at most 15 of a-z, 0-9 and '-', with at least one letter)"}));
}

TEST(ManifestLoaderTest, AParseErrorDoesNotHideTheObjectsOtherProblems) {
  // The bad port value is reported once (no "port is required" as well); the unknown field
  // does not hide the bad weight next to it.
  EXPECT_EQ(ManifestDir::errorsOf({{"r.yaml", R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{kind: Service, name: catalog}]
  rules:
  - backendRefs: [{name: catalog, port: http, weight: -2}]
    mirror: true
)"}}),
            (Errors{
                "r.yaml:7:41: spec.rules[0].backendRefs[0].port: expected an integer (int32), "
                "got \"http\"",
                "r.yaml:7:55: spec.rules[0].backendRefs[0].weight: weight -2 is out of range "
                "(0..1000000)",
                "r.yaml:8:5: spec.rules[0].mirror: unknown field (HTTPRouteRule has: name, "
                "matches, filters, backendRefs, timeouts, retry)",
            }));
}

TEST(ManifestLoaderTest, ErrorsComeSortedByFileThenLine) {
  ManifestDir dir;
  dir.write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: B}\n");
  dir.write("a.yaml", "apiVersion: v1\nkind: Nope\n---\napiVersion: v1\nkind: Service\n");
  EXPECT_EQ(dir.load().errors,
            (Errors{
                "a.yaml:2:7: kind: unknown kind \"Nope\" (apiVersion v1); remora reads v1 "
                "Service, discovery.k8s.io/v1 EndpointSlice, v1 Endpoints, "
                "gateway.networking.k8s.io/v1 HTTPRoute, policy.remora.dev/v1alpha1 "
                "TrafficPolicy, v1 List",
                "a.yaml:4:1: metadata.name: required",
                "b.yaml:3:18: metadata.name: \"B\" is not a valid Service name (a DNS-1035 "
                "label: at most 63 of a-z, 0-9 and '-', starting with a letter, ending with a "
                "letter or digit)",
            }));
}

TEST(ManifestLoaderTest, LoaderTextsNeedNoFiles) {
  ManifestLoader loader;
  loader.addText(service("catalog"), "one.yaml");
  loader.addText("", "empty.yaml");
  loader.addText("---\n# only a comment\n---\n", "blank.yaml");
  ManifestLoad load = loader.finish();
  EXPECT_TRUE(load.ok()) << ::testing::PrintToString(load.errors);
  EXPECT_EQ(load.manifests.files, 3u);
  EXPECT_EQ(load.manifests.services.size(), 1u);
  // finish() leaves the loader empty.
  EXPECT_EQ(loader.finish().manifests.files, 0u);
}

TEST(ManifestFilesTest, ListsYamlFilesSortedAndSkipsHiddenOnes) {
  ManifestDir dir;
  dir.write("b.yaml", "");
  dir.write("a/z.yml", "");
  dir.write("a/notes.txt", "");
  dir.write(".git/x.yaml", "");
  dir.write("c/.swap.yaml", "");
  auto files = listManifestFiles(dir.path());
  ASSERT_TRUE(files.isOk());
  EXPECT_EQ(files.value(),
            (std::vector<std::string>{dir.path() + "/a/z.yml", dir.path() + "/b.yaml"}));
  auto one = listManifestFiles(dir.path() + "/a/notes.txt");
  ASSERT_TRUE(one.isOk());
  EXPECT_EQ(one.value(), (std::vector<std::string>{dir.path() + "/a/notes.txt"}));
  auto missing = listManifestFiles(dir.path() + "/nope");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), common::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), dir.path() + "/nope: no such file or directory");
}

TEST(ManifestLoaderTest, AMissingDirectoryIsNotFound) {
  auto loaded = loadManifests("/nonexistent/manifests");
  ASSERT_FALSE(loaded.isOk());
  EXPECT_EQ(loaded.status().code(), common::StatusCode::kNotFound);
}

}  // namespace
}  // namespace remora::control
