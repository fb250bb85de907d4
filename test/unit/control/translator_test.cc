// The translator: manifests + registered endpoints -> config::v1 resources.
//
// Golden files: test/unit/control/golden/*.txt hold the translation of k8s/examples/shop in
// protobuf text format. After an intended change of the output, regenerate them with
//   REMORA_UPDATE_GOLDEN=1 build/test/remora_unit_tests --gtest_filter='TranslatorGolden.*'
// and review the diff (git diff test/unit/control/golden).
#include "control/translator.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "control/manifest_loader.h"
#include "control/route_translation.h"
#include "xds/bootstrap_loader.h"

namespace remora::control {
namespace {

namespace cfg = remora::config::v1;

#ifndef REMORA_SOURCE_DIR
#error "REMORA_SOURCE_DIR must point at the repository root"
#endif

const std::string kShopDir = std::string(REMORA_SOURCE_DIR) + "/k8s/examples/shop";
const std::string kGoldenDir = std::string(REMORA_SOURCE_DIR) + "/test/unit/control/golden";

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    out += l + "\n";
  }
  return out;
}

// Loads `text` as the file "m.yaml" (the load must succeed) and translates it.
std::shared_ptr<const MeshConfig> translateText(const std::string& text,
                                                const std::vector<RegisteredEndpoint>& reg = {},
                                                const SidecarPods& sidecars = {}) {
  ManifestLoader loader;
  loader.addText(text, "m.yaml");
  ManifestLoad load = loader.finish();
  EXPECT_TRUE(load.ok()) << joined(load.errors);
  return translate(load.manifests, reg, sidecars);
}

std::shared_ptr<const MeshConfig> translateShop() {
  auto load = loadManifests(kShopDir);
  EXPECT_TRUE(load.isOk());
  EXPECT_TRUE(load.value().ok()) << joined(load.value().errors);
  return translate(load.value().manifests, {});
}

std::string textOf(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(m, &out);
  return out;
}

std::string deterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

// A Service document: `ports` is the YAML flow list of its ports, `extra` more spec lines.
std::string service(const std::string& name, const std::string& ns = "shop",
                    const std::string& ports = "[{name: http, port: 8080}]",
                    const std::string& extra = "") {
  return "---\napiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec:\n  ports: " + ports + "\n" + extra;
}

std::string policy(const std::string& name, const std::string& target, const std::string& spec,
                   const std::string& ns = "shop") {
  return "---\napiVersion: policy.remora.dev/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: " +
         name + ", namespace: " + ns +
         "}\nspec:\n  targetRefs: [{group: \"\", kind: Service, name: " + target + "}]\n" + spec;
}

std::string httpRoute(const std::string& name, const std::string& parent, const std::string& spec,
                      const std::string& ns = "shop") {
  return "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: " +
         name + ", namespace: " + ns + "}\nspec:\n  parentRefs: [" + parent + "]\n" + spec;
}

std::string slice(const std::string& name, const std::string& svc, const std::string& body,
                  const std::string& ns = "shop") {
  return "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: " + name +
         ", namespace: " + ns + ", labels: {kubernetes.io/service-name: " + svc + "}}\n" + body;
}

const cfg::Cluster* findCluster(const MeshConfig& c, const std::string& name) {
  for (const cfg::Cluster& cl : c.clusters()) {
    if (cl.name() == name)
      return &cl;
  }
  return nullptr;
}

std::vector<std::string> endpointsOf(const MeshConfig& c, const std::string& name) {
  for (const cfg::ClusterLoadAssignment& cla : c.endpoints()) {
    if (cla.cluster_name() == name) {
      std::vector<std::string> out;
      for (const cfg::Endpoint& e : cla.endpoints())
        out.push_back(e.address());
      return out;
    }
  }
  ADD_FAILURE() << "no ClusterLoadAssignment " << name;
  return {};
}

cfg::VirtualHost vhostOf(const MeshConfig& c, const std::string& caller_ns,
                         const std::string& name) {
  cfg::RouteConfiguration rc = c.outboundRoutes(caller_ns);
  for (const cfg::VirtualHost& vh : rc.virtual_hosts()) {
    if (vh.name() == name)
      return vh;
  }
  ADD_FAILURE() << "no virtual host " << name;
  return {};
}

std::vector<std::string> domainsOf(const cfg::VirtualHost& vh) {
  return {vh.domains().begin(), vh.domains().end()};
}

std::vector<std::string> routeNames(const cfg::VirtualHost& vh) {
  std::vector<std::string> out;
  for (const cfg::Route& r : vh.routes())
    out.push_back(r.name());
  return out;
}

std::string goldenText(const MeshConfig& c) {
  std::string out;
  for (const cfg::Cluster& cl : c.clusters())
    out += "# cluster\n" + textOf(cl);
  for (const cfg::ClusterLoadAssignment& e : c.endpoints())
    out += "# endpoints\n" + textOf(e);
  out += "# outbound routes for namespace shop\n" + textOf(c.outboundRoutes("shop"));
  out += "# outbound routes for namespace default\n" + textOf(c.outboundRoutes("default"));
  out += "# inbound routes for shop/orders\n" + textOf(c.inboundRoutes("shop", "orders"));
  out += "# inbound routes for shop/catalog\n" + textOf(c.inboundRoutes("shop", "catalog"));
  for (const cfg::Listener& l : c.listeners())
    out += "# listener\n" + textOf(l);
  for (const ServiceSummary& s : c.services()) {
    out += "# service " + s.ns + "/" + s.name + "\nclusters:";
    for (const auto& x : s.clusters)
      out += " " + x;
    out += "\nendpoints:";
    for (const auto& x : s.endpoints)
      out += " " + x;
    out += "\nroutes:";
    for (const auto& x : s.routes)
      out += " " + x;
    out += "\npolicy: " + s.policy + "\n";
  }
  out += "# errors\n" + joined(c.errors());
  return out;
}

// ---- the shop example ----

