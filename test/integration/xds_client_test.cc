// Mesh mode: a real remora-sidecar takes its config from a fake control plane written here (an
// HttpServer that accepts the xDS Upgrade and speaks frames), in front of real remora-echo
// backends. Plus in-process tests of XdsClient's keepalive with short intervals.

#include <gtest/gtest.h>

#include <google/protobuf/any.pb.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "common/event_loop.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/stats.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "remora/xds/v1/discovery.pb.h"
#include "sidecar/xds_client.h"
#include "support/process.h"
#include "support/sockets.h"
#include "xds/framing.h"
#include "xds/resource_types.h"

namespace remora::test {
namespace {

using common::HttpClient;
using namespace std::chrono_literals;
namespace cfg = remora::config::v1;
namespace v1 = remora::xds::v1;

// ---- the fake control plane -----------------------------------------------------------------

// Accepts `GET /v1/xds` upgrades on 127.0.0.1:0 and records every DiscoveryRequest with the index
// of its connection (0 for the first accepted, 1 for the next, ...). Pushes go to the newest open
// connection. Runs its own loop thread; every public method is called from the test thread.
class FakeControlPlane {
 public:
  struct Received {
    size_t connection;
    v1::DiscoveryRequest request;
  };

  explicit FakeControlPlane(bool answer_pings = true) : answer_pings_(answer_pings) {
    server_ = std::make_unique<common::HttpServer>(
        loop_, [this](common::HttpRequest& req, common::Responder r) { onRequest(req, r); });
    common::Status s = server_->listen("127.0.0.1:0");
    EXPECT_TRUE(s.isOk()) << s.message();
    address_ = server_->boundAddress().toString();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~FakeControlPlane() { stop(); }

  void stop() {
    if (!thread_.joinable()) {
      return;
    }
    onLoop([this] { server_->close(); });
    loop_.stop();
    thread_.join();
    server_.reset();
    loop_.closeAll();
  }

  const std::string& address() const { return address_; }

  // The first request (any connection) for which `pred` holds, waiting up to `timeout`.
  std::optional<v1::DiscoveryRequest> waitRequest(const std::function<bool(const Received&)>& pred,
                                                  std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<v1::DiscoveryRequest> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const Received& r : received_) {
        if (pred(r)) {
          found = r.request;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  // The initial request (no nonce) of `type_url` on connection `connection`.
  std::optional<v1::DiscoveryRequest> waitInitial(std::string_view type_url, size_t connection,
                                                  std::chrono::milliseconds timeout = 5s) {
    return waitRequest(
        [&](const Received& r) {
          return r.connection == connection && r.request.type_url() == type_url &&
                 r.request.response_nonce().empty();
        },
        timeout);
  }
  // The answer (ACK or NACK) to the response with `nonce`.
  std::optional<v1::DiscoveryRequest> waitAnswer(const std::string& nonce,
                                                 std::chrono::milliseconds timeout = 5s) {
    return waitRequest([&](const Received& r) { return r.request.response_nonce() == nonce; },
                       timeout);
  }

  // Pushes a state-of-the-world response; returns its nonce.
  std::string push(std::string_view type_url, const std::string& version,
                   const std::vector<google::protobuf::Any>& resources) {
    v1::DiscoveryResponse r;
    r.set_type_url(std::string(type_url));
    r.set_version_info(version);
    r.set_nonce(std::to_string(++nonce_));
    for (const auto& a : resources) {
      *r.add_resources() = a;
    }
    send(xds::FrameKind::kDiscoveryResponse, r);
    return r.nonce();
  }
  // Pushes an endpoints delta; returns its nonce.
  std::string pushDelta(const std::string& version,
                        const std::vector<cfg::ClusterLoadAssignment>& updated,
                        const std::vector<std::string>& removed = {}) {
    v1::DeltaDiscoveryResponse d;
    d.set_type_url(std::string(xds::kEndpointType));
    d.set_system_version_info(version);
    d.set_nonce(std::to_string(++nonce_));
    for (const auto& a : updated) {
      v1::Resource* r = d.add_resources();
      r->set_name(a.cluster_name());
      r->set_version(version);
      r->mutable_resource()->PackFrom(a);
    }
    for (const auto& n : removed) {
      d.add_removed_resources(n);
    }
    send(xds::FrameKind::kDeltaDiscoveryResponse, d);
    return d.nonce();
  }
  // Pushes and waits for the answer; fails the test when none comes.
  v1::DiscoveryRequest pushAndWait(std::string_view type_url, const std::string& version,
                                   const std::vector<google::protobuf::Any>& resources) {
    std::string nonce = push(type_url, version, resources);
    auto answer = waitAnswer(nonce);
    EXPECT_TRUE(answer.has_value()) << "no answer to " << type_url << " nonce " << nonce;
    return answer.value_or(v1::DiscoveryRequest());
  }

  void send(xds::FrameKind kind, const google::protobuf::MessageLite& message) {
    auto frame = xds::encodeFrame(kind, message);
    ASSERT_TRUE(frame.isOk());
    std::string bytes = std::move(frame).value();
    onLoop([this, bytes] {
      for (auto it = conns_.rbegin(); it != conns_.rend(); ++it) {
        if ((*it)->tunnel != nullptr) {
          (*it)->tunnel->write(bytes);
          return;
        }
      }
      ADD_FAILURE() << "no open xDS connection to push on";
    });
  }

  // Closes every open connection (FIN after what is queued).
  void closeConnections() {
    onLoop([this] {
      for (auto& c : conns_) {
        if (c->tunnel != nullptr) {
          c->tunnel->close();
        }
      }
    });
  }

  size_t connectionsAccepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }
  size_t pingsReceived() {
    std::lock_guard<std::mutex> lock(mu_);
    return pings_;
  }
  bool pongReceived(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::find(pongs_.begin(), pongs_.end(), id) != pongs_.end();
  }

 private:
  struct Conn {
    size_t index = 0;
    common::Tunnel* tunnel = nullptr;
    xds::FrameDecoder decoder;
  };

  // Runs `fn` on the loop thread and waits for it.
  void onLoop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  void onRequest(common::HttpRequest& req, common::Responder& r) {
    if (req.path != xds::kXdsPath || !req.upgrade) {
      r.respond(404, "not here\n");
      return;
    }
    auto conn = std::make_shared<Conn>();
    common::HttpResponse resp(101, "");
    resp.headers.add("upgrade", std::string(xds::kXdsUpgradeToken));
    common::TunnelHandler h;
    h.on_open = [this, conn](common::Tunnel& t) {
      conn->tunnel = &t;
      std::lock_guard<std::mutex> lock(mu_);
      conn->index = accepted_++;
      conns_.push_back(conn);
      cv_.notify_all();
    };
    h.on_data = [this, conn](common::Tunnel&, std::string_view data) { onFrames(*conn, data); };
    h.on_close = [this, conn] {
      conn->tunnel = nullptr;
      cv_.notify_all();
    };
    r.upgrade(std::move(resp), std::move(h));
  }

  void onFrames(Conn& conn, std::string_view data) {
    conn.decoder.feed(data);
    for (;;) {
      auto f = conn.decoder.next();
      ASSERT_TRUE(f.isOk()) << f.status().message();
      if (!f.value()) {
        return;
      }
      const xds::Frame& frame = *f.value();
      std::lock_guard<std::mutex> lock(mu_);
      switch (frame.kind) {
        case xds::FrameKind::kDiscoveryRequest: {
          v1::DiscoveryRequest req;
          EXPECT_TRUE(
              req.ParseFromArray(frame.payload.data(), static_cast<int>(frame.payload.size())));
          received_.push_back({conn.index, std::move(req)});
          break;
        }
        case xds::FrameKind::kPing: {
          ++pings_;
          v1::Ping ping;
          ping.ParseFromArray(frame.payload.data(), static_cast<int>(frame.payload.size()));
          if (answer_pings_ && conn.tunnel != nullptr) {
            v1::Pong pong;
            pong.set_id(ping.id());
            conn.tunnel->write(xds::encodeFrame(xds::FrameKind::kPong, pong).value());
          }
          break;
        }
        case xds::FrameKind::kPong: {
          v1::Pong pong;
          pong.ParseFromArray(frame.payload.data(), static_cast<int>(frame.payload.size()));
          pongs_.push_back(pong.id());
          break;
        }
        default:
          ADD_FAILURE() << "the sidecar sent a " << xds::frameKindName(frame.kind);
      }
      cv_.notify_all();
    }
  }

  bool answer_pings_;
  common::EventLoop loop_;
  std::unique_ptr<common::HttpServer> server_;
  std::string address_;
  std::thread thread_;
  std::atomic<uint64_t> nonce_{0};
  std::vector<std::shared_ptr<Conn>> conns_;  // loop thread (push_back under mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  size_t accepted_ = 0;
  size_t pings_ = 0;
  std::vector<uint64_t> pongs_;
};

// ---- resources --------------------------------------------------------------------------------

template <typename... M>
std::vector<google::protobuf::Any> anys(const M&... messages) {
  std::vector<google::protobuf::Any> out;
  (out.emplace_back().PackFrom(messages), ...);
  return out;
}

cfg::Cluster cluster(const std::string& name) {
  cfg::Cluster c;
  c.set_name(name);
  c.set_type(cfg::Cluster::STATIC);
  c.mutable_connect_timeout()->set_seconds(1);
  return c;
}

cfg::ClusterLoadAssignment assignment(const std::string& cluster_name,
                                      const std::vector<std::string>& endpoints) {
  cfg::ClusterLoadAssignment a;
  a.set_cluster_name(cluster_name);
  for (const auto& e : endpoints) {
    a.add_endpoints()->set_address(e);
  }
  return a;
}

// A route configuration sending everything for `domain` to `cluster_name`.
cfg::RouteConfiguration routeTo(const std::string& name, const std::string& cluster_name,
                                const std::string& domain = "*") {
  cfg::RouteConfiguration rc;
  rc.set_name(name);
  cfg::VirtualHost* vh = rc.add_virtual_hosts();
  vh->set_name("all");
  vh->add_domains(domain);
  cfg::Route* r = vh->add_routes();
  r->set_name(name + "-default");
  r->mutable_match()->set_prefix("/");
  r->mutable_route()->set_cluster(cluster_name);
  return rc;
}

cfg::Listener listener(const std::string& name, const std::string& route_config) {
  cfg::Listener l;
  l.set_name(name);
  l.set_direction(name == "inbound" ? cfg::Listener::INBOUND : cfg::Listener::OUTBOUND);
  l.set_route_config(route_config);
  l.set_protocol(cfg::Listener::HTTP);
  return l;
}

// ---- the sidecar under test -----------------------------------------------------------------

class XdsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = Echo::start(dir_, "echo-a");
    b_ = Echo::start(dir_, "echo-b");
    ASSERT_FALSE(a_.address.empty());
    ASSERT_FALSE(b_.address.empty());
  }

