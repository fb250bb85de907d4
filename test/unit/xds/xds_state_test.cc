#include "xds/xds_state.h"

#include <google/protobuf/any.pb.h>
#include <gtest/gtest.h>

#include "remora/config/v1/cluster.pb.h"
#include "remora/config/v1/listener.pb.h"
#include "remora/config/v1/route.pb.h"
#include "xds/resource_types.h"

namespace remora::xds {
namespace {

namespace v1 = remora::xds::v1;

v1::DiscoveryResponse response(std::string version, std::string nonce) {
  v1::DiscoveryResponse r;
  r.set_version_info(std::move(version));
  r.set_nonce(std::move(nonce));
  r.set_type_url(std::string(kClusterType));
  return r;
}

v1::DeltaDiscoveryResponse delta(std::string version, std::string nonce) {
  v1::DeltaDiscoveryResponse r;
  r.set_system_version_info(std::move(version));
  r.set_nonce(std::move(nonce));
  r.set_type_url(std::string(kEndpointType));
  return r;
}

config::v1::Node node() {
  config::v1::Node n;
  n.set_id("orders-7f9c");
  n.set_service("orders");
  return n;
}

// Requests as a sidecar would send them, for the server-side tests.
v1::DiscoveryRequest initial(std::string version = "") {
  v1::DiscoveryRequest r;
  r.set_version_info(std::move(version));
  r.set_type_url(std::string(kClusterType));
  return r;
}

v1::DiscoveryRequest ackOf(std::string version, std::string nonce) {
  v1::DiscoveryRequest r = initial(std::move(version));
  r.set_response_nonce(std::move(nonce));
  return r;
}

v1::DiscoveryRequest nackOf(std::string previous, std::string nonce, std::string error) {
  v1::DiscoveryRequest r = ackOf(std::move(previous), std::move(nonce));
  r.mutable_error_detail()->set_code(kRpcInvalidArgument);
  r.mutable_error_detail()->set_message(std::move(error));
  return r;
}

// ---- resource types ----

TEST(XdsResourceTypesTest, TypeUrlsAreWhatAnyPackFromWrites) {
  google::protobuf::Any any;
  any.PackFrom(config::v1::Cluster());
  EXPECT_EQ(any.type_url(), kClusterType);
  any.PackFrom(config::v1::ClusterLoadAssignment());
  EXPECT_EQ(any.type_url(), kEndpointType);
  any.PackFrom(config::v1::RouteConfiguration());
  EXPECT_EQ(any.type_url(), kRouteType);
  any.PackFrom(config::v1::Listener());
  EXPECT_EQ(any.type_url(), kListenerType);
}

TEST(XdsResourceTypesTest, PushOrderPutsEveryTypeAfterWhatItNames) {
  ASSERT_EQ(kPushOrder.size(), 4u);
  EXPECT_EQ(kPushOrder[0], kClusterType);
  EXPECT_EQ(kPushOrder[1], kEndpointType);
  EXPECT_EQ(kPushOrder[2], kRouteType);     // routes name clusters
  EXPECT_EQ(kPushOrder[3], kListenerType);  // listeners name routes and clusters
  EXPECT_TRUE(isKnownType(kRouteType));
  EXPECT_FALSE(isKnownType("type.googleapis.com/remora.config.v1.Endpoint"));
}

// ---- client ----

TEST(XdsClientStateTest, InitialRequestCarriesNodeNamesAndNoNonce) {
  ClientTypeState c(kEndpointType);
  v1::DiscoveryRequest r = c.initialRequest(node(), {"payments", "users"});
  EXPECT_EQ(r.node().id(), "orders-7f9c");
  EXPECT_EQ(r.type_url(), kEndpointType);
  ASSERT_EQ(r.resource_names_size(), 2);
  EXPECT_EQ(r.resource_names(1), "users");
  EXPECT_EQ(r.version_info(), "");
  EXPECT_EQ(r.response_nonce(), "");
  EXPECT_FALSE(r.has_error_detail());
}

TEST(XdsClientStateTest, AckEchoesVersionAndNonce) {
  ClientTypeState c(kClusterType);
  (void)c.initialRequest(node(), {});
  v1::DiscoveryRequest a = c.ack(response("v1", "1"));
  EXPECT_EQ(a.version_info(), "v1");
  EXPECT_EQ(a.response_nonce(), "1");
  EXPECT_EQ(a.type_url(), kClusterType);
  EXPECT_FALSE(a.has_error_detail());
  EXPECT_FALSE(a.has_node());  // only the first request names the node
  EXPECT_EQ(c.acceptedVersion(), "v1");
  EXPECT_EQ(c.lastNonce(), "1");
}

TEST(XdsClientStateTest, NackKeepsThePreviousVersionAndCarriesTheError) {
  ClientTypeState c(kClusterType);
  (void)c.initialRequest(node(), {});
  (void)c.ack(response("v1", "1"));
  v1::DiscoveryRequest n =
      c.nack(response("v2", "2"), common::Status::invalid("cluster payments: bad address"));
  EXPECT_EQ(n.version_info(), "v1");
  EXPECT_EQ(n.response_nonce(), "2");
  ASSERT_TRUE(n.has_error_detail());
  EXPECT_EQ(n.error_detail().code(), kRpcInvalidArgument);
  EXPECT_EQ(n.error_detail().message(), "cluster payments: bad address");
  EXPECT_EQ(c.acceptedVersion(), "v1");
  EXPECT_EQ(c.lastNonce(), "2");
}

TEST(XdsClientStateTest, NackBeforeAnythingAcceptedHasAnEmptyVersion) {
  ClientTypeState c(kClusterType);
  (void)c.initialRequest(node(), {});
  v1::DiscoveryRequest n = c.nack(response("v1", "1"), common::Status::internal("boom"));
  EXPECT_EQ(n.version_info(), "");
  EXPECT_EQ(n.response_nonce(), "1");
  EXPECT_EQ(n.error_detail().code(), kRpcInternal);
}

TEST(XdsClientStateTest, ReconnectReportsTheAcceptedVersionWithoutTheOldNonce) {
  ClientTypeState c(kClusterType);
  (void)c.initialRequest(node(), {});
  (void)c.ack(response("v4", "9"));
  v1::DiscoveryRequest r = c.initialRequest(node(), {});
  EXPECT_EQ(r.version_info(), "v4");
  EXPECT_EQ(r.response_nonce(), "");
  EXPECT_EQ(c.lastNonce(), "");
}

TEST(XdsClientStateTest, UpdateNamesEchoesTheLastNonceAndVersion) {
  ClientTypeState c(kEndpointType);
  (void)c.initialRequest(node(), {"payments"});
  (void)c.ack(response("v1", "3"));
  v1::DiscoveryRequest r = c.updateNames({"payments", "users"});
  EXPECT_EQ(r.version_info(), "v1");
  EXPECT_EQ(r.response_nonce(), "3");
  ASSERT_EQ(r.resource_names_size(), 2);
  // Later answers carry the new names too.
  v1::DiscoveryRequest a = c.ack(response("v2", "4"));
  EXPECT_EQ(a.resource_names_size(), 2);
}

TEST(XdsClientStateTest, DeltaAckEchoesSystemVersionAndNonce) {
  ClientTypeState c(kEndpointType);
  (void)c.initialRequest(node(), {});
  (void)c.ack(response("v1", "1"));
  ASSERT_TRUE(c.deltaApplies());
  v1::DiscoveryRequest a = c.ack(delta("v2", "2"));
  EXPECT_EQ(a.version_info(), "v2");
  EXPECT_EQ(a.response_nonce(), "2");
  EXPECT_FALSE(a.has_error_detail());
  EXPECT_EQ(c.acceptedVersion(), "v2");
  EXPECT_TRUE(c.deltaApplies());
}

TEST(XdsClientStateTest, DeltaNeedsAFullResponseOnThisConnectionFirst) {
  ClientTypeState c(kEndpointType);
  (void)c.initialRequest(node(), {});
  EXPECT_FALSE(c.deltaApplies());
  v1::DiscoveryRequest n = c.nack(delta("v1", "1"), common::Status::invalid("no full set yet"));
  EXPECT_EQ(n.version_info(), "");
  EXPECT_EQ(n.response_nonce(), "1");
  EXPECT_TRUE(n.has_error_detail());
  (void)c.ack(response("v2", "2"));
  EXPECT_TRUE(c.deltaApplies());
  // A reconnect loses the base again.
  (void)c.initialRequest(node(), {});
  EXPECT_FALSE(c.deltaApplies());
}

TEST(XdsClientStateTest, AnyNackStopsDeltasUntilTheNextFullResponse) {
  ClientTypeState c(kEndpointType);
  (void)c.initialRequest(node(), {});
  (void)c.ack(response("v1", "1"));
  v1::DiscoveryRequest n = c.nack(delta("v2", "2"), common::Status::invalid("bad endpoint"));
  EXPECT_EQ(n.version_info(), "v1");
  EXPECT_FALSE(c.deltaApplies());
  (void)c.ack(response("v3", "3"));
  EXPECT_TRUE(c.deltaApplies());
  (void)c.nack(response("v4", "4"), common::Status::invalid("bad"));
  EXPECT_FALSE(c.deltaApplies());
}

TEST(XdsClientStateTest, RpcCodesFollowStatusCodes) {
  EXPECT_EQ(rpcCodeOf(common::StatusCode::kInvalidArgument), 3);
  EXPECT_EQ(rpcCodeOf(common::StatusCode::kNotFound), 5);
  EXPECT_EQ(rpcCodeOf(common::StatusCode::kInternal), 13);
  EXPECT_EQ(rpcCodeOf(common::StatusCode::kUnavailable), 14);
  EXPECT_EQ(rpcCodeOf(common::StatusCode::kOk), 2);
}

// ---- server ----

TEST(XdsServerStateTest, NoncesAreIncreasingDecimalStrings) {
  NonceSequence nonces;
  EXPECT_EQ(nonces.next(), "1");
  EXPECT_EQ(nonces.next(), "2");
  EXPECT_EQ(nonces.last(), 2u);
  for (int i = 0; i < 8; ++i) {
    (void)nonces.next();
  }
  EXPECT_EQ(nonces.next(), "11");
}

TEST(XdsServerStateTest, FirstRequestIsInitialAndAsksForAPush) {
  ServerTypeState s(kClusterType);
  EXPECT_TRUE(s.needsPush(""));  // even an empty version has not been sent yet
  EXPECT_EQ(s.apply(initial()), RequestKind::kInitial);
  EXPECT_TRUE(s.needsPush("v1"));
  EXPECT_TRUE(s.needsFullState());
  EXPECT_FALSE(s.inFlight());
  EXPECT_EQ(s.status(), SyncStatus::kStale);
}

TEST(XdsServerStateTest, AckOfTheLatestNonceSyncs) {
  ServerTypeState s(kClusterType);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  EXPECT_TRUE(s.inFlight());
  EXPECT_FALSE(s.needsPush("v1"));
  EXPECT_FALSE(s.needsFullState());
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  EXPECT_EQ(s.classify(ackOf("v1", "1")), RequestKind::kAck);
  EXPECT_EQ(s.ackedVersion(), "");  // classify changes nothing
  EXPECT_EQ(s.apply(ackOf("v1", "1")), RequestKind::kAck);
  EXPECT_EQ(s.ackedVersion(), "v1");
  EXPECT_FALSE(s.inFlight());
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
  EXPECT_FALSE(s.needsPush("v1"));
  EXPECT_TRUE(s.needsPush("v2"));
}

TEST(XdsServerStateTest, NackRecordsTheErrorAndThePreviousVersion) {
  ServerTypeState s(kClusterType);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  (void)s.apply(ackOf("v1", "1"));
  s.recordSent("v2", "2");
  EXPECT_EQ(s.apply(nackOf("v1", "2", "cluster x: bad")), RequestKind::kNack);
  EXPECT_EQ(s.status(), SyncStatus::kNacked);
  EXPECT_EQ(s.ackedVersion(), "v1");
  EXPECT_EQ(s.sentVersion(), "v2");
  EXPECT_EQ(s.lastError(), "cluster x: bad");
  EXPECT_FALSE(s.inFlight());
  // The rejected version is not sent again; the next one is, in full.
  EXPECT_FALSE(s.needsPush("v2"));
  EXPECT_TRUE(s.needsPush("v3"));
  EXPECT_TRUE(s.needsFullState());
}

TEST(XdsServerStateTest, LateAckForAnOlderNonceIsIgnored) {
  ServerTypeState s(kClusterType);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  s.recordSent("v2", "2");  // pushed again before the ACK of "1" arrived
  EXPECT_EQ(s.apply(ackOf("v1", "1")), RequestKind::kStale);
  EXPECT_EQ(s.ackedVersion(), "");
  EXPECT_TRUE(s.inFlight());
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  // A late NACK of the old nonce is ignored as well.
  EXPECT_EQ(s.apply(nackOf("", "1", "old")), RequestKind::kStale);
  EXPECT_EQ(s.lastError(), "");
  EXPECT_EQ(s.apply(ackOf("v2", "2")), RequestKind::kAck);
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
}

TEST(XdsServerStateTest, NonceWithNothingSentOrUnknownIsStale) {
  ServerTypeState s(kClusterType);
  EXPECT_EQ(s.classify(ackOf("v1", "5")), RequestKind::kStale);
  s.recordSent("v1", "5");
  EXPECT_EQ(s.classify(ackOf("v1", "6")), RequestKind::kStale);  // e.g. another type's nonce
  EXPECT_EQ(s.classify(ackOf("v1", "5")), RequestKind::kAck);
  EXPECT_EQ(s.classify(nackOf("", "5", "e")), RequestKind::kNack);
  EXPECT_EQ(s.classify(initial("v1")), RequestKind::kInitial);
}

TEST(XdsServerStateTest, SyncStatusTransitions) {
  ServerTypeState s(kClusterType);
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  (void)s.apply(ackOf("v1", "1"));
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
  s.recordSent("v2", "2");
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  (void)s.apply(nackOf("v1", "2", "bad route"));
  EXPECT_EQ(s.status(), SyncStatus::kNacked);
  s.recordSent("v3", "3");
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  (void)s.apply(ackOf("v3", "3"));
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
  EXPECT_EQ(s.lastError(), "bad route");  // kept as history; the status says it is not current
  EXPECT_EQ(syncStatusName(SyncStatus::kSynced), "SYNCED");
  EXPECT_EQ(syncStatusName(SyncStatus::kStale), "STALE");
  EXPECT_EQ(syncStatusName(SyncStatus::kNacked), "NACKED");
}

TEST(XdsServerStateTest, ReportedVersionOfAnInitialRequestIsNotAnAck) {
  ServerTypeState s(kClusterType);
  (void)s.apply(initial("v1"));  // the proxy ran v1 from an earlier connection
  EXPECT_EQ(s.ackedVersion(), "v1");
  EXPECT_TRUE(s.needsPush("v1"));
  s.recordSent("v1", "1");
  EXPECT_EQ(s.status(), SyncStatus::kStale);
  (void)s.apply(ackOf("v1", "1"));
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
}

TEST(XdsServerStateTest, InitialRequestAgainAsksForTheFullStateAgain) {
  ServerTypeState s(kEndpointType);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  (void)s.apply(ackOf("v1", "1"));
  EXPECT_FALSE(s.needsPush("v1"));
  EXPECT_EQ(s.apply(initial("v1")), RequestKind::kInitial);
  EXPECT_TRUE(s.needsPush("v1"));
  EXPECT_TRUE(s.needsFullState());
}

TEST(XdsServerStateTest, ChangedResourceNamesAskForAPush) {
  ServerTypeState s(kEndpointType);
  v1::DiscoveryRequest first = initial();
  first.add_resource_names("payments");
  (void)s.apply(first);
  s.recordSent("v1", "1");
  v1::DiscoveryRequest same = ackOf("v1", "1");
  same.add_resource_names("payments");
  (void)s.apply(same);
  EXPECT_FALSE(s.needsPush("v1"));
  v1::DiscoveryRequest more = ackOf("v1", "1");
  more.add_resource_names("payments");
  more.add_resource_names("users");
  EXPECT_EQ(s.apply(more), RequestKind::kAck);
  ASSERT_EQ(s.resourceNames().size(), 2u);
  EXPECT_TRUE(s.needsPush("v1"));
  // A stale request's names are not taken.
  s.recordSent("v1", "2");
  v1::DiscoveryRequest stale = ackOf("v1", "1");
  EXPECT_EQ(s.apply(stale), RequestKind::kStale);
  EXPECT_EQ(s.resourceNames().size(), 2u);
  EXPECT_FALSE(s.needsPush("v1"));
}

TEST(XdsServerStateTest, NackedDeltaIsResentInFull) {
  ServerTypeState s(kEndpointType);
  (void)s.apply(initial());
  s.recordSent("v1", "1");
  (void)s.apply(ackOf("v1", "1"));
  s.recordSent("v2", "2", SentAs::kDelta);
  EXPECT_FALSE(s.needsFullState());
  (void)s.apply(nackOf("v1", "2", "no base"));
  EXPECT_TRUE(s.needsPush("v2"));
  EXPECT_TRUE(s.needsFullState());
  s.recordSent("v2", "3");
  EXPECT_FALSE(s.needsPush("v2"));
  EXPECT_FALSE(s.needsFullState());
  (void)s.apply(ackOf("v2", "3"));
  EXPECT_EQ(s.status(), SyncStatus::kSynced);
}

// Both ends of one endpoint subscription; push* record what the server sends.
struct EndpointSession {
  ServerTypeState server{kEndpointType};
  ClientTypeState client{kEndpointType};
  NonceSequence nonces;