TEST(TranslatorGolden, ShopMatchesGoldenFile) {
  auto config = translateShop();
  const std::string got = goldenText(*config);
  const std::string path = kGoldenDir + "/shop.txt";
  const char* update = std::getenv("REMORA_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << got;
    GTEST_SKIP() << "golden file rewritten: " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << path << " is missing: run with REMORA_UPDATE_GOLDEN=1";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(got, want.str()) << "regenerate with REMORA_UPDATE_GOLDEN=1 if the change is meant";
}

TEST(TranslatorGolden, ShopPassesSidecarValidation) {
  auto config = translateShop();
  ASSERT_TRUE(config->errors().empty()) << joined(config->errors());
  cfg::Bootstrap b;
  for (const cfg::Cluster& cl : config->clusters()) {
    cfg::Cluster* c = b.mutable_static_resources()->add_clusters();
    *c = cl;
    for (const cfg::ClusterLoadAssignment& cla : config->endpoints()) {
      if (cla.cluster_name() == cl.name()) {
        *c->mutable_endpoints() = cla.endpoints();
      }
    }
  }
  cfg::Cluster* local = b.mutable_static_resources()->add_clusters();
  local->set_name(std::string(kLocalAppCluster));
  local->add_endpoints()->set_address("127.0.0.1:18083");
  *b.mutable_static_resources()->add_routes() = config->outboundRoutes("shop");
  *b.mutable_static_resources()->add_routes() = config->inboundRoutes("shop", "orders");
  int port = 15001;
  for (cfg::Listener l : config->listeners()) {
    l.set_address("127.0.0.1:" + std::to_string(port++));
    *b.add_listeners() = l;
  }
  common::Status s = xds::validateBootstrap(b, "shop", xds::SourceMap{});
  EXPECT_TRUE(s.isOk()) << s.message();

  // Another caller namespace gets other domains; they must be valid too.
  *b.mutable_static_resources()->mutable_routes(0) = config->outboundRoutes("default");
  s = xds::validateBootstrap(b, "shop", xds::SourceMap{});
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST(TranslatorGolden, ShopCanaryRouteAndPolicies) {
  auto config = translateShop();
  const cfg::VirtualHost vh = vhostOf(*config, "shop", "catalog.shop:8080");
  ASSERT_EQ(vh.routes_size(), 1);
  const cfg::Route& r = vh.routes(0);
  EXPECT_EQ(r.name(), "shop/catalog-canary/items/0");
  ASSERT_EQ(r.route().weighted_clusters_size(), 2);
  EXPECT_EQ(r.route().weighted_clusters(0).cluster(), "catalog-v1.shop:8080");
  EXPECT_EQ(r.route().weighted_clusters(0).weight(), 90u);
  EXPECT_EQ(r.route().weighted_clusters(1).cluster(), "catalog-v2.shop:8080");
  EXPECT_EQ(r.route().timeout().seconds(), 2);
  // The rule's retry on top of catalog's policy: codes replace the status conditions.
  const cfg::RetryPolicy& rp = r.route().retry_policy();
  EXPECT_EQ(rp.num_retries(), 2u);
  EXPECT_EQ(std::vector<std::string>(rp.retry_on().begin(), rp.retry_on().end()),
            (std::vector<std::string>{"reset", "connect-failure", "retriable-status-codes"}));
  EXPECT_EQ(rp.per_try_timeout().nanos(), 500000000);
  EXPECT_TRUE(rp.has_budget());
  EXPECT_EQ(r.request_headers().set().at("x-shop-route"), "catalog-canary");

  const cfg::Cluster* orders = findCluster(*config, "orders.shop:8080");
  ASSERT_NE(orders, nullptr);
  EXPECT_TRUE(orders->health_check().has_http());
  EXPECT_FALSE(vhostOf(*config, "shop", "orders.shop:8080").routes(0).has_rate_limit());
  EXPECT_EQ(config->inboundRoutes("shop", "orders")
                .virtual_hosts(0)
                .routes(0)
                .rate_limit()
                .requests_per_unit(),
            100u);
  EXPECT_FALSE(
      config->inboundRoutes("shop", "catalog").virtual_hosts(0).routes(0).has_rate_limit());
}

TEST(Translator, SameInputGivesTheSameBytes) {
  const std::string text =
      service("catalog") +
      policy("p", "catalog", "  fallback: {body: x, headers: {b: '2', a: '1', c: '3'}}\n") +
      httpRoute("r", "{kind: Service, name: catalog}",
                "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
                "      requestHeaderModifier:\n        set: [{name: z, value: '1'}, {name: y, "
                "value: '2'}, {name: x, value: '3'}]\n");
  auto a = translateText(text);
  auto b = translateText(text);
  auto shop_a = translateShop();
  auto shop_b = translateShop();
  for (auto [x, y] : {std::pair(a, b), std::pair(shop_a, shop_b)}) {
    ASSERT_EQ(x->clusters().size(), y->clusters().size());
    for (size_t i = 0; i < x->clusters().size(); ++i) {
      EXPECT_EQ(deterministicBytes(x->clusters()[i]), deterministicBytes(y->clusters()[i]));
    }
    for (size_t i = 0; i < x->endpoints().size(); ++i) {
      EXPECT_EQ(deterministicBytes(x->endpoints()[i]), deterministicBytes(y->endpoints()[i]));
    }
    for (const char* ns : {"shop", "other"}) {
      EXPECT_EQ(deterministicBytes(x->outboundRoutes(ns)),
                deterministicBytes(y->outboundRoutes(ns)));
    }
    EXPECT_EQ(deterministicBytes(x->inboundRoutes("shop", "orders")),
              deterministicBytes(y->inboundRoutes("shop", "orders")));
    EXPECT_EQ(goldenText(*x), goldenText(*y));
  }
}

// ---- clusters, names, listeners ----

TEST(Translator, OneClusterPerTcpPortSortedByName) {
  auto c =
      translateText(service("zeta", "shop",
                            "[{name: http, port: 8080}, {name: dns, port: 53, protocol: UDP}, "
                            "{name: sctp, port: 9, protocol: SCTP}, {name: admin, port: 9090, "
                            "protocol: TCP}]") +
                    service("alpha", "other") +
                    service("ext", "shop", "[{name: http, port: 80}]", "  type: ExternalName\n"));
  std::vector<std::string> names;
  for (const auto& cl : c->clusters())
    names.push_back(cl.name());
  EXPECT_EQ(names,
            (std::vector<std::string>{"alpha.other:8080", "zeta.shop:8080", "zeta.shop:9090"}));
  std::vector<std::string> cla;
  for (const auto& e : c->endpoints())
    cla.push_back(e.cluster_name());
  EXPECT_EQ(cla, names);
  // A cluster without a policy carries nothing but its name.
  EXPECT_EQ(textOf(c->clusters()[0]), "name: \"alpha.other:8080\"\n");
  // ExternalName: listed as a Service, no cluster, no virtual host.
  ASSERT_EQ(c->services().size(), 3u);
  EXPECT_EQ(c->services()[0].name, "alpha");
  EXPECT_EQ(c->services()[1].name, "ext");
  EXPECT_TRUE(c->services()[1].clusters.empty());
  EXPECT_EQ(c->services()[2].clusters,
            (std::vector<std::string>{"zeta.shop:8080", "zeta.shop:9090"}));
  EXPECT_EQ(c->outboundRoutes("shop").virtual_hosts_size(), 3);
  EXPECT_TRUE(c->errors().empty()) << joined(c->errors());
}

TEST(Translator, Http2PortsFromAppProtocolOrPortName) {
  auto c = translateText(service("api", "shop",
                                 "[{name: http, port: 80}, {name: grpc-api, port: 81}, "
                                 "{name: web, port: 82, appProtocol: kubernetes.io/h2c}, "
                                 "{name: x, port: 83, appProtocol: grpc}, "
                                 "{name: y, port: 84, appProtocol: http2}, "
                                 "{name: http2-z, port: 85}, {name: grpc-web, port: 86}, "
                                 "{name: grpc-b, port: 87, appProtocol: http}]"));
  std::map<std::string, cfg::Cluster::Protocol> got;
  for (const auto& cl : c->clusters()) {
    got[cl.name()] = cl.protocol();
  }
  EXPECT_EQ(got["api.shop:80"], cfg::Cluster::HTTP1);
  EXPECT_EQ(got["api.shop:81"], cfg::Cluster::HTTP2);
  EXPECT_EQ(got["api.shop:82"], cfg::Cluster::HTTP2);
  EXPECT_EQ(got["api.shop:83"], cfg::Cluster::HTTP2);
  EXPECT_EQ(got["api.shop:84"], cfg::Cluster::HTTP2);
  EXPECT_EQ(got["api.shop:85"], cfg::Cluster::HTTP2);
  EXPECT_EQ(got["api.shop:86"], cfg::Cluster::HTTP1);  // grpc-web is HTTP/1
  EXPECT_EQ(got["api.shop:87"], cfg::Cluster::HTTP1);  // an explicit appProtocol wins
  EXPECT_TRUE(c->errors().empty()) << joined(c->errors());
}

TEST(Translator, ListenersNameTheirRouteConfigurations) {
  auto c = translateText(service("a"));
  auto l = c->listeners();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(textOf(l[0]), "name: \"outbound\"\nroute_config: \"outbound\"\n");
  EXPECT_EQ(textOf(l[1]), "name: \"inbound\"\ndirection: INBOUND\nroute_config: \"inbound\"\n");
}

// ---- domains ----

TEST(Translator, DomainsDependOnTheCallersNamespace) {
  auto c = translateText(service("catalog", "shop",
                                 "[{name: http, port: 8080}, {name: admin, port: 9090}]",
                                 "  clusterIP: 10.96.0.12\n"));
  EXPECT_EQ(domainsOf(vhostOf(*c, "shop", "catalog.shop:8080")),
            (std::vector<std::string>{"catalog:8080", "catalog.shop:8080", "catalog.shop.svc:8080",
                                      "catalog.shop.svc.cluster.local:8080", "catalog",
                                      "catalog.shop", "catalog.shop.svc",
                                      "catalog.shop.svc.cluster.local", "10.96.0.12:8080"}));
  EXPECT_EQ(domainsOf(vhostOf(*c, "other", "catalog.shop:8080")),
            (std::vector<std::string>{"catalog.shop:8080", "catalog.shop.svc:8080",
                                      "catalog.shop.svc.cluster.local:8080", "catalog.shop",
                                      "catalog.shop.svc", "catalog.shop.svc.cluster.local",
                                      "10.96.0.12:8080"}));
  // Not the first port: no names without a port.
  EXPECT_EQ(domainsOf(vhostOf(*c, "shop", "catalog.shop:9090")),
            (std::vector<std::string>{"catalog:9090", "catalog.shop:9090", "catalog.shop.svc:9090",
                                      "catalog.shop.svc.cluster.local:9090", "10.96.0.12:9090"}));
}

TEST(Translator, HeadlessAndIpv6ClusterIps) {
  auto c = translateText(service("a", "shop", "[{port: 80}]", "  clusterIP: None\n") +
                         service("b", "shop", "[{port: 80}]", "  clusterIP: 'fd00::12'\n"));
  auto a = domainsOf(vhostOf(*c, "x", "a.shop:80"));
  EXPECT_EQ(a.back(), "a.shop.svc.cluster.local");
  EXPECT_EQ(domainsOf(vhostOf(*c, "x", "b.shop:80")).back(), "[fd00::12]:80");
}

TEST(Translator, ClusterIpCollisionKeepsTheFirstAndReportsTheOther) {
  auto c = translateText(service("a", "shop", "[{port: 80}]", "  clusterIP: 10.0.0.1\n") +
                         service("b", "shop", "[{port: 80}]", "  clusterIP: 10.0.0.1\n"));
  EXPECT_EQ(domainsOf(vhostOf(*c, "shop", "a.shop:80")).back(), "10.0.0.1:80");
  EXPECT_EQ(domainsOf(vhostOf(*c, "shop", "b.shop:80")).back(), "b.shop.svc.cluster.local");
  ASSERT_EQ(c->errors().size(), 1u);
  EXPECT_TRUE(std::regex_search(c->errors()[0],
                                std::regex("^m\\.yaml:[0-9]+:[0-9]+: spec\\.clusterIP: domain "
                                           "10\\.0\\.0\\.1:80 is already taken by a\\.shop:80")))
      << c->errors()[0];
  cfg::Bootstrap b;
  *b.mutable_static_resources()->add_routes() = c->outboundRoutes("shop");
  b.mutable_xds()->add_address("127.0.0.1:15010");  // names are resolved by xDS
  EXPECT_TRUE(xds::validateBootstrap(b, "t", {}).isOk());
}

// ---- endpoints ----

TEST(Translator, SlicePortsMatchServicePortsByName) {
  auto c = translateText(
      service("multi", "shop",
              "[{name: http, port: 80, targetPort: web}, {name: grpc, port: 81}]") +
      slice("multi-a", "multi",
            "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.2, 10.0.0.99]\n"
            "- addresses: [10.0.0.1]\nports: [{name: http, port: 8080}, {name: grpc, port: "
            "9000}]\n") +
      slice("multi-b", "multi",
            "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}]\n"
            "ports: [{name: other, port: 7000}]\n") +
      service("unnamed", "shop", "[{port: 80}]") +
      slice("unnamed-a", "unnamed",
            "addressType: IPv4\nendpoints: [{addresses: [10.0.1.1]}]\nports: [{port: 8081}]\n") +
      service("single", "shop", "[{name: http, port: 80}]") +
      slice("single-a", "single",
            "addressType: IPv4\nendpoints: [{addresses: [10.0.2.1]}]\n"
            "ports: [{name: whatever, port: 8082}]\n"));
  EXPECT_EQ(endpointsOf(*c, "multi.shop:80"),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
  EXPECT_EQ(endpointsOf(*c, "multi.shop:81"),
            (std::vector<std::string>{"10.0.0.1:9000", "10.0.0.2:9000"}));
  EXPECT_EQ(endpointsOf(*c, "unnamed.shop:80"), (std::vector<std::string>{"10.0.1.1:8081"}));
  EXPECT_EQ(endpointsOf(*c, "single.shop:80"), (std::vector<std::string>{"10.0.2.1:8082"}));
  EXPECT_EQ(c->services()[0].endpoints,
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.1:9000", "10.0.0.2:8080",
                                      "10.0.0.2:9000"}));
}

TEST(Translator, OnlyReadyIpEndpointsDeduplicatedAndSorted) {
  auto c = translateText(
      service("a") +
      slice("a-1", "a",
            "addressType: IPv4\nendpoints:\n- {addresses: [10.0.0.9], conditions: {ready: "
            "false}}\n- {addresses: [10.0.0.3], conditions: {ready: true}}\n"
            "- {addresses: [10.0.0.2]}\nports: [{name: http, port: 80}]\n") +
      slice("a-2", "a",
            "addressType: IPv4\nendpoints: [{addresses: [10.0.0.2]}]\n"
            "ports: [{name: http, port: 80}]\n") +
      slice("a-3", "a",
            "addressType: FQDN\nendpoints: [{addresses: [a.example.com]}]\n"
            "ports: [{name: http, port: 80}]\n") +
      slice("a-4", "a",
            "addressType: IPv6\nendpoints: [{addresses: ['fd00::1']}]\n"
            "ports: [{name: http, port: 80}]\n"));
  EXPECT_EQ(endpointsOf(*c, "a.shop:8080"),
            (std::vector<std::string>{"10.0.0.2:80", "10.0.0.3:80", "[fd00::1]:80"}));
  // The weight stays unset (the sidecar's default).
  EXPECT_EQ(c->endpoints()[0].endpoints(0).weight(), 0u);
}

TEST(Translator, LegacyEndpointsReadyAddressesOnly) {
  auto c = translateText(service("a", "shop", "[{name: http, port: 80}, {name: b, port: 81}]") +
                         R"(---
apiVersion: v1
kind: Endpoints
metadata: {name: a, namespace: shop}
subsets:
- addresses: [{ip: 10.0.0.2}, {ip: 10.0.0.1}]
  notReadyAddresses: [{ip: 10.0.0.7}]
  ports: [{name: http, port: 8080}, {name: b, port: 8081}]
)");
  EXPECT_EQ(endpointsOf(*c, "a.shop:80"),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
  EXPECT_EQ(endpointsOf(*c, "a.shop:81"),
            (std::vector<std::string>{"10.0.0.1:8081", "10.0.0.2:8081"}));
}

TEST(Translator, RegisteredEndpointsGoToTheMatchingTargetPortElseTheFirstPort) {
  auto c = translateText(
      service("a", "shop",
              "[{name: http, port: 80, targetPort: 8080}, {name: alt, port: 81, targetPort: "
              "'8080'}, {name: admin, port: 9090}, {name: named, port: 82, targetPort: web}]"),
      {{"shop", "a", "10.0.0.5", 8080, {}},
       {"shop", "a", "10.0.0.6", 9090, {}},
       {"shop", "a", "10.0.0.7", 7000, {}},
       {"shop", "a", "10.0.0.5", 8080, {}},
       {"shop", "missing", "10.0.0.8", 80, {}}});
  EXPECT_EQ(endpointsOf(*c, "a.shop:80"),
            (std::vector<std::string>{"10.0.0.5:8080", "10.0.0.7:7000"}));
  EXPECT_EQ(endpointsOf(*c, "a.shop:81"), (std::vector<std::string>{"10.0.0.5:8080"}));
  EXPECT_EQ(endpointsOf(*c, "a.shop:9090"), (std::vector<std::string>{"10.0.0.6:9090"}));
  EXPECT_TRUE(endpointsOf(*c, "a.shop:82").empty());
  EXPECT_EQ(c->errors(), (std::vector<std::string>{
                             "registered endpoint 10.0.0.8:80 of shop/missing: no such Service"}));
}

// ---- has_sidecar ----

// "ADDRESS" for every endpoint of cluster `name` that is marked has_sidecar.
std::vector<std::string> markedOf(const MeshConfig& c, const std::string& name) {
  std::vector<std::string> out;
  for (const cfg::ClusterLoadAssignment& cla : c.endpoints()) {
    if (cla.cluster_name() == name) {
      for (const cfg::Endpoint& e : cla.endpoints()) {
        if (e.has_sidecar()) {
          out.push_back(e.address());
        }
      }
    }
  }
  return out;
}

const std::string kTwoPortSlices =
    service("a", "shop", "[{name: http, port: 80}, {name: admin, port: 90}]") +
    slice("a-4", "a",
          "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}, "
          "{addresses: [10.0.0.3]}]\nports: [{name: http, port: 8080}, {name: admin, port: "
          "9090}]\n") +
    slice("a-6", "a",
          "addressType: IPv6\nendpoints: [{addresses: ['fd00::1']}]\n"
          "ports: [{name: http, port: 8080}, {name: admin, port: 9090}]\n");

TEST(TranslatorSidecarMark, EndpointsOfPodsWithASidecarAreMarkedOnTheCapturedPortsOnly) {
  SidecarPods pods;
  pods["10.0.0.1"] = SidecarPorts{};  // every port
  SidecarPorts excluding;
  excluding.excluded = {9090};
  pods["fd00::1"] = excluding;
  SidecarPorts only;
  only.all = false;
  only.included = {9090};
  pods["10.0.0.3"] = only;
  pods["10.0.0.9"] = SidecarPorts{};  // a pod that is no endpoint of the Service
  auto c = translateText(kTwoPortSlices, {}, pods);
  ASSERT_TRUE(c->errors().empty()) << joined(c->errors());
  EXPECT_EQ(endpointsOf(*c, "a.shop:80"),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080",
                                      "[fd00::1]:8080"}));
  EXPECT_EQ(markedOf(*c, "a.shop:80"),
            (std::vector<std::string>{"10.0.0.1:8080", "[fd00::1]:8080"}));
  EXPECT_EQ(markedOf(*c, "a.shop:90"),
            (std::vector<std::string>{"10.0.0.1:9090", "10.0.0.3:9090"}));
}

