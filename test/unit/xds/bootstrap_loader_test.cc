#include "xds/bootstrap_loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace remora::xds {
namespace {

namespace v1 = config::v1;

#ifndef REMORA_SOURCE_DIR
#error "REMORA_SOURCE_DIR must point at the repository root"
#endif

// A bootstrap that uses most of the schema, both key spellings, and passes validation.
constexpr const char* kFullBootstrap = R"(node:
  id: orders-7f9c
  service: orders
  namespace: shop
  labels: {version: v1, app: orders}
admin:
  address: 127.0.0.1:0
  prometheusAddress: ""
  health_address: "[::1]:15021"
  recent_requests: 50
concurrency: 4
drainTimeout: 20s
accessLog: {enabled: false}
listeners:
  - name: outbound
    address: 0.0.0.0:15001
    direction: OUTBOUND
    routeConfig: outbound
    opaque_ports: [25, 3306, 65535]
    detect_timeout: 300ms
    maxConnections: 1000
    header_read_timeout: 10s
    idle_timeout: 1h
    max_request_headers_kb: 1024
    max_request_headers_count: 100
  - name: inbound
    address: "[::]:15006"
    direction: INBOUND
    route_config: inbound
    tcp_cluster: app
  - name: passthrough
    address: 127.0.0.1:0
    protocol: OPAQUE
  - name: passthrough2
    address: 127.0.0.1:0
    protocol: OPAQUE
static_resources:
  clusters:
    - name: reviews
      type: STATIC
      lbPolicy: ROUND_ROBIN
      connect_timeout: 250ms
      idleTimeout: 60s
      request_timeout: 15s
      max_idle_per_endpoint: 64
      maxConnectionsPerEndpoint: 1024
      endpoints:
        - address: 10.0.0.1:9080
          weight: 3
        - address: "[fd00::2]:9080"
          weight: 0
    - name: app
      endpoints: [{address: 127.0.0.1:8080}]
    - name: passthrough
      type: ORIGINAL_DST
  routes:
    - name: outbound
      virtualHosts:
        - name: reviews
          domains: [reviews, "reviews:9080", "*.reviews.svc", "reviews.*"]
          routes:
            - name: api
              match:
                regex: "/api/v[0-9]+/.*"
                methods: [GET, POST]
                headers:
                  - {name: x-canary, exact: "1"}
                  - {name: x-user, regex: "^[a-z]+$", invert: true}
                  - {name: x-debug, present: true}
                queryParams:
                  - {name: debug, regex: "true|1"}
              route: {cluster: reviews, timeout: 2s}
            - match: {path: /health}
              route: {cluster: reviews, timeout: 0}
            - match: {prefix: /}
              route: {cluster: reviews}
    - name: inbound
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match: {prefix: ""}
              route: {cluster: app}
)";

std::string errorOf(std::string_view yaml) {
  auto r = parseBootstrap(yaml, "boot.yaml");
  EXPECT_FALSE(r.isOk()) << yaml;
  return r.isOk() ? "" : r.status().message();
}

