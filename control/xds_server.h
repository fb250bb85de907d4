#pragma once
// The control plane's xDS endpoint: one upgraded HTTP/1.1 connection per sidecar
// (xds/framing.h), state of the world per type with ACK/NACK bookkeeping (xds/xds_state.h),
// deltas for endpoints, keepalive pings. See docs/xds.md and docs/control-plane.md.
//
// Push rules, per proxy:
//  - nothing is sent for a type before the proxy subscribed to it (its first request);
//  - a type is sent when the version the proxy should run differs from the one last sent on
//    this connection (or the proxy asked again: a new subscription, a NACKed delta);
//  - at most one response per type is in flight (sent, not yet ACKed/NACKed); while one is, the
//    types after it in kPushOrder wait too, so a proxy never gets a route before the cluster
//    and endpoints it names;
//  - endpoints go as a delta (only the ClusterLoadAssignments that changed, and the names that
//    are gone) once the proxy holds a full set from this connection and has not NACKed since.
// Limits on peers (nobody is authenticated on this port; see docs/control-plane.md "Limits"):
//  - at most max_connections connections; one more is closed at accept and counted;
//  - until a peer has sent a DiscoveryRequest with a node id, its frames may be at most
//    anonymous_max_frame_bytes long, and it must have done so within frame_timeout_ms of the
//    connect; after that, frames up to max_frame_bytes;
//  - a frame must arrive whole within frame_timeout_ms of its first byte (a peer dripping a
//    frame cannot hold its buffer);
//  - the HTTP upgrade request itself must arrive within frame_timeout_ms.
// Each refusal is counted in remora_control_xds_refused_total{reason}.
// Threading: everything on the loop thread of `loop`.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/stats.h"
#include "common/timer.h"
#include "control/config_cache.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "remora/control/v1/api.pb.h"

namespace remora::control {

class XdsServer {
 public:
  struct Options {
    uint64_t ping_interval_ms = 5000;   // a Ping after this long without sending anything
    uint64_t peer_timeout_ms = 15000;   // close after this long without a byte from the proxy
    size_t max_connections = 2048;      // --xds-max-connections
    uint64_t frame_timeout_ms = 10000;  // --xds-frame-timeout (frames, identification, upgrade)
    uint32_t anonymous_max_frame_bytes = 64 * 1024;
    uint32_t max_frame_bytes = 16u * 1024 * 1024;  // xds::kDefaultMaxFrameBytes
  };
  // The resources a proxy should run; nullopt while the control plane has no config yet.
  using ResourcesFor = std::function<std::optional<ProxyResources>(const config::v1::Node&)>;
  // Called after a proxy connected (identified by its first request) or disconnected.
  using ProxiesChanged = std::function<void()>;

  XdsServer(common::EventLoop& loop, common::StatsStore& stats, ResourcesFor resources_for,
            Options options);
  ~XdsServer();

  // Binds "IP:PORT" (port 0: any).
  common::Status listen(const std::string& address);
  const common::SocketAddress& boundAddress() const noexcept { return http_.boundAddress(); }
  void onProxiesChanged(ProxiesChanged cb) { proxies_changed_ = std::move(cb); }

  // The config changed: sends every connected proxy what changed for it. Returns the bytes
  // written.
  uint64_t pushAll();

  // /v1/proxies (sorted by namespace, service, node id).
  control::v1::ProxiesResponse proxies() const;
  size_t proxyCount() const noexcept { return proxies_.size(); }
  // Connected proxies of one Service.
  size_t proxyCountOf(const std::string& ns, const std::string& service) const;
  // The admin addresses the proxies reported, with their namespace/service (for /v1/stats).
  std::vector<std::pair<std::string, std::string>> adminAddresses() const;

  // Closes the listener and every connection.
  void close();

 private:
  struct Proxy;
  void onUpgrade(common::HttpRequest& req, common::Responder r);
  void onData(Proxy& p, std::string_view data);
  void onRequest(Proxy& p, std::string_view payload);
  uint64_t push(Proxy& p);
  void write(Proxy& p, std::string frame);
  void tick();
  // Counts a refusal, logs it (logRefusal) and closes the connection (RST).
  void refuse(Proxy& p, std::string_view reason, const std::string& why);
  // A warning, at most one a second; the next one says how many were left out.
  void logRefusal(const std::string& line);
  common::Counter refusedCounter(std::string_view reason);

  common::EventLoop& loop_;
  common::StatsStore& stats_;
  ResourcesFor resources_for_;
  Options options_;
  ProxiesChanged proxies_changed_;
  common::HttpServer http_;
  common::Timer keepalive_;
  std::map<uint64_t, std::unique_ptr<Proxy>> proxies_;  // by connection id
  uint64_t next_id_ = 0;
  // Delta bodies by "from version/to version", shared by every proxy making the same move;
  // cleared on every pushAll().
  std::map<std::string, std::string> delta_bodies_;
  // Per type, the version of the last set logged as too big to send: one line per set, not one
  // per proxy and push (/v1/status and the metrics keep reporting it).
  std::string unsent_logged_[kTypeCount];

  common::Gauge connected_;
  common::Counter bytes_sent_;
  common::Counter responses_[kTypeCount][2];  // [type][0 full, 1 delta]
  common::Counter acks_[kTypeCount];
  common::Counter nacks_[kTypeCount];
  common::Counter refused_connection_limit_;
  uint64_t last_refusal_log_ms_ = 0;
  uint64_t refusals_not_logged_ = 0;
};

}  // namespace remora::control