TEST(TranslatorSidecarMark, NoPodsWithASidecarMarksNothing) {
  auto c = translateText(kTwoPortSlices);
  EXPECT_EQ(endpointsOf(*c, "a.shop:80").size(), 4u);
  EXPECT_TRUE(markedOf(*c, "a.shop:80").empty());
  EXPECT_TRUE(markedOf(*c, "a.shop:90").empty());
}

TEST(TranslatorSidecarMark, RegisteredEndpointsAreMarkedByAddressAndPortWhenTheySaySidecar) {
  // One host: the workload's sidecar inbound listener and another workload's plain port.
  std::vector<RegisteredEndpoint> reg = {{"shop", "a", "10.0.0.5", 15006, {}, true},
                                         {"shop", "a", "10.0.0.5", 8080, {}, false},
                                         {"shop", "b", "10.0.0.6", 8080, {}, true}};
  auto c = translateText(service("a") + service("b"), reg);
  ASSERT_TRUE(c->errors().empty()) << joined(c->errors());
  EXPECT_EQ(endpointsOf(*c, "a.shop:8080"),
            (std::vector<std::string>{"10.0.0.5:15006", "10.0.0.5:8080"}));
  EXPECT_EQ(markedOf(*c, "a.shop:8080"), (std::vector<std::string>{"10.0.0.5:15006"}));
  EXPECT_EQ(markedOf(*c, "b.shop:8080"), (std::vector<std::string>{"10.0.0.6:8080"}));
}