TEST(BootstrapLoaderTest, FullBootstrapLoads) {
  auto r = parseBootstrap(kFullBootstrap, "boot.yaml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const v1::Bootstrap& b = r.value();
  EXPECT_EQ(b.node().labels().at("version"), "v1");
  EXPECT_TRUE(b.admin().has_prometheus_address());
  EXPECT_EQ(b.admin().prometheus_address(), "");
  EXPECT_EQ(b.concurrency(), 4u);
  EXPECT_EQ(b.drain_timeout().seconds(), 20);
  EXPECT_TRUE(b.access_log().has_enabled());
  EXPECT_FALSE(b.access_log().enabled());
  ASSERT_EQ(b.listeners_size(), 4);
  EXPECT_EQ(b.listeners(0).route_config(), "outbound");
  EXPECT_EQ(b.listeners(0).detect_timeout().nanos(), 300000000);
  EXPECT_EQ(b.listeners(1).direction(), v1::Listener::INBOUND);
  const v1::Cluster& reviews = b.static_resources().clusters(0);
  EXPECT_EQ(reviews.connect_timeout().nanos(), 250000000);
  EXPECT_EQ(reviews.endpoints(0).weight(), 3u);
  EXPECT_EQ(b.static_resources().clusters(2).type(), v1::Cluster::ORIGINAL_DST);
  const v1::RouteMatch& match = b.static_resources().routes(0).virtual_hosts(0).routes(0).match();
  EXPECT_EQ(match.regex(), "/api/v[0-9]+/.*");
  EXPECT_TRUE(match.headers(2).present());
  EXPECT_EQ(match.query_params(0).name(), "debug");
}

TEST(BootstrapLoaderTest, FullBootstrapAsJsonLoads) {
  auto r = parseBootstrap(R"({
  "node": {"id": "n1"},
  "admin": {"address": "127.0.0.1:15000"},
  "listeners": [{"name": "out", "address": "127.0.0.1:15001", "routeConfig": "r"}],
  "staticResources": {
    "clusters": [{"name": "c", "endpoints": [{"address": "127.0.0.1:9001"}]}],
    "routes": [{"name": "r", "virtualHosts": [{"domains": ["*"],
      "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c", "timeout": "1.5s"}}]}]}]
  }
})",
                          "boot.json");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(
      r.value().static_resources().routes(0).virtual_hosts(0).routes(0).route().timeout().nanos(),
      500000000);
}

TEST(BootstrapLoaderTest, SpecOutlineLoads) {
  // The bootstrap outline of docs/configuration.md, with a single xds address as a scalar.
  auto r = parseBootstrap(
      R"(node: {id: orders-7f9c, service: orders, namespace: shop, labels: {version: v1}}
admin: {address: 127.0.0.1:15000}
xds: {address: 127.0.0.1:15010}        # absent: static mode
concurrency: 2                          # worker threads
listeners: []
static_resources: {clusters: [], routes: []}
)",
      "boot.yaml");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r.value().xds().address_size(), 1);
  EXPECT_EQ(r.value().xds().address(0), "127.0.0.1:15010");
  EXPECT_EQ(r.value().node().namespace_(), "shop");
}

TEST(BootstrapLoaderTest, ExampleStaticYamlLoads) {
  const std::string path = std::string(REMORA_SOURCE_DIR) + "/sidecar/examples/static.yaml";
  auto r = loadBootstrap(path);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const v1::Bootstrap& b = r.value();
  EXPECT_EQ(b.admin().address(), "127.0.0.1:15000");
  EXPECT_EQ(b.concurrency(), 1u);
  ASSERT_EQ(b.listeners_size(), 2);
  EXPECT_EQ(b.listeners(0).address(), "127.0.0.1:15001");
  EXPECT_EQ(b.listeners(0).route_config(), "outbound");
  EXPECT_EQ(b.listeners(1).address(), "127.0.0.1:15006");
  EXPECT_EQ(b.listeners(1).route_config(), "inbound");
  ASSERT_EQ(b.static_resources().clusters_size(), 2);
  EXPECT_EQ(b.static_resources().clusters(0).name(), "echo");
  EXPECT_EQ(b.static_resources().clusters(0).endpoints_size(), 2);
  EXPECT_EQ(b.static_resources().clusters(1).name(), "local-app");
  EXPECT_EQ(b.static_resources().clusters(1).endpoints(0).address(), "127.0.0.1:9003");
}

TEST(BootstrapLoaderTest, MissingFileIsNotFound) {
  auto r = loadBootstrap("/nonexistent/bootstrap.yaml");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), common::StatusCode::kNotFound);
}

TEST(BootstrapLoaderTest, FileErrorsNameThePath) {
  const std::string path = ::testing::TempDir() + "/bootstrap_loader_test.yaml";
  {
    std::ofstream out(path);
    out << "concurrency: 1\nlisteners:\n  - name: a\n    address: 127.0.0.1:99999\n";
  }
  auto r = loadBootstrap(path);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(),
            path +
                ":4:14: listeners[0].address: invalid address \"127.0.0.1:99999\": port "
                "\"99999\" is not a number in 0..65535");
  std::remove(path.c_str());
}