  // Starts the sidecar in mesh mode against `xds` (default: the fake control plane) without
  // waiting for readiness; then waits for the four initial requests on connection 0 and takes
  // the admin address from the node they carry.
  void startSidecar(std::string xds = "", std::vector<std::string> extra = {}) {
    ready_file_ = dir_.file("sidecar.ready");
    sidecar_.stdout_file = dir_.file("sidecar.out");
    sidecar_.stderr_file = dir_.file("sidecar.err");
    std::vector<std::string> argv = {sidecarBin(),
                                     "--xds",
                                     xds.empty() ? cp_.address() : xds,
                                     "--node-id",
                                     "frontend-1",
                                     "--service",
                                     "frontend",
                                     "--namespace",
                                     "shop",
                                     "--labels",
                                     "version=v1,team=web",
                                     "--outbound",
                                     "127.0.0.1:0",
                                     "--inbound",
                                     "127.0.0.1:0",
                                     "--app",
                                     a_.address,
                                     "--admin",
                                     "127.0.0.1:0",
                                     "--ready-file",
                                     ready_file_,
                                     "--access-log",
                                     "off",
                                     "--concurrency",
                                     "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(sidecar_.process.start(argv, sidecar_.stdout_file, sidecar_.stderr_file));
    for (std::string_view type : xds::kPushOrder) {
      auto initial = cp_.waitInitial(type, 0);
      ASSERT_TRUE(initial.has_value()) << "no initial request for " << type << "\n"
                                       << readFile(sidecar_.stderr_file);
      EXPECT_TRUE(initial->resource_names().empty());
      EXPECT_EQ(initial->version_info(), "");
      EXPECT_EQ(initial->node().id(), "frontend-1");
      sidecar_.admin = initial->node().admin_address();
    }
    ASSERT_FALSE(sidecar_.admin.empty());
  }

  // Pushes the four types: cluster "echo" -> `endpoint`, route "outbound" -> echo, listener
  // "outbound"; waits for each ACK.
  void pushBaseline(const std::string& version, const std::string& endpoint) {
    auto c = cp_.pushAndWait(xds::kClusterType, version, anys(cluster("echo")));
    ASSERT_FALSE(c.has_error_detail()) << c.error_detail().message();
    auto e = cp_.pushAndWait(xds::kEndpointType, version, anys(assignment("echo", {endpoint})));
    ASSERT_FALSE(e.has_error_detail()) << e.error_detail().message();
    auto r = cp_.pushAndWait(xds::kRouteType, version, anys(routeTo("outbound", "echo")));
    ASSERT_FALSE(r.has_error_detail()) << r.error_detail().message();
    auto l = cp_.pushAndWait(xds::kListenerType, version, anys(listener("outbound", "outbound")));
    ASSERT_FALSE(l.has_error_detail()) << l.error_detail().message();
  }

  // Waits for the ready file and takes the listener addresses from it.
  void waitReady() {
    std::string text = waitForReadyFile(ready_file_);
    ASSERT_FALSE(text.empty()) << readFile(sidecar_.stderr_file);
    auto kv = jsonStrings(text);
    EXPECT_EQ(kv["admin"], sidecar_.admin);
    kv.erase("admin");
    sidecar_.listeners = kv;
    ASSERT_EQ(sidecar_.listeners.count("outbound"), 1u) << text;
    ASSERT_EQ(sidecar_.listeners.count("inbound"), 1u) << text;
  }

  void startReady() {
    startSidecar();
    pushBaseline("1", a_.address);
    waitReady();
  }

  // GET / on the outbound listener: the backend's id, or "<status> <reason>" for a local reply.
  std::string who(HttpClient& c, const std::string& host = "catalog") {
    auto r = c.get("/", {{"host", host}});
    if (!r.isOk()) {
      return "error: " + r.status().message();
    }
    if (r.value().hasHeader("x-echo-id")) {
      return std::string(r.value().header("x-echo-id"));
    }
    return std::to_string(r.value().status) + " " +
           std::string(r.value().header("x-remora-reason"));
  }
  std::string who(const std::string& host = "catalog") {
    HttpClient c(sidecar_.listeners.at("outbound"));
    return who(c, host);
  }

  long long updates(const std::string& type, const std::string& result) {
    return sidecar_.stat("remora_xds_updates_total{type=\"" + type + "\",result=\"" + result +
                         "\"}");
  }

  TempDir dir_;
  FakeControlPlane cp_;
  Echo a_;
  Echo b_;
  Sidecar sidecar_;
  std::string ready_file_;
};

TEST_F(XdsClientTest, NodeCarriesIdentityLabelsAndAdminAddress) {
  startSidecar();
  auto initial = cp_.waitInitial(xds::kClusterType, 0);
  ASSERT_TRUE(initial.has_value());
  const cfg::Node& node = initial->node();
  EXPECT_EQ(node.service(), "frontend");
  EXPECT_EQ(node.namespace_(), "shop");
  EXPECT_EQ(node.labels().at("version"), "v1");
  EXPECT_EQ(node.labels().at("team"), "web");
  EXPECT_EQ(node.admin_address(), sidecar_.admin);
  EXPECT_EQ(sidecar_.adminGet("/healthz"), "OK\n");
}

TEST_F(XdsClientTest, ReadyOnlyOnceEveryTypeWasAccepted) {
  startSidecar();
  HttpClient admin(sidecar_.admin);
  auto not_ready = [&] {
    auto r = admin.get("/ready");
    return r.isOk() && r.value().status == 503;
  };
  EXPECT_TRUE(not_ready());
  cp_.pushAndWait(xds::kClusterType, "1", anys(cluster("echo")));
  cp_.pushAndWait(xds::kEndpointType, "1", anys(assignment("echo", {a_.address})));
  cp_.pushAndWait(xds::kRouteType, "1", anys(routeTo("outbound", "echo")));
  EXPECT_TRUE(not_ready()) << "three types of four are not a complete config";
  EXPECT_TRUE(readFile(ready_file_).empty()) << "the ready file came before the config";
  cp_.pushAndWait(xds::kListenerType, "1", anys(listener("outbound", "outbound")));
  waitReady();
  auto r = admin.get("/ready");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r.value().status, 200);
  EXPECT_EQ(sidecar_.stat("remora_xds_connected"), 1);
  for (const char* t : {"clusters", "endpoints", "routes", "listeners"}) {
    EXPECT_EQ(updates(t, "accepted"), 1) << t;
    EXPECT_EQ(updates(t, "rejected"), 0) << t;
  }
}

TEST_F(XdsClientTest, TrafficFollowsThePushedConfig) {
  startReady();
  EXPECT_EQ(who(), "echo-a");
  // A new cluster and a route to it, in the safe order: clusters, endpoints, then routes.
  cp_.pushAndWait(xds::kClusterType, "2", anys(cluster("echo"), cluster("echo-b")));
  cp_.pushAndWait(xds::kEndpointType, "2",
                  anys(assignment("echo", {a_.address}), assignment("echo-b", {b_.address})));
  cp_.pushAndWait(xds::kRouteType, "2", anys(routeTo("outbound", "echo-b")));
  EXPECT_EQ(who(), "echo-b");
  // /listeners shows the pushed route configuration on the bound listener.
  std::string listeners = sidecar_.adminGet("/listeners");
  EXPECT_NE(listeners.find("\"route_config\":\"outbound\""), std::string::npos) << listeners;
  EXPECT_NE(listeners.find(sidecar_.listeners.at("outbound")), std::string::npos) << listeners;
}

TEST_F(XdsClientTest, InboundGoesToTheLocalApp) {
  startReady();
  cp_.pushAndWait(xds::kRouteType, "2",
                  anys(routeTo("outbound", "echo"), routeTo("inbound", "local-app")));
  cp_.pushAndWait(xds::kListenerType, "2",
                  anys(listener("outbound", "outbound"), listener("inbound", "inbound")));
  HttpClient c(sidecar_.listeners.at("inbound"));
  EXPECT_EQ(who(c), "echo-a");  // --app is echo-a
}

TEST_F(XdsClientTest, AckEchoesVersionAndNonce) {
  startReady();
  std::string nonce = cp_.push(xds::kClusterType, "v7", anys(cluster("echo")));
  auto ack = cp_.waitAnswer(nonce);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->type_url(), xds::kClusterType);
  EXPECT_EQ(ack->version_info(), "v7");
  EXPECT_EQ(ack->response_nonce(), nonce);
  EXPECT_FALSE(ack->has_error_detail());
}

TEST_F(XdsClientTest, InvalidRouteIsNackedAndTheOldConfigKeepsServing) {
  startReady();
  cfg::RouteConfiguration bad = routeTo("outbound", "echo");
  bad.mutable_virtual_hosts(0)->mutable_routes(0)->mutable_match()->set_regex("/(unclosed");
  std::string nonce = cp_.push(xds::kRouteType, "2", anys(bad));
  auto nack = cp_.waitAnswer(nonce);
  ASSERT_TRUE(nack.has_value());
  ASSERT_TRUE(nack->has_error_detail());
  EXPECT_EQ(nack->error_detail().code(), 3);  // INVALID_ARGUMENT
  EXPECT_EQ(nack->version_info(), "1") << "a NACK carries the version still in use";
  EXPECT_NE(nack->error_detail().message().find("route configuration 'outbound'"),
            std::string::npos)
      << nack->error_detail().message();
  EXPECT_NE(nack->error_detail().message().find("regex"), std::string::npos)
      << nack->error_detail().message();
  EXPECT_EQ(who(), "echo-a");
  EXPECT_EQ(updates("routes", "rejected"), 1);
  std::string dump = sidecar_.adminGet("/config_dump");
  EXPECT_NE(dump.find("invalid regex"), std::string::npos) << dump;

  // The next valid push is taken as usual.
  auto ack = cp_.pushAndWait(xds::kRouteType, "3", anys(routeTo("outbound", "echo")));
  EXPECT_FALSE(ack.has_error_detail());
  EXPECT_EQ(ack.version_info(), "3");
}

TEST_F(XdsClientTest, ListenersTheSidecarDidNotBindAreNacked) {
  startReady();
  auto unknown = cp_.pushAndWait(xds::kListenerType, "2",
                                 anys(listener("outbound", "outbound"), listener("sideways", "")));
  ASSERT_TRUE(unknown.has_error_detail());
  EXPECT_NE(unknown.error_detail().message().find("listener 'sideways'"), std::string::npos)
      << unknown.error_detail().message();

  cfg::Listener moved = listener("outbound", "outbound");
  moved.set_address("127.0.0.1:1");
  auto other_port = cp_.pushAndWait(xds::kListenerType, "3", anys(moved));
  ASSERT_TRUE(other_port.has_error_detail());
  EXPECT_NE(other_port.error_detail().message().find("listener 'outbound'"), std::string::npos)
      << other_port.error_detail().message();

  auto local_app =
      cp_.pushAndWait(xds::kClusterType, "4", anys(cluster("echo"), cluster("local-app")));
  ASSERT_TRUE(local_app.has_error_detail());
  EXPECT_NE(local_app.error_detail().message().find("local-app"), std::string::npos);

  EXPECT_EQ(who(), "echo-a");
  EXPECT_EQ(updates("listeners", "rejected"), 2);
  EXPECT_EQ(updates("clusters", "rejected"), 1);
}

TEST_F(XdsClientTest, RouteToAMissingClusterAnswers503WithATrail) {
  startReady();
  auto ack = cp_.pushAndWait(xds::kRouteType, "2", anys(routeTo("outbound", "ghost")));
  EXPECT_FALSE(ack.has_error_detail()) << ack.error_detail().message();
  EXPECT_EQ(who(), "503 no-healthy-upstream");
  // The stream is recorded just after its answer is written.
  std::string requests;
  EXPECT_TRUE(eventually(
      [&] {
        requests = sidecar_.adminGet("/requests");
        return requests.find("cluster ghost not found") != std::string::npos;
      },
      3s))
      << requests;

  // A cluster that exists without endpoints answers the same way until its endpoints come.
  cp_.pushAndWait(xds::kClusterType, "2", anys(cluster("echo"), cluster("ghost")));
  EXPECT_EQ(who(), "503 no-healthy-upstream");
  cp_.pushAndWait(xds::kEndpointType, "2",
                  anys(assignment("echo", {a_.address}), assignment("ghost", {b_.address})));
  EXPECT_EQ(who(), "echo-b");
}

TEST_F(XdsClientTest, EndpointDeltaIsAppliedOnTopOfTheFullSet) {
  startSidecar();
  cp_.pushAndWait(xds::kClusterType, "1", anys(cluster("echo"), cluster("other")));
  cp_.pushAndWait(xds::kEndpointType, "1",
                  anys(assignment("echo", {a_.address}), assignment("other", {a_.address})));
  cp_.pushAndWait(xds::kRouteType, "1",
                  anys(routeTo("outbound", "echo"), routeTo("zz-other", "other")));
  cp_.pushAndWait(xds::kListenerType, "1", anys(listener("outbound", "outbound")));
  waitReady();
  EXPECT_EQ(who(), "echo-a");

  // Only the changed assignment travels.
  std::string nonce = cp_.pushDelta("1+d1", {assignment("echo", {b_.address})});
  auto ack = cp_.waitAnswer(nonce);
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->has_error_detail()) << ack->error_detail().message();
  EXPECT_EQ(ack->version_info(), "1+d1");
  EXPECT_EQ(who(), "echo-b");
  std::string dump = sidecar_.adminGet("/config_dump");
  // "other" kept its endpoint: the delta did not touch it.
  EXPECT_NE(dump.find("\"other\""), std::string::npos);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = dump.find(needle); p != std::string::npos; p = dump.find(needle, p + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_GE(count(a_.address), 2u) << dump;  // local-app and "other"
  EXPECT_EQ(updates("endpoints", "accepted"), 2);

  // Removing the assignment leaves the cluster without endpoints.
  nonce = cp_.pushDelta("1+d2", {}, {"echo"});
  ack = cp_.waitAnswer(nonce);
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->has_error_detail());
  EXPECT_EQ(who(), "503 no-healthy-upstream");
}