TEST(TranslatorSidecarMark, MarkedEndpointsGiveTheSameBytesEveryTime) {
  SidecarPods pods;
  pods["10.0.0.2"] = SidecarPorts{};
  pods["fd00::1"] = SidecarPorts{};
  std::vector<RegisteredEndpoint> reg = {{"shop", "a", "10.0.0.7", 8080, {}, true}};
  auto x = translateText(kTwoPortSlices, reg, pods);
  auto y = translateText(kTwoPortSlices, reg, pods);
  ASSERT_EQ(x->endpoints().size(), 2u);
  ASSERT_EQ(y->endpoints().size(), 2u);
  for (size_t i = 0; i < x->endpoints().size(); ++i) {
    EXPECT_EQ(deterministicBytes(x->endpoints()[i]), deterministicBytes(y->endpoints()[i]));
  }
  EXPECT_EQ(goldenText(*x), goldenText(*y));
  EXPECT_EQ(markedOf(*x, "a.shop:80"),
            (std::vector<std::string>{"10.0.0.2:8080", "10.0.0.7:8080", "[fd00::1]:8080"}));
  // The mark changes the bytes (a sidecar sees a new version when a pod gets its sidecar).
  auto unmarked = translateText(kTwoPortSlices, reg);
  EXPECT_NE(deterministicBytes(x->endpoints()[0]), deterministicBytes(unmarked->endpoints()[0]));
}

// ---- TrafficPolicy ----

TEST(TranslatorPolicy, LoadBalancerOnEveryPortsCluster) {
  auto c = translateText(
      service("a", "shop", "[{name: http, port: 80}, {name: b, port: 81}]") + service("b") +
      service("c") +
      policy("pa", "a",
             "  loadBalancer: {type: RING_HASH, hashOn: {header: x-user}, "
             "panicThresholdPercent: 30}\n") +
      policy("pb", "b", "  loadBalancer: {type: PEAK_EWMA, ewmaDecay: 5s}\n") +
      policy("pc", "c", "  loadBalancer: {type: MAGLEV, hashOn: {sourceIP: true}}\n"));
  for (const char* name : {"a.shop:80", "a.shop:81"}) {
    const cfg::Cluster* cl = findCluster(*c, name);
    ASSERT_NE(cl, nullptr);
    EXPECT_EQ(cl->lb_policy(), cfg::Cluster::RING_HASH);
    EXPECT_EQ(cl->load_balancer().hash_on().header(), "x-user");
    EXPECT_EQ(cl->load_balancer().panic_threshold_percent(), 30u);
  }
  const cfg::Cluster* b = findCluster(*c, "b.shop:8080");
  EXPECT_EQ(b->lb_policy(), cfg::Cluster::PEAK_EWMA);
  EXPECT_EQ(b->load_balancer().ewma_decay().seconds(), 5);
  const cfg::Cluster* cc = findCluster(*c, "c.shop:8080");
  EXPECT_EQ(cc->lb_policy(), cfg::Cluster::MAGLEV);
  EXPECT_TRUE(cc->load_balancer().hash_on().source_ip());
  EXPECT_EQ(c->services()[0].policy, "shop/pa");
}