TEST(BootstrapLoaderTest, MultipleDocumentsAreAnError) {
  EXPECT_EQ(errorOf("concurrency: 1\n---\nconcurrency: 2\n"),
            "boot.yaml:3:1: expected one YAML document, found 2");
}

TEST(BootstrapLoaderTest, EmptyFileIsAnError) {
  EXPECT_EQ(errorOf(""), "boot.yaml: empty document");
}

TEST(BootstrapLoaderTest, SchemaErrorsComeBeforeSemanticChecks) {
  EXPECT_EQ(errorOf("concurrency: 500\nlisteners: [{name: a, adress: x}]\n"),
            "boot.yaml:2:23: listeners[0].adress: unknown field (Listener has: name, address, "
            "direction, route_config, tcp_cluster, opaque_ports, protocol, detect_timeout, "
            "max_connections, header_read_timeout, idle_timeout, max_request_headers_kb, "
            "max_request_headers_count, body_read_timeout)");
}

TEST(BootstrapLoaderTest, DuplicateListenerNameNamesLineAndPath) {
  EXPECT_EQ(errorOf(R"(listeners:
  - name: out
    address: 127.0.0.1:15001
  - name: out
    address: 127.0.0.1:15002
)"),
            "boot.yaml:4:11: listeners[1].name: duplicate listener name \"out\" (first at line 2)");
}

TEST(BootstrapLoaderTest, EmptyListenerNameIsAnError) {
  EXPECT_EQ(errorOf("listeners:\n  - address: 127.0.0.1:15001\n"),
            "boot.yaml:2:5: listeners[0].name: listener name is required");
}

TEST(BootstrapLoaderTest, BadListenerAddressNamesLineAndPath) {
  EXPECT_EQ(errorOf("listeners:\n  - name: a\n    address: localhost:15001\n"),
            "boot.yaml:3:14: listeners[0].address: invalid address \"localhost:15001\": "
            "\"localhost\" is not an IPv4 address (host names are not allowed)");
  EXPECT_EQ(errorOf("listeners:\n  - name: a\n"),
            "boot.yaml:2:5: listeners[0].address: listener address is required (IP:PORT)");
}

TEST(BootstrapLoaderTest, TwoListenersOnOneAddressIsAnError) {
  EXPECT_EQ(errorOf(R"(listeners:
  - {name: a, address: "127.0.0.1:15001"}
  - {name: b, address: "127.0.0.1:15001"}
)"),
            "boot.yaml:3:24: listeners[1].address: address \"127.0.0.1:15001\" is already used by "
            "listeners[0]");
}

TEST(BootstrapLoaderTest, BadAdminAddressNamesLineAndPath) {
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1\n"),
            "boot.yaml:2:12: admin.address: invalid address \"127.0.0.1\": missing ':PORT'");
  EXPECT_EQ(errorOf("admin:\n  prometheus_address: \"::1:15090\"\n"),
            "boot.yaml:2:23: admin.prometheus_address: invalid address \"::1:15090\": IPv6 "
            "addresses need brackets, e.g. [::1]:8080");
}

TEST(BootstrapLoaderTest, BadXdsAddressNamesLineAndPath) {
  auto ok = parseBootstrap(
      "xds: {address: [\"remora-control.mesh.svc:15010\", \"10.0.0.1:15010\"]}\n", "boot.yaml");
  EXPECT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(errorOf("xds:\n  address: [control]\n"),
            "boot.yaml:2:13: xds.address[0]: invalid control plane address \"control\" (expected "
            "HOST:PORT with a port in 1..65535)");
}