  EndpointSession() { (void)server.apply(client.initialRequest(node(), {})); }
  v1::DiscoveryResponse pushFull(std::string version) {
    v1::DiscoveryResponse r = response(std::move(version), nonces.next());
    server.recordSent(r.version_info(), r.nonce());
    return r;
  }
  v1::DeltaDiscoveryResponse pushDelta(std::string version) {
    v1::DeltaDiscoveryResponse d = delta(std::move(version), nonces.next());
    server.recordSent(d.system_version_info(), d.nonce(), SentAs::kDelta);
    return d;
  }
};

TEST(XdsServerStateTest, DeltaAckSyncsWithTheSystemVersion) {
  EndpointSession s;
  EXPECT_EQ(s.server.apply(s.client.ack(s.pushFull("v1"))), RequestKind::kAck);
  v1::DeltaDiscoveryResponse d = s.pushDelta("v2");
  ASSERT_TRUE(s.client.deltaApplies());
  EXPECT_EQ(s.server.apply(s.client.ack(d)), RequestKind::kAck);
  EXPECT_EQ(s.server.ackedVersion(), "v2");
  EXPECT_EQ(s.server.status(), SyncStatus::kSynced);
}

TEST(XdsServerStateTest, ClientAndServerConvergeAfterARefusedDelta) {
  EndpointSession s;
  // A full response and a delta on top of it go out before any answer; the full one is rejected.
  v1::DiscoveryResponse f1 = s.pushFull("v1");
  v1::DeltaDiscoveryResponse d2 = s.pushDelta("v2");
  EXPECT_EQ(s.server.apply(s.client.nack(f1, common::Status::invalid("bad"))),
            RequestKind::kStale);
  ASSERT_FALSE(s.client.deltaApplies());
  EXPECT_EQ(s.server.apply(s.client.nack(d2, common::Status::invalid("no base"))),
            RequestKind::kNack);
  EXPECT_EQ(s.server.status(), SyncStatus::kNacked);
  ASSERT_TRUE(s.server.needsPush("v2"));
  ASSERT_TRUE(s.server.needsFullState());
  EXPECT_EQ(s.server.apply(s.client.ack(s.pushFull("v2"))), RequestKind::kAck);
  EXPECT_EQ(s.server.status(), SyncStatus::kSynced);
  EXPECT_TRUE(s.client.deltaApplies());
}

}  // namespace
}  // namespace remora::xds