TEST(TranslatorPolicy, ConnectionPoolOutlierDetectionTimeout) {
  auto c = translateText(
      service("a") +
      policy("p", "a",
             "  connectionPool: {maxConnections: 10, maxPendingRequests: 11, maxRequests: 12, "
             "maxRetries: 4, connectTimeout: 2s, idleTimeout: 1h}\n"
             "  outlierDetection: {consecutive5xx: 3, consecutiveGatewayErrors: 2, interval: 5s,"
             " baseEjectionTime: 10s, maxEjectionTime: 100s, maxEjectionPercent: 40}\n"
             "  timeout: 7s\n"));
  EXPECT_EQ(textOf(*findCluster(*c, "a.shop:8080")),
            "name: \"a.shop:8080\"\n"
            "connect_timeout {\n  seconds: 2\n}\n"
            "idle_timeout {\n  seconds: 3600\n}\n"
            "request_timeout {\n  seconds: 7\n}\n"
            "circuit_breakers {\n  max_connections: 10\n  max_pending_requests: 11\n"
            "  max_requests: 12\n  max_retries: 4\n}\n"
            "outlier_detection {\n  consecutive_5xx: 3\n  consecutive_gateway_failure: 2\n"
            "  interval {\n    seconds: 5\n  }\n  base_ejection_time {\n    seconds: 10\n  }\n"
            "  max_ejection_time {\n    seconds: 100\n  }\n  max_ejection_percent: 40\n}\n");
}

TEST(TranslatorPolicy, EmptyOutlierDetectionTurnsItOnAndZeroTimeoutMeansNone) {
  auto c =
      translateText(service("a") + policy("p", "a", "  outlierDetection: {}\n  timeout: 0s\n"));
  const cfg::Cluster* cl = findCluster(*c, "a.shop:8080");
  EXPECT_TRUE(cl->has_outlier_detection());
  EXPECT_TRUE(cl->has_request_timeout());
  EXPECT_EQ(cl->request_timeout().seconds(), 0);
}

TEST(TranslatorPolicy, HealthChecksHttpAndTcp) {
  auto c = translateText(
      service("a") + service("b") +
      policy("pa", "a",
             "  healthCheck: {http: {path: /ready, expectedStatuses: [200, 204]}, interval: 2s, "
             "timeout: 500ms, unhealthyThreshold: 4, healthyThreshold: 1}\n") +
      policy("pb", "b", "  healthCheck: {tcp: {}}\n"));
  const cfg::HealthCheck& a = findCluster(*c, "a.shop:8080")->health_check();
  EXPECT_EQ(a.http().path(), "/ready");
  EXPECT_EQ(a.http().expected_statuses_size(), 2);
  EXPECT_EQ(a.interval().seconds(), 2);
  EXPECT_EQ(a.timeout().nanos(), 500000000);
  EXPECT_EQ(a.unhealthy_threshold(), 4u);
  EXPECT_EQ(a.healthy_threshold(), 1u);
  const cfg::HealthCheck& b = findCluster(*c, "b.shop:8080")->health_check();
  EXPECT_TRUE(b.has_tcp());
  EXPECT_FALSE(b.has_unhealthy_threshold());
}

TEST(TranslatorPolicy, RetryGoesOnTheClusterNotOnRoutesWithoutRuleSettings) {
  auto c = translateText(
      service("a") +
      policy("p", "a",
             "  retry: {attempts: 3, perTryTimeout: 1s, retryOn: [5xx, retriable-status-codes], "
             "retriableStatusCodes: [409], backoff: {baseInterval: 10ms, maxInterval: 100ms}, "
             "budget: {percent: 25, minRetriesPerSecond: 5}}\n"));
  EXPECT_EQ(textOf(findCluster(*c, "a.shop:8080")->retry_policy()),
            "retry_on: \"5xx\"\nretry_on: \"retriable-status-codes\"\nnum_retries: 3\n"
            "per_try_timeout {\n  seconds: 1\n}\nretriable_status_codes: 409\n"
            "backoff {\n  base_interval {\n    nanos: 10000000\n  }\n"
            "  max_interval {\n    nanos: 100000000\n  }\n}\n"
            "budget {\n  percent: 25\n  min_retries_per_second: 5\n}\n");
  const cfg::Route r = vhostOf(*c, "shop", "a.shop:8080").routes(0);
  EXPECT_EQ(r.name(), "a.shop:8080/default");
  EXPECT_FALSE(r.route().has_retry_policy());
  EXPECT_FALSE(r.route().has_timeout());
}

TEST(TranslatorPolicy, FallbackDefaultsToStatus200) {
  auto c = translateText(service("a") +
                         policy("p", "a", "  fallback: {body: sorry, headers: {x-a: b}}\n"));
  const cfg::FallbackResponse& f = findCluster(*c, "a.shop:8080")->fallback();
  EXPECT_EQ(f.status(), 200u);
  EXPECT_EQ(f.body(), "sorry");
  EXPECT_EQ(f.headers().at("x-a"), "b");
}

TEST(TranslatorPolicy, FaultsGoOnEveryRouteToTheTarget) {
  auto c = translateText(
      service("a", "shop", "[{name: http, port: 80}, {name: b, port: 81}]") + service("b") +
      policy("p", "a", "  faultInjection: {delay: {fixedDelay: 100ms}, abort: {percent: 5}}\n") +
      httpRoute(
          "r", "{kind: Service, name: a, port: 80}",
          "  rules:\n  - matches: [{path: {type: Exact, value: /x}}, {path: {value: /y}}]\n"));
  const cfg::VirtualHost vh80 = vhostOf(*c, "shop", "a.shop:80");
  ASSERT_EQ(vh80.routes_size(), 2);
  for (const cfg::Route& r : vh80.routes()) {
    EXPECT_EQ(textOf(r.fault()),
              "delay {\n  percent: 100\n  fixed_delay {\n    nanos: 100000000\n  }\n}\n"
              "abort {\n  percent: 5\n  http_status: 503\n}\n");
  }
  EXPECT_TRUE(vhostOf(*c, "shop", "a.shop:81").routes(0).has_fault());  // default route
  EXPECT_FALSE(vhostOf(*c, "shop", "b.shop:8080").routes(0).has_fault());
  // Faults are client side: not on the target's inbound route.
  EXPECT_FALSE(c->inboundRoutes("shop", "a").virtual_hosts(0).routes(0).has_fault());
}