TEST(BootstrapLoaderTest, ConcurrencyAbove128IsAnError) {
  EXPECT_EQ(errorOf("node: {id: x}\nconcurrency: 129\n"),
            "boot.yaml:2:14: concurrency: concurrency 129 exceeds the maximum of 128");
  EXPECT_TRUE(parseBootstrap("concurrency: 128\n", "boot.yaml").isOk());
}

TEST(BootstrapLoaderTest, OpaquePortOutOfRangeIsAnError) {
  EXPECT_EQ(
      errorOf(
          "listeners:\n  - name: a\n    address: 127.0.0.1:0\n    opaque_ports: [25, 0, 65536]\n"),
      "boot.yaml:4:24: listeners[0].opaque_ports[1]: opaque port 0 is not in 1..65535\n"
      "boot.yaml:4:27: listeners[0].opaque_ports[2]: opaque port 65536 is not in 1..65535");
}

TEST(BootstrapLoaderTest, MaxRequestHeadersKbAbove1024IsAnError) {
  EXPECT_EQ(
      errorOf("listeners:\n  - name: a\n    address: 127.0.0.1:0\n    maxRequestHeadersKb: 2048\n"),
      "boot.yaml:4:26: listeners[0].max_request_headers_kb: max_request_headers_kb 2048 "
      "exceeds the maximum of 1024");
}

TEST(BootstrapLoaderTest, UnknownRouteConfigNamesLineAndPath) {
  EXPECT_EQ(errorOf("listeners:\n  - name: a\n    address: 127.0.0.1:0\n    route_config: nope\n"),
            "boot.yaml:4:19: listeners[0].route_config: route configuration \"nope\" is not "
            "defined in static_resources.routes");
}

TEST(BootstrapLoaderTest, UnknownTcpClusterNamesLineAndPath) {
  EXPECT_EQ(errorOf("listeners:\n  - name: a\n    address: 127.0.0.1:0\n    tcp_cluster: nope\n"),
            "boot.yaml:4:18: listeners[0].tcp_cluster: cluster \"nope\" is not defined in "
            "static_resources.clusters");
}

TEST(BootstrapLoaderTest, UnresolvedReferencesAreAllowedWithAControlPlane) {
  auto r = parseBootstrap(R"(xds: {address: ["127.0.0.1:15010"]}
listeners:
  - {name: outbound, address: "0.0.0.0:15001", route_config: from-xds, tcp_cluster: also-xds}
)",
                          "boot.yaml");
  EXPECT_TRUE(r.isOk()) << r.status().message();
}

TEST(BootstrapLoaderTest, DuplicateClusterNameNamesLineAndPath) {
  EXPECT_EQ(errorOf(R"(static_resources:
  clusters:
    - name: a
      endpoints: [{address: "127.0.0.1:1"}]
    - name: a
      endpoints: [{address: "127.0.0.1:2"}]
)"),
            "boot.yaml:5:13: static_resources.clusters[1].name: duplicate cluster name \"a\" "
            "(first at line 3)");
}

TEST(BootstrapLoaderTest, EmptyClusterNameIsAnError) {
  EXPECT_EQ(errorOf("static_resources:\n  clusters:\n    - type: ORIGINAL_DST\n"),
            "boot.yaml:3:7: static_resources.clusters[0].name: cluster name is required");
}

TEST(BootstrapLoaderTest, StaticClusterWithoutEndpointsIsAnError) {
  EXPECT_EQ(errorOf("static_resources:\n  clusters:\n    - name: a\n      type: STATIC\n"),
            "boot.yaml:3:7: static_resources.clusters[0].endpoints: a STATIC cluster needs at "
            "least one endpoint");
}

TEST(BootstrapLoaderTest, OriginalDstClusterWithEndpointsIsAnError) {
  EXPECT_EQ(errorOf(R"(static_resources:
  clusters:
    - name: a
      type: ORIGINAL_DST
      endpoints:
        - address: 127.0.0.1:1
)"),
            "boot.yaml:5:7: static_resources.clusters[0].endpoints: an ORIGINAL_DST cluster must "
            "not list endpoints (it connects to the original destination)");
}