TEST_F(XdsClientTest, ConfigDumpShowsVersionsAndNoncesPerType) {
  startSidecar();
  std::string nc = cp_.pushAndWait(xds::kClusterType, "c1", anys(cluster("echo"))).response_nonce();
  std::string ne = cp_.pushAndWait(xds::kEndpointType, "e1", anys(assignment("echo", {a_.address})))
                       .response_nonce();
  std::string nr =
      cp_.pushAndWait(xds::kRouteType, "r1", anys(routeTo("outbound", "echo"))).response_nonce();
  std::string nl = cp_.pushAndWait(xds::kListenerType, "l1", anys(listener("outbound", "outbound")))
                       .response_nonce();
  waitReady();
  std::string dump = sidecar_.adminGet("/config_dump");
  struct Expected {
    std::string type, version, nonce;
  };
  const Expected expected[] = {{"clusters", "c1", nc},
                               {"endpoints", "e1", ne},
                               {"routes", "r1", nr},
                               {"listeners", "l1", nl}};
  for (const Expected& x : expected) {
    std::string entry = "\"" + x.type + "\":{\"version\":\"" + x.version + "\",\"nonce\":\"" +
                        x.nonce + "\",\"last_error\":\"\"}";
    EXPECT_NE(dump.find(entry), std::string::npos) << entry << "\n" << dump;
  }
  // The dynamic resources are part of the dumped config.
  EXPECT_NE(dump.find("\"route_config\":\"outbound\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"name\":\"echo\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"name\":\"local-app\""), std::string::npos) << dump;
  std::string info = sidecar_.adminGet("/server_info");
  EXPECT_NE(info.find("\"node_id\":\"frontend-1\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"mode\":\"mesh\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"state\":\"LIVE\""), std::string::npos) << info;
}