TEST(TranslatorPolicy, RateLimitOnlyOnTheTargetsInboundRoute) {
  auto c = translateText(
      service("a") + service("b") + service("c") +
      policy("pa", "a",
             "  rateLimit: {requestsPerUnit: 100, unit: second, burst: 20, perSource: true}\n") +
      policy("pb", "b", "  rateLimit: {requestsPerUnit: 5, unit: minute}\n") +
      policy("pc", "c", "  rateLimit: {requestsPerUnit: 7, unit: hour}\n"));
  EXPECT_EQ(textOf(c->inboundRoutes("shop", "a")),
            "name: \"inbound\"\nvirtual_hosts {\n  name: \"inbound\"\n  domains: \"*\"\n"
            "  routes {\n    name: \"inbound\"\n    match {\n      prefix: \"/\"\n    }\n"
            "    route {\n      cluster: \"local-app\"\n    }\n"
            "    rate_limit {\n      requests_per_unit: 100\n      burst: 20\n"
            "      per_source: true\n    }\n  }\n}\n");
  const cfg::RateLimit b = c->inboundRoutes("shop", "b").virtual_hosts(0).routes(0).rate_limit();
  EXPECT_EQ(b.unit(), cfg::RateLimit::MINUTE);
  EXPECT_EQ(b.burst(), 0u);  // the sidecar's default: requests_per_unit
  EXPECT_EQ(c->inboundRoutes("shop", "c").virtual_hosts(0).routes(0).rate_limit().unit(),
            cfg::RateLimit::HOUR);
  // Not on the callers' side, and not for a namesake in another namespace or an unknown Service.
  const cfg::RouteConfiguration outbound = c->outboundRoutes("shop");
  for (const auto& vh : outbound.virtual_hosts()) {
    for (const auto& r : vh.routes())
      EXPECT_FALSE(r.has_rate_limit());
  }
  EXPECT_FALSE(c->inboundRoutes("other", "a").virtual_hosts(0).routes(0).has_rate_limit());
  EXPECT_FALSE(c->inboundRoutes("shop", "nope").virtual_hosts(0).routes(0).has_rate_limit());
  EXPECT_FALSE(findCluster(*c, "a.shop:8080")->has_retry_policy());
}

TEST(TranslatorPolicy, UnhonourableFieldsAreErrorsAndThePolicyIsLeftOut) {
  auto c = translateText(
      service("a") + service("ext", "shop", "[{port: 80}]", "  type: ExternalName\n") +
      service("udp", "shop", "[{port: 53, protocol: UDP}]") +
      policy("p1", "a", "  retry: {attempts: 11}\n  timeout: 1s\n") +
      policy("p2", "ext", "  timeout: 1s\n") + policy("p3", "udp", "  timeout: 1s\n") +
      service("a", "shop2") +
      policy("p4", "a", "  fallback: {headers: {x-a: \"one\\ntwo\"}}\n", "shop2"));
  ASSERT_EQ(c->errors().size(), 4u) << joined(c->errors());
  EXPECT_TRUE(std::regex_search(c->errors()[0], std::regex("^m\\.yaml:[0-9]+:[0-9]+: "
                                                           "spec\\.retry\\.attempts: 11 is above")))
      << c->errors()[0];
  EXPECT_NE(c->errors()[1].find("spec.targetRefs[0]: Service shop/ext has no cluster"),
            std::string::npos)
      << c->errors()[1];
  EXPECT_NE(c->errors()[2].find("spec.targetRefs[0]: Service shop/udp has no cluster"),
            std::string::npos)
      << c->errors()[2];
  EXPECT_NE(c->errors()[3].find("spec.fallback.headers[\"x-a\"]: a header value cannot hold a "
                                "line break"),
            std::string::npos)
      << c->errors()[3];
  EXPECT_FALSE(findCluster(*c, "a.shop:8080")->has_request_timeout());
  EXPECT_EQ(c->services()[0].policy, "");
  EXPECT_EQ(c->services()[3].policy, "");
}

// ---- HTTPRoute ----

