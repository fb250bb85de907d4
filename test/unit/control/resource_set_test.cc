#include "control/resource_set.h"

#include <gtest/gtest.h>

#include "remora/config/v1/cluster.pb.h"
#include "remora/xds/v1/discovery.pb.h"
#include "xds/framing.h"
#include "xds/resource_types.h"

namespace remora::control {
namespace {

namespace cfg = remora::config::v1;
namespace xv1 = remora::xds::v1;

ResourcePtr cla(const std::string& name, std::vector<std::string> addresses) {
  cfg::ClusterLoadAssignment c;
  c.set_cluster_name(name);
  for (const auto& a : addresses) {
    c.add_endpoints()->set_address(a);
  }
  return VersionedResource::make(name, c);
}

ResourceSet set(std::vector<ResourcePtr> r) { return ResourceSet(xds::kEndpointType, std::move(r)); }

// Decodes one frame of `bytes` into `msg`; returns its kind.
xds::FrameKind decode(const std::string& bytes, google::protobuf::Message& msg) {
  xds::FrameDecoder d;
  d.feed(bytes);
  auto f = d.next();
  EXPECT_TRUE(f.isOk());
  EXPECT_TRUE(f.value().has_value());
  EXPECT_TRUE(msg.ParseFromArray(f.value()->payload.data(), static_cast<int>(f.value()->payload.size())));
  EXPECT_EQ(d.pendingBytes(), 0u);
  return f.value()->kind;
}

TEST(ResourceSet, SameContentSameVersionOtherContentOtherVersion) {
  auto a = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.2:80"})});
  auto same = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.2:80"})});
  auto changed = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.3:80"})});
  auto fewer = set({cla("a", {"10.0.0.1:80"})});
  EXPECT_EQ(a.version(), same.version());
  EXPECT_NE(a.version(), changed.version());
  EXPECT_NE(a.version(), fewer.version());
  EXPECT_EQ(a.version().size(), 16u);
  EXPECT_NE(set({}).version(), ResourceSet(xds::kClusterType, {}).version());  // type counts
}

TEST(ResourceSet, MapOrderDoesNotChangeTheBytes) {
  cfg::Cluster c1;
  c1.set_name("x");
  auto* fb = c1.mutable_fallback();
  (*fb->mutable_headers())["a"] = "1";
  (*fb->mutable_headers())["b"] = "2";
  cfg::Cluster c2;
  c2.set_name("x");
  auto* fb2 = c2.mutable_fallback();
  (*fb2->mutable_headers())["b"] = "2";
  (*fb2->mutable_headers())["a"] = "1";
  EXPECT_EQ(VersionedResource::make("x", c1)->hash, VersionedResource::make("x", c2)->hash);
}

TEST(ResourceSet, ResponseFrameCarriesEveryResourceVersionAndNonce) {
  auto s = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.2:80", "10.0.0.3:80"})});
  xv1::DiscoveryResponse r;
  EXPECT_EQ(decode(responseFrame(s, "7"), r), xds::FrameKind::kDiscoveryResponse);
  EXPECT_EQ(r.version_info(), s.version());
  EXPECT_EQ(r.nonce(), "7");
  EXPECT_EQ(r.type_url(), xds::kEndpointType);
  ASSERT_EQ(r.resources_size(), 2);
  cfg::ClusterLoadAssignment b;
  ASSERT_TRUE(r.resources(1).UnpackTo(&b));
  EXPECT_EQ(b.cluster_name(), "b");
  EXPECT_EQ(b.endpoints_size(), 2);
}

TEST(ResourceSet, DeltaHoldsOnlyChangesAndRemovals) {
  auto from = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.2:80"}), cla("c", {"10.0.0.9:80"})});
  auto to = set({cla("a", {"10.0.0.1:80"}), cla("b", {"10.0.0.5:80"}), cla("d", {"10.0.0.4:80"})});
  xv1::DeltaDiscoveryResponse d;
  EXPECT_EQ(decode(deltaFrame(deltaBody(from, to), "12"), d), xds::FrameKind::kDeltaDiscoveryResponse);
  EXPECT_EQ(d.system_version_info(), to.version());
  EXPECT_EQ(d.nonce(), "12");
  ASSERT_EQ(d.resources_size(), 2);  // b changed, d is new; a is unchanged
  EXPECT_EQ(d.resources(0).name(), "b");
  EXPECT_EQ(d.resources(1).name(), "d");
  EXPECT_EQ(d.resources(0).version(), hex64(to.find("b")->hash));
  ASSERT_EQ(d.removed_resources_size(), 1);
  EXPECT_EQ(d.removed_resources(0), "c");
}

TEST(ResourceSet, DeltaOfOneChangeIsSmallWhateverTheSetSize) {
  std::vector<ResourcePtr> before, after;
  for (int i = 0; i < 1000; ++i) {
    std::string n = "svc" + std::to_string(1000 + i);
    before.push_back(cla(n, {"10.0.0.1:80", "10.0.0.2:80"}));
    after.push_back(cla(n, {i == 500 ? "10.0.0.3:80" : "10.0.0.1:80", "10.0.0.2:80"}));
  }
  auto from = set(before);
  auto to = set(after);
  const size_t full = responseFrame(to, "1").size();
  const size_t delta = deltaFrame(deltaBody(from, to), "1").size();
  EXPECT_GT(full, 50'000u);
  EXPECT_LT(delta, 400u);  // type URL, two versions, one CLA
}

TEST(ResourceSet, Fnv1aIsStable) {
  // Versions must agree across processes and replicas: the hash of known input is fixed.
  EXPECT_EQ(hex64(fnv1a64("")), "cbf29ce484222325");
  EXPECT_EQ(hex64(fnv1a64("a")), "af63dc4c8601ec8c");
}

}  // namespace
}  // namespace remora::control