TEST(BootstrapLoaderTest, BadEndpointAddressNamesLineAndPath) {
  EXPECT_EQ(errorOf(R"(static_resources:
  clusters:
    - name: a
      endpoints: [{address: "127.0.0.1:1"}]
    - name: b
      endpoints:
        - address: 127.0.0.1:2
        - address: 127.0.0.300:2
        - address: 127.0.0.1:0
        - weight: 2
)"),
            "boot.yaml:8:20: static_resources.clusters[1].endpoints[1].address: invalid address "
            "\"127.0.0.300:2\": \"127.0.0.300\" is not an IPv4 address (host names are not "
            "allowed)\n"
            "boot.yaml:9:20: static_resources.clusters[1].endpoints[2].address: invalid address "
            "\"127.0.0.1:0\": port must be in 1..65535\n"
            "boot.yaml:10:11: static_resources.clusters[1].endpoints[3].address: endpoint address "
            "is required (IP:PORT)");
}

constexpr const char* kRoutesPrefix = R"(static_resources:
  clusters:
    - name: c
      endpoints: [{address: "127.0.0.1:1"}]
  routes:
)";

TEST(BootstrapLoaderTest, DuplicateRouteConfigNameNamesLineAndPath) {
  EXPECT_EQ(errorOf(std::string(kRoutesPrefix) + R"(    - name: r
    - name: r
)"),
            "boot.yaml:7:13: static_resources.routes[1].name: duplicate route configuration name "
            "\"r\" (first at line 6)");
}

TEST(BootstrapLoaderTest, RouteToUnknownClusterNamesLineAndPath) {
  EXPECT_EQ(errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match: {prefix: /}
              route: {cluster: c}
            - match: {prefix: /x}
              route: {cluster: missing}
)"),
            "boot.yaml:13:32: static_resources.routes[0].virtual_hosts[0].routes[1].route.cluster: "
            "cluster \"missing\" is not defined in static_resources.clusters");
}

TEST(BootstrapLoaderTest, RouteWithoutClusterIsAnError) {
  EXPECT_EQ(errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match: {prefix: /}
)"),
            "boot.yaml:10:15: static_resources.routes[0].virtual_hosts[0].routes[0].route.cluster: "
            "route needs a cluster (route.cluster or route.weighted_clusters)");
}

TEST(BootstrapLoaderTest, RouteMatchWithoutPathSpecifierIsAnError) {
  EXPECT_EQ(errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match: {methods: [GET]}
              route: {cluster: c}
)"),
            "boot.yaml:10:15: static_resources.routes[0].virtual_hosts[0].routes[0].match: match "
            "needs prefix, path or regex");
}

TEST(BootstrapLoaderTest, BadRegexesNameLineAndPath) {
  std::string message = errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match:
                regex: "/api/(v1"
                headers: [{name: x-a, regex: "[a-"}]
                query_params:
                  - name: q
                    regex: "*bad"
              route: {cluster: c}
)");
  const std::string route = "static_resources.routes[0].virtual_hosts[0].routes[0].match";
  EXPECT_EQ(message.rfind("boot.yaml:11:24: " + route + ".regex: invalid regex \"/api/(v1\": ", 0),
            0u)
      << message;
  EXPECT_NE(
      message.find("\nboot.yaml:12:46: " + route + ".headers[0].regex: invalid regex \"[a-\": "),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("\nboot.yaml:15:28: " + route +
                         ".query_params[0].regex: invalid regex \"*bad\": "),
            std::string::npos)
      << message;
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 2);
}

TEST(BootstrapLoaderTest, MatchersNeedNames) {
  std::string message = errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - domains: ["*"]
          routes:
            - match: {prefix: /, headers: [{exact: x}], query_params: [{present: true}]}
              route: {cluster: c}
)");
  EXPECT_NE(message.find(".match.headers[0].name: header matcher needs a name"), std::string::npos)
      << message;
  EXPECT_NE(message.find(".match.query_params[0].name: query parameter matcher needs a name"),
            std::string::npos)
      << message;
}