TEST_F(XdsClientTest, KeepsServingWhileDisconnectedAndReconnects) {
  startReady();
  EXPECT_EQ(sidecar_.stat("remora_xds_reconnects_total"), 0);
  cp_.closeConnections();
  // The initial requests of the new connection carry the versions accepted before.
  auto again = cp_.waitInitial(xds::kClusterType, 1);
  ASSERT_TRUE(again.has_value()) << readFile(sidecar_.stderr_file);
  EXPECT_EQ(again->version_info(), "1");
  for (std::string_view type : xds::kPushOrder) {
    ASSERT_TRUE(cp_.waitInitial(type, 1).has_value()) << type;
  }
  EXPECT_EQ(who(), "echo-a") << "the last accepted config keeps serving";
  EXPECT_GE(sidecar_.stat("remora_xds_reconnects_total"), 1);
  EXPECT_TRUE(eventually([&] { return sidecar_.stat("remora_xds_connected") == 1; }, 5s));

  // A delta needs a full response on this connection first.
  std::string nonce = cp_.pushDelta("1+d1", {assignment("echo", {b_.address})});
  auto refused = cp_.waitAnswer(nonce);
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(refused->has_error_detail());
  EXPECT_EQ(who(), "echo-a");
  auto full = cp_.pushAndWait(xds::kEndpointType, "2", anys(assignment("echo", {b_.address})));
  EXPECT_FALSE(full.has_error_detail());
  EXPECT_EQ(who(), "echo-b");
}