TEST(TranslatorRoute, MatchesPathHeadersQueryMethod) {
  auto c = translateText(service("a") + httpRoute("r", "{kind: Service, name: a}", R"(  rules:
  - name: api
    matches:
    - path: {type: Exact, value: /exact}
      headers: [{name: X-User, value: bob}, {type: RegularExpression, name: x-v, value: 'v[0-9]+'}]
      queryParams: [{name: q, value: '1'}, {type: RegularExpression, name: r, value: 'a.*'}]
      method: POST
    - path: {type: RegularExpression, value: '/re/[a-z]+'}
    - path: {type: PathPrefix, value: /pre}
  - {}
)"));
  const cfg::VirtualHost vh = vhostOf(*c, "shop", "a.shop:8080");
  EXPECT_EQ(routeNames(vh), (std::vector<std::string>{"shop/r/api/0", "shop/r/api/1",
                                                      "shop/r/api/2", "shop/r/1/0"}));
  EXPECT_EQ(textOf(vh.routes(0).match()),
            "path: \"/exact\"\nmethods: \"POST\"\n"
            "headers {\n  name: \"x-user\"\n  exact: \"bob\"\n}\n"
            "headers {\n  name: \"x-v\"\n  regex: \"v[0-9]+\"\n}\n"
            "query_params {\n  name: \"q\"\n  exact: \"1\"\n}\n"
            "query_params {\n  name: \"r\"\n  regex: \"a.*\"\n}\n");
  EXPECT_EQ(vh.routes(1).match().regex(), "/re/[a-z]+");
  EXPECT_EQ(vh.routes(2).match().prefix(), "/pre");
  EXPECT_EQ(vh.routes(3).match().prefix(), "/");  // a rule without matches
  for (const cfg::Route& r : vh.routes()) {
    EXPECT_EQ(r.route().cluster(), "a.shop:8080");  // no backendRefs: the parent
    EXPECT_FALSE(r.route().has_retry_policy());
  }
}

TEST(TranslatorRoute, Filters) {
  auto c = translateText(service("a") + httpRoute("r", "{kind: Service, name: a}", R"(  rules:
  - matches: [{path: {value: /api}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Set, value: s}]
        add: [{name: x-add, value: a}]
        remove: [X-Gone]
    - type: ResponseHeaderModifier
      responseHeaderModifier: {set: [{name: x-resp, value: r}], remove: [server]}
    - type: URLRewrite
      urlRewrite: {hostname: backend.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
)"));
  const cfg::Route r = vhostOf(*c, "shop", "a.shop:8080").routes(0);
  EXPECT_EQ(textOf(r.request_headers()),
            "set {\n  key: \"host\"\n  value: \"backend.example.com\"\n}\n"
            "set {\n  key: \"x-set\"\n  value: \"s\"\n}\n"
            "add {\n  key: \"x-add\"\n  value: \"a\"\n}\nremove: \"x-gone\"\n");
  EXPECT_EQ(textOf(r.response_headers()),
            "set {\n  key: \"x-resp\"\n  value: \"r\"\n}\nremove: \"server\"\n");
  EXPECT_EQ(r.prefix_rewrite(), "/v2");
}

TEST(TranslatorRoute, BackendRefsSingleAndWeighted) {
  auto c = translateText(service("a") + service("b", "other", "[{name: http, port: 9000}]") +
                         httpRoute("r", "{kind: Service, name: a}", R"(  rules:
  - matches: [{path: {value: /one}}]
    backendRefs: [{name: b, namespace: other, port: 9000}]
  - backendRefs: [{name: a, port: 8080, weight: 3}, {name: b, namespace: other, port: 9000}, {name: a, port: 8080, weight: 0}]
)"));
  const cfg::VirtualHost vh = vhostOf(*c, "shop", "a.shop:8080");
  ASSERT_EQ(vh.routes_size(), 2);
  EXPECT_EQ(vh.routes(0).route().cluster(), "b.other:9000");
  EXPECT_EQ(textOf(vh.routes(1).route()),
            "weighted_clusters {\n  cluster: \"a.shop:8080\"\n  weight: 3\n}\n"
            "weighted_clusters {\n  cluster: \"b.other:9000\"\n  weight: 1\n}\n"
            "weighted_clusters {\n  cluster: \"a.shop:8080\"\n}\n");
  EXPECT_EQ(c->services()[1].routes, (std::vector<std::string>{"shop/r"}));
  EXPECT_TRUE(c->services()[0].routes.empty());  // b is a backend, not a parent
}

TEST(TranslatorRoute, TimeoutsAndRetryOverrideThePolicy) {
  auto c = translateText(
      service("a") +
      policy("p", "a",
             "  retry: {attempts: 3, perTryTimeout: 1s, retryOn: [5xx, reset], backoff: "
             "{baseInterval: 10ms, maxInterval: 20ms}}\n  timeout: 9s\n") +
      httpRoute("r", "{kind: Service, name: a}", R"(  rules:
  - name: codes
    matches: [{path: {value: /c}}]
    retry: {codes: [503, 429], attempts: 1, backoff: 50ms}
  - name: deadline
    matches: [{path: {value: /d}}]
    timeouts: {request: 3s, backendRequest: 400ms}
  - name: noattempts
    matches: [{path: {value: /n}}]
    retry: {codes: [502]}
  - name: none
    timeouts: {request: 0s}
)"));
  const cfg::VirtualHost vh = vhostOf(*c, "shop", "a.shop:8080");
  ASSERT_EQ(vh.routes_size(), 4);
  EXPECT_EQ(textOf(vh.routes(0).route().retry_policy()),
            "retry_on: \"reset\"\nretry_on: \"retriable-status-codes\"\nnum_retries: 1\n"
            "per_try_timeout {\n  seconds: 1\n}\nretriable_status_codes: 503\n"
            "retriable_status_codes: 429\nbackoff {\n  base_interval {\n    nanos: 50000000\n"
            "  }\n}\n");
  EXPECT_FALSE(vh.routes(0).route().has_timeout());
  const cfg::RouteAction& d = vh.routes(1).route();
  EXPECT_EQ(d.timeout().seconds(), 3);
  EXPECT_EQ(textOf(d.retry_policy()),
            "retry_on: \"5xx\"\nretry_on: \"reset\"\nnum_retries: 3\n"
            "per_try_timeout {\n  nanos: 400000000\n}\n"
            "backoff {\n  base_interval {\n    nanos: 10000000\n  }\n"
            "  max_interval {\n    nanos: 20000000\n  }\n}\n");
  EXPECT_EQ(vh.routes(2).route().retry_policy().num_retries(), 3u);  // the policy's attempts
  EXPECT_TRUE(vh.routes(3).route().has_timeout());
  EXPECT_EQ(vh.routes(3).route().timeout().seconds(), 0);
  EXPECT_FALSE(vh.routes(3).route().has_retry_policy());
}

TEST(TranslatorRoute, RetryWithoutPolicyOrAttemptsMakesOneRetry) {
  auto c = translateText(service("a") + httpRoute("r", "{kind: Service, name: a}",
                                                  "  rules:\n  - retry: {codes: [503]}\n"));
  EXPECT_EQ(textOf(vhostOf(*c, "x", "a.shop:8080").routes(0).route().retry_policy()),
            "retry_on: \"retriable-status-codes\"\nnum_retries: 1\n"
            "retriable_status_codes: 503\n");
}

TEST(TranslatorRoute, AttachByPortOrSectionNameAndConcatenateInRouteOrder) {
  auto c = translateText(
      service("a", "shop",
              "[{name: http, port: 80}, {name: admin, port: 81}, {name: dns, port: 53, "
              "protocol: UDP}]") +
      httpRoute("zz", "{kind: Service, name: a, port: 80}",
                "  rules: [{matches: [{path: {value: /z}}]}]\n") +
      httpRoute("aa", "{kind: Service, name: a, sectionName: http}",
                "  rules: [{matches: [{path: {value: /a}}]}]\n") +
      httpRoute("mm", "{kind: Service, name: a}, {kind: Service, name: a, port: 80}",
                "  rules: [{matches: [{path: {value: /m}}]}]\n") +
      httpRoute("other", "{kind: Service, name: a, namespace: shop, port: 80}",
                "  rules: [{matches: [{path: {value: /o}}]}]\n", "aaa"));
  EXPECT_EQ(
      routeNames(vhostOf(*c, "shop", "a.shop:80")),
      (std::vector<std::string>{"aaa/other/0/0", "shop/aa/0/0", "shop/mm/0/0", "shop/zz/0/0"}));
  EXPECT_EQ(routeNames(vhostOf(*c, "shop", "a.shop:81")),
            (std::vector<std::string>{"shop/mm/0/0"}));
  EXPECT_EQ(c->services()[0].routes,
            (std::vector<std::string>{"aaa/other", "shop/aa", "shop/mm", "shop/zz"}));
  EXPECT_TRUE(c->errors().empty()) << joined(c->errors());
}

TEST(TranslatorRoute, HostnamesBecomeAHostHeaderRegex) {
  auto c = translateText(service("a") +
                         httpRoute("r", "{kind: Service, name: a}",
                                   "  hostnames: [api.example.com, '*.shop.io']\n  rules: [{}]\n"));
  const cfg::Route r = vhostOf(*c, "shop", "a.shop:8080").routes(0);
  ASSERT_EQ(r.match().headers_size(), 1);
  EXPECT_EQ(r.match().headers(0).name(), "host");
  const std::regex re(r.match().headers(0).regex(), std::regex::ECMAScript);
  for (const char* yes :
       {"api.example.com", "API.Example.com:8080", "a.shop.io", "x.y.shop.io:1"}) {
    EXPECT_TRUE(std::regex_match(std::string(yes), re)) << yes;
  }
  for (const char* no : {"shop.io", "apixexample.com", "api.example.com.evil", "a.shop:8080"}) {
    EXPECT_FALSE(std::regex_match(std::string(no), re)) << no;
  }
}

TEST(TranslatorRoute, UnhonourableFieldsAreErrorsAndTheRouteIsLeftOut) {
  auto c = translateText(
      service("a") + service("ext", "shop", "[{name: http, port: 80}]", "  type: ExternalName\n") +
      service("udp", "shop", "[{name: dns, port: 53, protocol: UDP}]") +
      httpRoute("r1", "{kind: Service, name: a}",
                "  rules:\n  - retry: {attempts: 20}\n"
                "  - matches: [{path: {type: Exact, value: /x}}]\n    filters:\n"
                "    - type: URLRewrite\n      urlRewrite: {path: {type: ReplaceFullPath, "
                "replaceFullPath: /y}}\n"
                "  - backendRefs: [{name: ext, port: 80}]\n"
                "  - backendRefs: [{name: a, port: 8080, weight: 1000000}, {name: a, port: 8080, "
                "weight: 1}]\n") +
      httpRoute("r2", "{kind: Service, name: ext}", "  rules: [{}]\n") +
      httpRoute("r3", "{kind: Service, name: udp, port: 53}", "  rules: [{}]\n") +
      httpRoute(
          "r4", "{kind: Service, name: a}",
          "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
          "      requestHeaderModifier: {set: [{name: host, value: a}, {name: x, value: "
          "\"1\\r\\n2\"}]}\n    - type: URLRewrite\n      urlRewrite: {hostname: b.example}\n"));
  const std::string all = joined(c->errors());
  for (const char* want :
       {"spec.rules[0].retry.attempts: 20 is above the sidecar's maximum of 10 retries",
        "spec.rules[1].filters[0].urlRewrite.path.type: ReplaceFullPath cannot be honoured",
        "spec.rules[2].backendRefs[0]: Service shop/ext is of type ExternalName",
        "spec.rules[3].backendRefs: the weights add up to 1000001",
        "spec.parentRefs[0]: Service shop/ext is of type ExternalName",
        "spec.parentRefs[0]: port 53 of Service shop/udp is UDP",
        "spec.rules[0].filters[0].requestHeaderModifier.set[1].value: a header value cannot "
        "hold a line break",
        "spec.rules[0].filters[1].urlRewrite.hostname: the rule's RequestHeaderModifier sets "
        "host too"}) {
    EXPECT_NE(all.find(want), std::string::npos) << want << "\nin:\n" << all;
  }
  EXPECT_EQ(c->errors().size(), 8u) << all;
  for (const std::string& e : c->errors()) {
    EXPECT_TRUE(std::regex_search(e, std::regex("^m\\.yaml:[0-9]+:[0-9]+: spec\\."))) << e;
  }
  // Every route of a was left out: a keeps its default route.
  EXPECT_EQ(routeNames(vhostOf(*c, "shop", "a.shop:8080")),
            (std::vector<std::string>{"a.shop:8080/default"}));
  EXPECT_TRUE(c->services()[0].routes.empty());
}

TEST(TranslatorRoute, ShopStyleMeshPassesValidationWithEveryFeature) {
  auto c = translateText(
      service("a", "shop", "[{name: http, port: 80}, {name: b, port: 81}]",
              "  clusterIP: 10.0.0.1\n") +
      service("b", "shop", "[{name: http, port: 80}]", "  clusterIP: 10.0.0.2\n") +
      slice("a-1", "a",
            "addressType: IPv4\nendpoints: [{addresses: [10.1.0.1]}]\n"
            "ports: [{name: http, port: 8080}, {name: b, port: 8081}]\n") +
      slice("b-1", "b",
            "addressType: IPv4\nendpoints: [{addresses: [10.1.0.2]}]\n"
            "ports: [{name: http, port: 8080}]\n") +
      policy("p", "a",
             "  retry: {attempts: 2, retryOn: [5xx]}\n  faultInjection: {abort: {percent: 1}}\n"
             "  rateLimit: {requestsPerUnit: 3}\n  loadBalancer: {type: RING_HASH, hashOn: "
             "{cookie: c}}\n") +
      httpRoute("r", "{kind: Service, name: a}", R"(  hostnames: [a.example.com]
  rules:
  - matches: [{path: {type: RegularExpression, value: '/x/.*'}, headers: [{type: RegularExpression, name: h, value: 'a|b'}]}]
    backendRefs: [{name: a, port: 80, weight: 1}, {name: b, port: 80, weight: 2}]
    retry: {codes: [503]}
    timeouts: {request: 1s, backendRequest: 100ms}
)"));
  ASSERT_TRUE(c->errors().empty()) << joined(c->errors());
  cfg::Bootstrap boot;
  for (const cfg::Cluster& cl : c->clusters()) {
    cfg::Cluster* out = boot.mutable_static_resources()->add_clusters();
    *out = cl;
    for (const auto& cla : c->endpoints()) {
      if (cla.cluster_name() == cl.name())
        *out->mutable_endpoints() = cla.endpoints();
    }
  }
  cfg::Cluster* local = boot.mutable_static_resources()->add_clusters();
  local->set_name(std::string(kLocalAppCluster));
  local->add_endpoints()->set_address("127.0.0.1:1");
  *boot.mutable_static_resources()->add_routes() = c->outboundRoutes("other");
  *boot.mutable_static_resources()->add_routes() = c->inboundRoutes("shop", "a");
  common::Status s = xds::validateBootstrap(boot, "t", {});
  EXPECT_TRUE(s.isOk()) << s.message();
}

// ---- what sidecars would refuse (issue 9 B.11) ----

// Loads `text` (must be valid) for the tests below, which then poison objects in memory as a
// source other than the YAML loader could (the loader itself refuses invalid UTF-8).
MeshManifests loadText(const std::string& text) {
  ManifestLoader loader;
  loader.addText(text, "m.yaml");
  ManifestLoad load = loader.finish();
  EXPECT_TRUE(load.ok()) << joined(load.errors);
  return std::move(load.manifests);
}

TEST(TranslatorSidecarChecks, ClusterASidecarCannotParseIsLeftOutAndTheOthersStay) {
  MeshManifests m = loadText(service("a") + service("b") +
                             policy("pa", "a", "  fallback: {status: 200, body: ok}\n"));
  ASSERT_EQ(m.policies.size(), 1u);
  m.policies[0].object.mutable_spec()->mutable_fallback()->set_body("bad\xff");
  auto c = translate(m, {});
  std::vector<std::string> names;
  for (const cfg::Cluster& cl : c->clusters()) {
    names.push_back(cl.name());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"b.shop:8080"}));
  ASSERT_EQ(c->errors().size(), 1u);
  EXPECT_EQ(c->errors()[0].rfind("m.yaml:", 0), 0u) << c->errors()[0];
  EXPECT_NE(c->errors()[0].find(": spec: cluster a.shop:8080: a sidecar would refuse it: "
                                "fallback.body: not valid UTF-8"),
            std::string::npos)
      << c->errors()[0];
  // The endpoints of the dropped cluster go too; b keeps its assignment.
  ASSERT_EQ(c->endpoints().size(), 1u);
  EXPECT_EQ(c->endpoints()[0].cluster_name(), "b.shop:8080");
}

TEST(TranslatorSidecarChecks, RouteWithAHeaderValueASidecarCannotParseIsLeftOut) {
  MeshManifests m =
      loadText(service("a") + service("b") +
               httpRoute("ra", "{group: \"\", kind: Service, name: a}",
                         "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n"
                         "      requestHeaderModifier: {set: [{name: x-a, value: fine}]}\n") +
               httpRoute("rb", "{group: \"\", kind: Service, name: b}",
                         "  rules:\n  - matches: [{path: {type: PathPrefix, value: /b}}]\n"));
  ASSERT_EQ(m.routes.size(), 2u);
  m.routes[0]
      .object.mutable_spec()
      ->mutable_rules(0)
      ->mutable_filters(0)
      ->mutable_request_header_modifier()
      ->mutable_set(0)
      ->set_value("x\xc3");
  auto c = translate(m, {});
  ASSERT_EQ(c->errors().size(), 1u);
  EXPECT_NE(c->errors()[0].find("route shop/ra/"), std::string::npos) << c->errors()[0];
  EXPECT_NE(c->errors()[0].find("request_headers.set[\"x-a\"]"), std::string::npos)
      << c->errors()[0];
  // a falls back to its default route; b keeps its HTTPRoute; every route config is clean.
  cfg::RouteConfiguration out = c->outboundRoutes("shop");
  EXPECT_EQ(xds::invalidUtf8Field(out), "");
  std::string text = textOf(out);
  EXPECT_NE(text.find("shop/rb/"), std::string::npos);
  EXPECT_EQ(text.find("shop/ra/"), std::string::npos);
  EXPECT_TRUE(xds::checkPushedResource(out).isOk());
}

TEST(TranslatorSidecarChecks, ErrorsAreListedUpToALimitAndCountedInFull) {
  std::vector<RegisteredEndpoint> reg;
  for (int i = 0; i < 1500; ++i) {
    reg.push_back({"shop",
                   "gone",
                   "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                   80,
                   {}});
  }
  auto c = translateText(service("a"), reg);
  EXPECT_EQ(c->errorCount(), 1500u);
  ASSERT_EQ(c->errors().size(), MeshConfig::kMaxListedErrors + 1);
  EXPECT_EQ(c->errors().back(), "... and 500 more translation errors (the first 1000 are listed)");
}

}  // namespace
}  // namespace remora::control