TEST(BootstrapLoaderTest, VirtualHostDomainsAreChecked) {
  EXPECT_EQ(errorOf(std::string(kRoutesPrefix) + R"(    - name: r
      virtual_hosts:
        - name: one
          domains: [a.example, "*"]
        - name: two
          domains: [A.example, "a*b", ""]
        - name: three
          routes: [{match: {prefix: /}, route: {cluster: c}}]
)"),
            "boot.yaml:11:21: static_resources.routes[0].virtual_hosts[1].domains[0]: domain "
            "\"A.example\" is already used in this route configuration (first at line 9)\n"
            "boot.yaml:11:32: static_resources.routes[0].virtual_hosts[1].domains[1]: domain "
            "\"a*b\": a wildcard must be the whole domain, its first or its last character\n"
            "boot.yaml:11:39: static_resources.routes[0].virtual_hosts[1].domains[2]: empty "
            "domain\n"
            "boot.yaml:12:11: static_resources.routes[0].virtual_hosts[2].domains: a virtual host "
            "needs at least one domain (\"*\" for any)");
}

TEST(BootstrapLoaderTest, CollectsAllErrorsInFileOrder) {
  std::string message = errorOf(R"(concurrency: 1000
admin: {address: "127.0.0.1:x"}
listeners:
  - name: out
    address: 127.0.0.1:15001
    route_config: missing
  - name: out
    address: nowhere
static_resources:
  clusters:
    - name: c
    - name: c
      type: ORIGINAL_DST
)");
  EXPECT_EQ(message,
            "boot.yaml:1:14: concurrency: concurrency 1000 exceeds the maximum of 128\n"
            "boot.yaml:2:18: admin.address: invalid address \"127.0.0.1:x\": port \"x\" is not a "
            "number in 0..65535\n"
            "boot.yaml:6:19: listeners[0].route_config: route configuration \"missing\" is not "
            "defined in static_resources.routes\n"
            "boot.yaml:7:11: listeners[1].name: duplicate listener name \"out\" (first at line 4)\n"
            "boot.yaml:8:14: listeners[1].address: invalid address \"nowhere\": missing ':PORT'\n"
            "boot.yaml:11:7: static_resources.clusters[0].endpoints: a STATIC cluster needs at "
            "least one endpoint\n"
            "boot.yaml:12:13: static_resources.clusters[1].name: duplicate cluster name \"c\" "
            "(first at line 11)");
}

TEST(BootstrapLoaderTest, ValidateWorksWithoutASourceMap) {
  v1::Bootstrap b;
  b.set_concurrency(500);
  v1::Listener* l = b.add_listeners();
  l->set_name("x");
  l->set_address("127.0.0.1:0");
  b.mutable_drain_timeout()->set_seconds(-5);
  common::Status s = validateBootstrap(b, "xds", SourceMap{});
  EXPECT_EQ(s.message(),
            "xds: concurrency: concurrency 500 exceeds the maximum of 128\n"
            "xds: drain_timeout: negative durations are not allowed");
}

TEST(BootstrapLoaderTest, ValidateRejectsOutOfRangeDurationsFromCode) {
  v1::Bootstrap b;
  v1::Cluster* c = b.mutable_static_resources()->add_clusters();
  c->set_name("c");
  c->set_type(v1::Cluster::ORIGINAL_DST);
  c->mutable_connect_timeout()->set_seconds(int64_t{1} << 40);
  c->mutable_idle_timeout()->set_nanos(1000000000);
  common::Status s = validateBootstrap(b, "xds", SourceMap{});
  EXPECT_EQ(s.message(),
            "xds: static_resources.clusters[0].connect_timeout: duration too large (the maximum is "
            "about 292 years)\n"
            "xds: static_resources.clusters[0].idle_timeout: duration nanos 1000000000 out of "
            "range 0..999999999");
}

}  // namespace
}  // namespace remora::xds