TEST_F(XdsClientTest, ServesWhileTheControlPlaneIsGoneThenReconnectsToANewOne) {
  startReady();
  cp_.stop();
  EXPECT_TRUE(eventually([&] { return sidecar_.stat("remora_xds_connected") == 0; }, 5s));
  EXPECT_EQ(who(), "echo-a");
  std::string ready = sidecar_.adminGet("/ready");
  EXPECT_EQ(ready, "READY\n") << "readiness is not lost with the control plane";
  EXPECT_TRUE(eventually([&] { return sidecar_.stat("remora_xds_reconnects_total") >= 3; }, 10s));
}

TEST_F(XdsClientTest, SecondAddressIsUsedWhenTheFirstIsDown) {
  std::string down = "127.0.0.1:" + std::to_string(pickFreePort());
  startSidecar(down + "," + cp_.address());
  pushBaseline("1", a_.address);
  waitReady();
  EXPECT_EQ(who(), "echo-a");
  EXPECT_GE(sidecar_.stat("remora_xds_reconnects_total"), 1);
  std::string dump = sidecar_.adminGet("/config_dump");
  EXPECT_NE(dump.find("\"address\":\"" + cp_.address() + "\""), std::string::npos) << dump;
}

TEST_F(XdsClientTest, RouteChangesUnderLoadFailNoRequest) {
  startSidecar();
  cp_.pushAndWait(xds::kClusterType, "1", anys(cluster("echo-a"), cluster("echo-b")));
  cp_.pushAndWait(xds::kEndpointType, "1",
                  anys(assignment("echo-a", {a_.address}), assignment("echo-b", {b_.address})));
  cp_.pushAndWait(xds::kRouteType, "1", anys(routeTo("outbound", "echo-a")));
  cp_.pushAndWait(xds::kListenerType, "1", anys(listener("outbound", "outbound")));
  waitReady();

  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::mutex mu;
  std::map<std::string, int> seen;
  std::string first_failure;
  auto load = [&] {
    HttpClient c(sidecar_.listeners.at("outbound"));
    for (int i = 0; i < 300; ++i) {
      std::string w = who(c);
      std::lock_guard<std::mutex> lock(mu);
      if (w != "echo-a" && w != "echo-b") {
        if (failures++ == 0) {
          first_failure = w;
        }
      }
      seen[w]++;
    }
    done++;
  };
  std::thread t1(load);
  std::thread t2(load);
  // Alternate the route while the load runs. Every other version adds a route configuration
  // named before "outbound", so "outbound" changes position among the snapshot's route tables
  // (a connection must look its listener up in each stream's own snapshot).
  int version = 2;
  while (done.load() < 2 && version < 200) {
    bool to_b = version % 2 == 0;
    std::vector<google::protobuf::Any> routes =
        to_b
            ? anys(routeTo("aaa-first", "echo-a", "nothing.invalid"), routeTo("outbound", "echo-b"))
            : anys(routeTo("outbound", "echo-a"));
    auto ack = cp_.pushAndWait(xds::kRouteType, std::to_string(version), routes);
    EXPECT_FALSE(ack.has_error_detail()) << ack.error_detail().message();
    ++version;
    std::this_thread::sleep_for(5ms);
  }
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0) << "first failure: " << first_failure;
  EXPECT_GT(version, 4) << "too few route changes during the load";
  EXPECT_GT(seen["echo-a"], 0);
  EXPECT_GT(seen["echo-b"], 0);
}

