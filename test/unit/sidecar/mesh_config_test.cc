// Mesh mode without sockets: reading xDS resources, merging them with the base bootstrap,
// validation messages by resource, snapshots that tolerate unresolved names, and the mesh flags.

#include "sidecar/mesh_config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "sidecar/options.h"
#include "sidecar/snapshot.h"
#include "xds/resource_types.h"

namespace remora::sidecar {
namespace {

namespace cfg = remora::config::v1;

google::protobuf::RepeatedPtrField<google::protobuf::Any> pack(
    std::initializer_list<const google::protobuf::Message*> messages) {
  google::protobuf::RepeatedPtrField<google::protobuf::Any> out;
  for (const auto* m : messages) {
    out.Add()->PackFrom(*m);
  }
  return out;
}

cfg::Cluster cluster(const std::string& name) {
  cfg::Cluster c;
  c.set_name(name);
  return c;
}

cfg::ClusterLoadAssignment assignment(const std::string& name, const std::string& endpoint) {
  cfg::ClusterLoadAssignment a;
  a.set_cluster_name(name);
  a.add_endpoints()->set_address(endpoint);
  return a;
}

cfg::RouteConfiguration routeTo(const std::string& name, const std::string& cluster_name) {
  cfg::RouteConfiguration rc;
  rc.set_name(name);
  cfg::VirtualHost* vh = rc.add_virtual_hosts();
  vh->set_name("all");
  vh->add_domains("*");
  cfg::Route* r = vh->add_routes();
  r->mutable_match()->set_prefix("/");
  r->mutable_route()->set_cluster(cluster_name);
  return rc;
}

// What options.cc builds for `--xds ... --outbound 127.0.0.1:15001 --inbound 127.0.0.1:15006`.
cfg::Bootstrap base() {
  cfg::Bootstrap b;
  b.mutable_node()->set_id("n");
  b.mutable_xds()->add_address("127.0.0.1:15010");
  cfg::Listener* out = b.add_listeners();
  out->set_name("outbound");
  out->set_address("127.0.0.1:15001");
  cfg::Listener* in = b.add_listeners();
  in->set_name("inbound");
  in->set_address("127.0.0.1:15006");
  in->set_direction(cfg::Listener::INBOUND);
  cfg::Cluster* app = b.mutable_static_resources()->add_clusters();
  app->set_name(std::string(xds::kLocalAppCluster));
  app->set_type(cfg::Cluster::ORIGINAL_DST);
  return b;
}

TEST(MeshConfigTest, ReplaceResourcesKeysEachTypeByName) {
  DynamicResources d;
  cfg::Cluster a = cluster("a");
  cfg::Cluster b = cluster("b");
  ASSERT_TRUE(replaceResources(xds::kClusterType, pack({&a, &b}), d).isOk());
  EXPECT_EQ(d.clusters.size(), 2u);
  ASSERT_TRUE(replaceResources(xds::kClusterType, pack({&b}), d).isOk());
  EXPECT_EQ(d.clusters.count("a"), 0u) << "state of the world: what is not sent is gone";
  cfg::ClusterLoadAssignment la = assignment("b", "10.0.0.1:80");
  ASSERT_TRUE(replaceResources(xds::kEndpointType, pack({&la}), d).isOk());
  EXPECT_EQ(d.endpoints.at("b").endpoints(0).address(), "10.0.0.1:80");
}

TEST(MeshConfigTest, ReplaceResourcesRejectsBadSets) {
  DynamicResources d;
  cfg::Cluster a = cluster("a");
  cfg::Cluster unnamed = cluster("");
  cfg::RouteConfiguration r = routeTo("r", "a");
  EXPECT_EQ(replaceResources(xds::kClusterType, pack({&a, &a}), d).message(),
            "resource 1: duplicate cluster 'a'");
  EXPECT_EQ(replaceResources(xds::kClusterType, pack({&unnamed}), d).message(),
            "resource 0: cluster without a name");
  EXPECT_NE(replaceResources(xds::kClusterType, pack({&r}), d).message().find("is a "),
            std::string::npos);
  EXPECT_FALSE(replaceResources("type.googleapis.com/nope", pack({}), d).isOk());
}

TEST(MeshConfigTest, UnparsableResourceIsNamedWithTheFieldAtFault) {
  // What a control plane without UTF-8 checks pushed (issue 9 B.11): protobuf only says "cannot
  // parse"; the NACK names the resource and the field.
  cfg::Cluster bad = cluster("catalog.shop:8080");
  bad.mutable_fallback()->set_body("sorry\xff");
  cfg::Cluster good = cluster("orders.shop:80");
  DynamicResources out;
  common::Status s = replaceResources(xds::kClusterType, pack({&good, &bad}), out);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(
      s.message(),
      "resource 1: cannot parse cluster 'catalog.shop:8080': fallback.body is not valid UTF-8");

  cfg::RouteConfiguration rc;
  rc.set_name("outbound");
  cfg::Route* r = rc.add_virtual_hosts()->add_routes();
  r->set_name("r");
  (*r->mutable_request_headers()->mutable_set())["x-a"] = "v\xc3";
  s = replaceResources(xds::kRouteType, pack({&rc}), out);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(),
            "resource 0: cannot parse route configuration 'outbound': "
            "virtual_hosts[0].routes[0].request_headers.set[0].value is not valid UTF-8");
}

TEST(MeshConfigTest, EndpointDeltaAddsReplacesAndRemoves) {
  DynamicResources d;
  d.endpoints["a"] = assignment("a", "10.0.0.1:80");
  d.endpoints["b"] = assignment("b", "10.0.0.2:80");
  remora::xds::v1::DeltaDiscoveryResponse delta;
  delta.set_type_url(std::string(xds::kEndpointType));
  auto* r = delta.add_resources();
  r->set_name("a");
  r->mutable_resource()->PackFrom(assignment("a", "10.0.0.9:80"));
  auto* c = delta.add_resources();
  c->set_name("c");
  cfg::ClusterLoadAssignment unnamed = assignment("", "10.0.0.3:80");
  c->mutable_resource()->PackFrom(unnamed);  // the name comes from the Resource
  delta.add_removed_resources("b");
  delta.add_removed_resources("never-there");
  ASSERT_TRUE(applyEndpointDelta(delta, d).isOk());
  EXPECT_EQ(d.endpoints.at("a").endpoints(0).address(), "10.0.0.9:80");
  EXPECT_EQ(d.endpoints.at("c").cluster_name(), "c");
  EXPECT_EQ(d.endpoints.count("b"), 0u);

  remora::xds::v1::DeltaDiscoveryResponse mismatch;
  mismatch.set_type_url(std::string(xds::kEndpointType));
  auto* m = mismatch.add_resources();
  m->set_name("x");
  m->mutable_resource()->PackFrom(assignment("y", "10.0.0.1:80"));
  EXPECT_EQ(applyEndpointDelta(mismatch, d).message(),
            "resource 0: named 'x' but assigns cluster 'y'");
  mismatch.set_type_url(std::string(xds::kClusterType));
  EXPECT_FALSE(applyEndpointDelta(mismatch, d).isOk());
}

TEST(MeshConfigTest, MergeAddsClustersWithTheirEndpointsRoutesAndListenerSettings) {
  DynamicResources d;
  d.clusters["svc"] = cluster("svc");
  d.clusters["pending"] = cluster("pending");
  d.endpoints["svc"] = assignment("svc", "10.0.0.1:8080");
  d.endpoints["unused"] = assignment("unused", "10.0.0.2:8080");
  d.routes["outbound"] = routeTo("outbound", "svc");
  cfg::Listener pushed;
  pushed.set_name("outbound");
  pushed.set_route_config("outbound");
  pushed.set_protocol(cfg::Listener::HTTP);
  d.listeners["outbound"] = pushed;

  auto merged = mergeMeshBootstrap(base(), d);
  ASSERT_TRUE(merged.isOk()) << merged.status().message();
  const cfg::Bootstrap& m = merged.value();
  ASSERT_EQ(m.static_resources().clusters_size(), 3);
  EXPECT_EQ(m.static_resources().clusters(0).name(), "local-app");
  EXPECT_EQ(m.static_resources().clusters(1).name(), "pending");
  EXPECT_EQ(m.static_resources().clusters(1).endpoints_size(), 0);
  EXPECT_EQ(m.static_resources().clusters(2).endpoints(0).address(), "10.0.0.1:8080");
  ASSERT_EQ(m.static_resources().routes_size(), 1);
  ASSERT_EQ(m.listeners_size(), 2);
  EXPECT_EQ(m.listeners(0).name(), "outbound");
  EXPECT_EQ(m.listeners(0).address(), "127.0.0.1:15001") << "the bound address stays";
  EXPECT_EQ(m.listeners(0).route_config(), "outbound");
  EXPECT_EQ(m.listeners(0).protocol(), cfg::Listener::HTTP);
  EXPECT_EQ(m.listeners(1).name(), "inbound");
  EXPECT_TRUE(validateMeshBootstrap(m).isOk());
}

TEST(MeshConfigTest, MergeRejectsWhatTheSidecarCannotTake) {
  DynamicResources d;
  d.clusters["local-app"] = cluster("local-app");
  EXPECT_EQ(mergeMeshBootstrap(base(), d).status().message(),
            "cluster 'local-app': the name is reserved for the sidecar's own app cluster");

  d = DynamicResources();
  cfg::Listener l;
  l.set_name("sideways");
  d.listeners["sideways"] = l;
  EXPECT_EQ(mergeMeshBootstrap(base(), d).status().message(),
            "listener 'sideways': not bound by this sidecar (it has outbound, inbound; a new "
            "listener needs a restart)");

  d = DynamicResources();
  l.set_name("outbound");
  l.set_address("127.0.0.1:9999");
  d.listeners["outbound"] = l;
  EXPECT_EQ(mergeMeshBootstrap(base(), d).status().message(),
            "listener 'outbound': address 127.0.0.1:9999 differs from the bound 127.0.0.1:15001 "
            "(a new address needs a restart)");
  l.set_address("127.0.0.1:15001");  // the same address is fine
  d.listeners["outbound"] = l;
  EXPECT_TRUE(mergeMeshBootstrap(base(), d).isOk());

  d = DynamicResources();
  cfg::Bootstrap with_static = base();
  *with_static.mutable_static_resources()->add_routes() = routeTo("outbound", "local-app");
  d.routes["outbound"] = routeTo("outbound", "x");
  EXPECT_EQ(mergeMeshBootstrap(with_static, d).status().message(),
            "route configuration 'outbound': already defined in the sidecar's static_resources");
}

TEST(MeshConfigTest, ValidationNamesTheResource) {
  DynamicResources d;
  cfg::RouteConfiguration bad = routeTo("outbound", "svc");
  bad.mutable_virtual_hosts(0)->mutable_routes(0)->mutable_match()->set_regex("(");
  d.routes["outbound"] = bad;
  auto merged = mergeMeshBootstrap(base(), d);
  ASSERT_TRUE(merged.isOk());
  common::Status s = validateMeshBootstrap(merged.value());
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(
      s.message().rfind("route configuration 'outbound': virtual_hosts[0].routes[0].match.regex: "
                        "invalid regex \"(\"",
                        0),
      0u)
      << s.message();
}

class MeshSnapshotTest : public ::testing::Test {
 protected:
  common::Result<std::shared_ptr<const Snapshot>> build(const cfg::Bootstrap& b) {
    SnapshotContext ctx{stats_, pool_ids_, runtimes_, 1};
    return buildSnapshot(b, ctx, 1);
  }
  common::StatsStore stats_{1};
  PoolIds pool_ids_;
  ClusterRuntimes runtimes_;
};

TEST_F(MeshSnapshotTest, UnresolvedNamesAreToleratedInMeshModeOnly) {
  DynamicResources d;
  d.clusters["empty"] = cluster("empty");  // STATIC, endpoints not there yet
  cfg::RouteConfiguration rc = routeTo("outbound", "ghost");
  cfg::Route* split = rc.mutable_virtual_hosts(0)->add_routes();
  split->mutable_match()->set_prefix("/split");
  cfg::WeightedCluster* w1 = split->mutable_route()->add_weighted_clusters();
  w1->set_cluster("empty");
  w1->set_weight(1);
  cfg::WeightedCluster* w2 = split->mutable_route()->add_weighted_clusters();
  w2->set_cluster("ghost2");
  w2->set_weight(1);
  d.routes["outbound"] = rc;
  cfg::Listener l;
  l.set_name("inbound");
  l.set_route_config("not-yet");
  l.set_direction(cfg::Listener::INBOUND);
  d.listeners["inbound"] = l;
  auto merged = mergeMeshBootstrap(base(), d);
  ASSERT_TRUE(merged.isOk());
  ASSERT_TRUE(validateMeshBootstrap(merged.value()).isOk());

  auto snap = build(merged.value());
  ASSERT_TRUE(snap.isOk()) << snap.status().message();
  const Snapshot& s = *snap.value();
  const RouteEntry& r0 = s.route_tables[0].virtualHosts()[0].routes[0];
  EXPECT_EQ(r0.cluster, RouteEntry::kMissingCluster);
  ASSERT_EQ(r0.missing_clusters.size(), 1u);
  EXPECT_EQ(r0.missing_clusters[0], "ghost");
  const RouteEntry& r1 = s.route_tables[0].virtualHosts()[0].routes[1];
  ASSERT_EQ(r1.weighted.size(), 2u);
  EXPECT_NE(r1.weighted[0].first, RouteEntry::kMissingCluster);
  EXPECT_EQ(r1.weighted[1].first, RouteEntry::kMissingCluster);
  EXPECT_EQ(r1.missing_clusters.at(1), "ghost2");
  EXPECT_TRUE(s.findCluster("empty")->endpoints.empty());
  EXPECT_EQ(s.listeners[1].route_table, -1);
  EXPECT_EQ(s.listeners[1].missing_route_config, "not-yet");
  EXPECT_EQ(s.listeners[0].index, 0u);
  EXPECT_EQ(s.listeners[1].index, 1u);

  cfg::Bootstrap static_mode = merged.value();
  static_mode.clear_xds();
  EXPECT_FALSE(build(static_mode).isOk());
}

// ---- flags ------------------------------------------------------------------------------------

common::Result<Options> parse(std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("remora-sidecar")};
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  return parseOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(MeshOptionsTest, FlagsBuildTheMeshBootstrap) {
  auto o = parse({"--xds", "127.0.0.1:15010,cp.remora-system.svc:15010", "--node-id", "n1",
                  "--service", "orders", "--labels", "version=v1,track=stable", "--outbound",
                  "127.0.0.1:0", "--app", "127.0.0.1:8080"});
  ASSERT_TRUE(o.isOk()) << o.status().message();
  auto b = bootstrapFromOptions(o.value());
  ASSERT_TRUE(b.isOk()) << b.status().message();
  const cfg::Bootstrap& boot = b.value();
  EXPECT_EQ(boot.xds().address_size(), 2);
  EXPECT_EQ(boot.node().namespace_(), "default");
  EXPECT_EQ(boot.node().labels().at("track"), "stable");
  ASSERT_EQ(boot.listeners_size(), 2);
  EXPECT_EQ(boot.listeners(0).name(), "outbound");
  EXPECT_EQ(boot.listeners(0).address(), "127.0.0.1:0");
  EXPECT_EQ(boot.listeners(1).name(), "inbound");
  EXPECT_EQ(boot.listeners(1).address(), "0.0.0.0:15006");
  EXPECT_EQ(boot.listeners(1).direction(), cfg::Listener::INBOUND);
  ASSERT_EQ(boot.static_resources().clusters_size(), 1);
  EXPECT_EQ(boot.static_resources().clusters(0).name(), "local-app");
  EXPECT_EQ(boot.static_resources().clusters(0).type(), cfg::Cluster::STATIC);
  EXPECT_EQ(boot.static_resources().clusters(0).endpoints(0).address(), "127.0.0.1:8080");
}

TEST(MeshOptionsTest, EnvironmentTwinsWork) {
  setenv("REMORA_XDS", "127.0.0.1:15010", 1);
  setenv("REMORA_NODE_ID", "from-env", 1);
  setenv("REMORA_SERVICE", "svc", 1);
  auto o = parse({});
  unsetenv("REMORA_XDS");
  unsetenv("REMORA_NODE_ID");
  unsetenv("REMORA_SERVICE");
  ASSERT_TRUE(o.isOk()) << o.status().message();
  auto b = bootstrapFromOptions(o.value());
  ASSERT_TRUE(b.isOk()) << b.status().message();
  EXPECT_EQ(b.value().node().id(), "from-env");
  EXPECT_EQ(b.value().static_resources().clusters(0).type(), cfg::Cluster::ORIGINAL_DST);
}

TEST(MeshOptionsTest, BadMeshFlagsAreOneLineErrors) {
  EXPECT_EQ(parse({"--xds", "127.0.0.1:0", "--node-id", "n", "--service", "s"}).status().message(),
            "--xds: invalid control plane address '127.0.0.1:0' (expected HOST:PORT with a port "
            "in 1..65535)");
  EXPECT_EQ(parse({"--xds", "a:1", "--labels", "novalue"}).status().message(),
            "--labels wants KEY=VALUE[,KEY=VALUE...], got 'novalue'");
  EXPECT_EQ(parse({"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--xds", "a:1"})
                .status()
                .message(),
            "--xds (mesh mode) and quick mode (--listen/--upstream) are exclusive");
  EXPECT_EQ(parse({"--xds", "a:1", "--app", "nowhere"}).status().message().rfind("--app: ", 0), 0u);
  auto no_service = parse({"--xds", "a:1", "--node-id", "n"});
  ASSERT_TRUE(no_service.isOk());
  EXPECT_EQ(bootstrapFromOptions(no_service.value()).status().message(),
            "mesh mode needs a service name: --service NAME (or REMORA_SERVICE)");
}

}  // namespace
}  // namespace remora::sidecar