// ---- XdsClient in process: keepalive with short intervals ------------------------------------

class NullDelegate : public sidecar::XdsClient::Delegate {
 public:
  common::Status applyResources(const sidecar::DynamicResources&) override {
    return common::Status::ok();
  }
  void onUpdateAccepted() override {}
};

// An XdsClient on its own loop thread.
class InProcessClient {
 public:
  InProcessClient(const std::string& address, uint64_t ping_ms, uint64_t dead_ms) : stats_(1) {
    sidecar::XdsClient::Options o;
    o.addresses = {address};
    o.node.set_id("in-process");
    o.ping_interval_ms = ping_ms;
    o.dead_after_ms = dead_ms;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 50;
    client_ = std::make_unique<sidecar::XdsClient>(loop_, stats_, stats_.shard(0), std::move(o),
                                                   delegate_);
    client_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~InProcessClient() {
    std::promise<void> stopped;
    loop_.post([&] {
      client_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    loop_.stop();
    thread_.join();
    client_.reset();
    EXPECT_EQ(loop_.closeAll(), 0);
  }
  int64_t stat(std::string_view name) const { return stats_.valueOf(name); }

 private:
  common::EventLoop loop_;
  common::StatsStore stats_;
  NullDelegate delegate_;
  std::unique_ptr<sidecar::XdsClient> client_;
  std::thread thread_;
};

TEST(XdsClientKeepaliveTest, PingsWhenIdleAndAnswersPings) {
  FakeControlPlane cp;  // answers the client's pings, so the connection stays up
  InProcessClient client(cp.address(), 30, 2000);
  ASSERT_TRUE(cp.waitInitial(xds::kListenerType, 0).has_value());
  EXPECT_TRUE(eventually([&] { return cp.pingsReceived() >= 3; }, 3s));
  v1::Ping ping;
  ping.set_id(42);
  cp.send(xds::FrameKind::kPing, ping);
  EXPECT_TRUE(eventually([&] { return cp.pongReceived(42); }, 3s));
  EXPECT_EQ(cp.connectionsAccepted(), 1u) << "a live peer is never dropped";
  EXPECT_EQ(client.stat("remora_xds_connected"), 1);
}

TEST(XdsClientKeepaliveTest, ASilentPeerIsDroppedAndTheClientReconnects) {
  FakeControlPlane cp(/*answer_pings=*/false);  // says nothing after the 101
  InProcessClient client(cp.address(), 30, 300);
  ASSERT_TRUE(cp.waitInitial(xds::kClusterType, 0).has_value());
  EXPECT_TRUE(cp.waitInitial(xds::kClusterType, 1, 3s).has_value())
      << "no reconnect after the peer fell silent";
  EXPECT_GE(client.stat("remora_xds_reconnects_total"), 1);
}

TEST(XdsClientKeepaliveTest, AnAnswerOtherThan101IsRetriedWithBackoff) {
  // A plain HTTP server that answers 404 to everything: the client keeps trying.
  common::EventLoop loop;
  std::atomic<int> hits{0};
  common::HttpServer server(loop, [&](common::HttpRequest&, common::Responder r) {
    hits++;
    r.respond(404, "no xds here\n");
  });
  ASSERT_TRUE(server.listen("127.0.0.1:0").isOk());
  std::string address = server.boundAddress().toString();
  std::thread t([&] { loop.run(); });
  {
    InProcessClient client(address, 1000, 5000);
    EXPECT_TRUE(eventually([&] { return hits.load() >= 3; }, 5s));
    EXPECT_EQ(client.stat("remora_xds_connected"), 0);
  }
  std::promise<void> closed;
  loop.post([&] {
    server.close();
    closed.set_value();
  });
  closed.get_future().wait();
  loop.stop();
  t.join();
  loop.closeAll();
}

}  // namespace
}  // namespace remora::test
