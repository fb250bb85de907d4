#include "control/xds_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "common/logging.h"
#include "common/time_format.h"
#include "remora/xds/v1/discovery.pb.h"
#include "xds/framing.h"
#include "xds/resource_types.h"
#include "xds/xds_state.h"

namespace remora::control {

namespace xv1 = remora::xds::v1;
using common::logValue;
using common::Status;

namespace {
common::HttpServer::Options httpOptions(const XdsServer::Options& o) {
  common::HttpServer::Options h;
  h.max_body_bytes = 4096;  // the upgrade request has no body
  h.request_timeout_ms = o.frame_timeout_ms;
  h.max_connections = o.max_connections;
  return h;
}
}  // namespace

struct XdsServer::Proxy {
  uint64_t id = 0;
  common::Tunnel* tunnel = nullptr;  // valid until the tunnel's on_close
  xds::FrameDecoder decoder;
  uint64_t frame_started_ms = 0;  // first byte of the partial frame in `decoder`; 0: none
  xds::NonceSequence nonces;
  config::v1::Node node;
  bool identified = false;
  std::string peer;
  std::time_t connected_at = 0;
  uint64_t connected_ms = 0;
  uint64_t last_rx_ms = 0;
  uint64_t last_tx_ms = 0;
  uint64_t next_ping_id = 0;
  bool subscribed[kTypeCount] = {};
  ResourceSetPtr sent[kTypeCount];
  std::vector<xds::ServerTypeState> types;

  Proxy() {
    for (std::string_view t : xds::kPushOrder) {
      types.emplace_back(t);
    }
  }
};

XdsServer::XdsServer(common::EventLoop& loop, common::StatsStore& stats, ResourcesFor resources_for,
                     Options options)
    : loop_(loop),
      stats_(stats),
      resources_for_(std::move(resources_for)),
      options_(options),
      http_(
          loop, [this](common::HttpRequest& req, common::Responder r) { onUpgrade(req, r); },
          httpOptions(options_)),
      keepalive_(loop.uv(), [this] { tick(); }) {
  connected_ = stats_.gauge("remora_control_proxies_connected");
  bytes_sent_ = stats_.counter("remora_control_xds_bytes_sent_total");
  for (size_t i = 0; i < kTypeCount; ++i) {
    std::string type(typeShortName(i));
    responses_[i][0] =
        stats_.counter("remora_control_xds_responses_total", {{"type", type}, {"kind", "full"}});
    responses_[i][1] =
        stats_.counter("remora_control_xds_responses_total", {{"type", type}, {"kind", "delta"}});
    acks_[i] = stats_.counter("remora_control_xds_acks_total", {{"type", type}});
    nacks_[i] = stats_.counter("remora_control_xds_nacks_total", {{"type", type}});
  }
  for (std::string_view reason : {"connection_limit", "frame_too_large", "frame_timeout",
                                  "not_identified", "bad_frame", "handshake"}) {
    (void)refusedCounter(reason);
  }
  refused_connection_limit_ = refusedCounter("connection_limit");
  http_.onRefused([this](int status) {
    if (status != 0) {
      stats_.shard(0).add(refusedCounter("handshake"));
      return;
    }
    stats_.shard(0).add(refused_connection_limit_);
    logRefusal("xds: a connection refused: the limit of " +
               std::to_string(options_.max_connections) +
               " connections is reached (--xds-max-connections)");
  });
}

void XdsServer::logRefusal(const std::string& line) {
  // A flood of bad peers must not flood the log: one line a second at most, and that line says
  // how many were left out before it.
  const uint64_t now = loop_.nowMs();
  if (last_refusal_log_ms_ != 0 && now - last_refusal_log_ms_ < 1000) {
    ++refusals_not_logged_;
    return;
  }
  if (refusals_not_logged_ > 0) {
    spdlog::warn("{} ({} more refusal(s) not logged)", line, refusals_not_logged_);
  } else {
    spdlog::warn("{}", line);
  }
  last_refusal_log_ms_ = now;
  refusals_not_logged_ = 0;
}

common::Counter XdsServer::refusedCounter(std::string_view reason) {
  return stats_.counter("remora_control_xds_refused_total", {{"reason", std::string(reason)}});
}

void XdsServer::refuse(Proxy& p, std::string_view reason, const std::string& why) {
  stats_.shard(0).add(refusedCounter(reason));
  logRefusal("xds: " + (p.identified ? logValue(p.node.id()) : std::string("?")) + " (" + p.peer +
             "): " + why + "; closing");
  p.tunnel->close(true);
}

XdsServer::~XdsServer() {
  close();
}

Status XdsServer::listen(const std::string& address) {
  Status s = http_.listen(address);
  if (s.isOk()) {
    uint64_t every = std::max<uint64_t>(
        50,
        std::min({options_.ping_interval_ms, options_.peer_timeout_ms, options_.frame_timeout_ms}) /
            5);
    keepalive_.start(every, every);
  }
  return s;
}

void XdsServer::close() {
  keepalive_.stop();
  http_.close();
}

void XdsServer::onUpgrade(common::HttpRequest& req, common::Responder r) {
  if (req.path != xds::kXdsPath) {
    r.respond(404, "not found: the xDS endpoint is " + std::string(xds::kXdsPath) + "\n");
    return;
  }
  if (!req.upgrade || req.header("upgrade") != xds::kXdsUpgradeToken) {
    common::HttpResponse resp(426,
                              "xDS needs Upgrade: " + std::string(xds::kXdsUpgradeToken) + "\n");
    resp.headers.add("upgrade", std::string(xds::kXdsUpgradeToken));
    r.respond(std::move(resp));
    return;
  }
  const uint64_t id = ++next_id_;
  common::HttpResponse resp;
  resp.status = 101;
  resp.headers.add("upgrade", std::string(xds::kXdsUpgradeToken));
  common::TunnelHandler h;
  h.on_open = [this, id](common::Tunnel& t) {
    auto p = std::make_unique<Proxy>();
    p->id = id;
    p->decoder.setMaxFrameBytes(options_.anonymous_max_frame_bytes);
    p->tunnel = &t;
    p->peer = t.peer().toString();
    p->connected_at = std::time(nullptr);
    p->connected_ms = loop_.nowMs();
    p->last_rx_ms = p->last_tx_ms = p->connected_ms;
    proxies_[id] = std::move(p);
  };
  h.on_data = [this, id](common::Tunnel&, std::string_view data) {
    auto it = proxies_.find(id);
    if (it != proxies_.end()) {
      onData(*it->second, data);
    }
  };
  h.on_close = [this, id] {
    auto it = proxies_.find(id);
    if (it == proxies_.end()) {
      return;
    }
    const bool identified = it->second->identified;
    if (identified) {
      spdlog::info("xds: proxy {} ({}.{}) disconnected", logValue(it->second->node.id()),
                   logValue(it->second->node.service()), logValue(it->second->node.namespace_()));
      stats_.shard(0).add(connected_, -1);
    }
    proxies_.erase(it);
    if (identified && proxies_changed_) {
      proxies_changed_();
    }
  };
  r.upgrade(std::move(resp), std::move(h));
}

void XdsServer::onData(Proxy& p, std::string_view data) {
  p.last_rx_ms = loop_.nowMs();
  const bool had_partial = p.decoder.pendingBytes() > 0;
  bool took_frame = false;
  p.decoder.feed(data);
  const uint64_t id = p.id;
  for (;;) {
    auto next = p.decoder.next();
    if (!next.isOk()) {
      // "frame of N bytes is over the limit of M" (xds/framing.h) is the one size refusal.
      const bool too_large = next.status().message().rfind("frame of ", 0) == 0;
      refuse(p, too_large ? "frame_too_large" : "bad_frame",
             next.status().message() +
                 (too_large && !p.identified
                      ? " (the limit before the first DiscoveryRequest with a node)"
                      : ""));
      return;
    }
    if (!next.value()) {
      // A partial frame's deadline runs from its first byte: this read's if it began here.
      if (p.decoder.pendingBytes() == 0) {
        p.frame_started_ms = 0;
      } else if (took_frame || !had_partial) {
        p.frame_started_ms = p.last_rx_ms;
      }
      return;
    }
    took_frame = true;
    const xds::Frame& f = *next.value();
    switch (f.kind) {
      case xds::FrameKind::kDiscoveryRequest:
        onRequest(p, f.payload);
        break;
      case xds::FrameKind::kPing: {
        xv1::Ping ping;
        ping.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size()));
        xv1::Pong pong;
        pong.set_id(ping.id());
        std::string frame;
        (void)xds::appendFrame(xds::FrameKind::kPong, pong, frame);
        write(p, std::move(frame));
        break;
      }
      case xds::FrameKind::kPong:
        break;
      default:
        refuse(p, "bad_frame",
               "a sidecar sent a " + std::string(xds::frameKindName(f.kind)) + " frame");
        return;
    }
    // Handling a frame may close the connection (and erase the proxy).
    if (proxies_.find(id) == proxies_.end() || p.tunnel->closed()) {
      return;
    }
  }
}

void XdsServer::onRequest(Proxy& p, std::string_view payload) {
  xv1::DiscoveryRequest req;
  if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    refuse(p, "bad_frame", "a DiscoveryRequest that does not parse");
    return;
  }
  if (req.has_node() && !req.node().id().empty()) {
    const bool first = !p.identified;
    p.node = req.node();
    if (p.node.namespace_().empty()) {
      p.node.set_namespace_("default");
    }
    p.identified = true;
    if (first) {
      p.decoder.setMaxFrameBytes(options_.max_frame_bytes);
      spdlog::info("xds: proxy {} ({}.{}) connected from {}", logValue(p.node.id()),
                   logValue(p.node.service()), logValue(p.node.namespace_()), p.peer);
      stats_.shard(0).add(connected_, 1);
      if (proxies_changed_) {
        proxies_changed_();
      }
    }
  }
  if (!p.identified) {
    refuse(p, "not_identified", "the first request carries no node id");
    return;
  }
  const size_t idx = typeIndex(req.type_url());
  if (idx == kTypeCount) {
    spdlog::warn("xds: proxy {} asked for unknown type '{}'; ignored", logValue(p.node.id()),
                 logValue(req.type_url()));
    return;
  }
  xds::RequestKind kind = p.types[idx].apply(req);
  p.subscribed[idx] = true;
  switch (kind) {
    case xds::RequestKind::kAck:
      stats_.shard(0).add(acks_[idx]);
      spdlog::debug("xds: proxy {} ACKed {} {}", logValue(p.node.id()), typeShortName(idx),
                    logValue(req.version_info()));
      break;
    case xds::RequestKind::kNack:
      stats_.shard(0).add(nacks_[idx]);
      spdlog::warn("xds: proxy {} rejected {} (runs {}): {}", logValue(p.node.id()),
                   typeShortName(idx),
                   req.version_info().empty() ? "nothing yet" : logValue(req.version_info()),
                   logValue(req.error_detail().message(), 1024));
      break;
    case xds::RequestKind::kStale:
      return;
    case xds::RequestKind::kInitial:
      break;
  }
  push(p);
}

uint64_t XdsServer::push(Proxy& p) {
  if (!p.identified || p.tunnel->closed()) {
    return 0;
  }
  std::optional<ProxyResources> sets = resources_for_(p.node);
  if (!sets) {
    return 0;
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < kTypeCount; ++i) {
    if (!p.subscribed[i]) {
      break;  // later types wait, so that the order holds
    }
    xds::ServerTypeState& st = p.types[i];
    const ResourceSet& set = *(*sets)[i];
    if (!st.needsPush(set.version())) {
      continue;
    }
    if (st.inFlight()) {
      break;  // sent when the answer to the one in flight arrives
    }
    std::string nonce = p.nonces.next();
    std::string frame;
    bool delta = false;
    if (i == kEndpointsIndex && !st.needsFullState() && p.sent[i]) {
      const std::string key = p.sent[i]->version() + "/" + set.version();
      auto it = delta_bodies_.find(key);
      if (it == delta_bodies_.end()) {
        it = delta_bodies_.emplace(key, deltaBody(*p.sent[i], set)).first;
      }
      frame = deltaFrame(it->second, nonce);
      delta = !frame.empty();
    }
    if (frame.empty()) {
      frame = responseFrame(set, nonce);
    }
    if (frame.empty()) {
      if (unsent_logged_[i] != set.version()) {
        unsent_logged_[i] = set.version();
        spdlog::error("xds: {} version {} (first for proxy {}) is over the frame limit; not sent",
                      typeShortName(i), set.version(), logValue(p.node.id()));
      }
      break;
    }
    st.recordSent(set.version(), nonce, delta ? xds::SentAs::kDelta : xds::SentAs::kFull);
    p.sent[i] = (*sets)[i];
    stats_.shard(0).add(responses_[i][delta ? 1 : 0]);
    bytes += frame.size();
    spdlog::debug("xds: proxy {} <- {} {} ({} bytes, nonce {})", logValue(p.node.id()),
                  delta ? "delta" : "full", typeShortName(i), frame.size(), nonce);
    write(p, std::move(frame));
  }
  return bytes;
}

void XdsServer::write(Proxy& p, std::string frame) {
  stats_.shard(0).add(bytes_sent_, frame.size());
  p.last_tx_ms = loop_.nowMs();
  p.tunnel->write(frame);
}

uint64_t XdsServer::pushAll() {
  delta_bodies_.clear();
  uint64_t bytes = 0;
  // push() never closes a connection, so iterating is safe.
  for (auto& [id, p] : proxies_) {
    bytes += push(*p);
  }
  return bytes;
}

void XdsServer::tick() {
  const uint64_t now = loop_.nowMs();
  std::vector<common::Tunnel*> dead;
  std::vector<std::pair<uint64_t, std::string_view>> refused;  // by connection id
  for (auto& [id, p] : proxies_) {
    if (p->frame_started_ms != 0 && now - p->frame_started_ms >= options_.frame_timeout_ms) {
      refused.emplace_back(id, "frame_timeout");
    } else if (!p->identified && p->frame_started_ms == 0 &&
               now - p->connected_ms >= options_.frame_timeout_ms) {
      // (A peer in the middle of its first frame is cut by the frame deadline above, which
      // names what went wrong: connected and sending, but too slowly.)
      refused.emplace_back(id, "not_identified");
    } else if (now - p->last_rx_ms >= options_.peer_timeout_ms) {
      spdlog::warn("xds: proxy {} ({}) silent for {} ms; closing",
                   p->identified ? logValue(p->node.id()) : "?", p->peer, now - p->last_rx_ms);
      dead.push_back(p->tunnel);
    } else if (now - p->last_tx_ms >= options_.ping_interval_ms) {
      xv1::Ping ping;
      ping.set_id(++p->next_ping_id);
      std::string frame;
      (void)xds::appendFrame(xds::FrameKind::kPing, ping, frame);
      write(*p, std::move(frame));
    }
  }
  for (common::Tunnel* t : dead) {
    t->close(true);
  }
  // refuse() closes at once, and on_close erases the proxy: look each one up again.
  for (auto [id, reason] : refused) {
    auto it = proxies_.find(id);
    if (it == proxies_.end() || it->second->tunnel->closed()) {
      continue;
    }
    Proxy& p = *it->second;
    refuse(p, reason,
           reason == "frame_timeout"
               ? "a frame did not arrive whole within " +
                     std::to_string(options_.frame_timeout_ms) + " ms (--xds-frame-timeout)"
               : "no DiscoveryRequest with a node id within " +
                     std::to_string(options_.frame_timeout_ms) + " ms of the connect");
  }
}

control::v1::ProxiesResponse XdsServer::proxies() const {
  std::vector<const Proxy*> list;
  for (const auto& [id, p] : proxies_) {
    if (p->identified) {
      list.push_back(p.get());
    }
  }
  std::sort(list.begin(), list.end(), [](const Proxy* a, const Proxy* b) {
    return std::tie(a->node.namespace_(), a->node.service(), a->node.id(), a->id) <
           std::tie(b->node.namespace_(), b->node.service(), b->node.id(), b->id);
  });
  control::v1::ProxiesResponse out;
  const uint64_t now = const_cast<common::EventLoop&>(loop_).nowMs();
  for (const Proxy* p : list) {
    control::v1::Proxy* o = out.add_proxies();
    o->set_node_id(p->node.id());
    o->set_service(p->node.service());
    o->set_namespace_(p->node.namespace_());
    o->mutable_labels()->insert(p->node.labels().begin(), p->node.labels().end());
    o->set_peer(p->peer);
    o->set_admin(p->node.admin_address());
    o->set_connected_since(common::rfc3339Utc(p->connected_at));
    o->set_connected_seconds((now - p->connected_ms) / 1000);
    xds::SyncStatus worst = xds::SyncStatus::kSynced;
    for (size_t i = 0; i < kTypeCount; ++i) {
      const xds::ServerTypeState& st = p->types[i];
      control::v1::TypeSync& ts = (*o->mutable_types())[std::string(typeShortName(i))];
      ts.set_sent(st.sentVersion());
      ts.set_acked(st.ackedVersion());
      ts.set_nonce(st.sentNonce());
      ts.set_error(st.lastError());
      xds::SyncStatus s = st.status();
      ts.set_status(std::string(xds::syncStatusName(s)));
      if (s == xds::SyncStatus::kNacked ||
          (s == xds::SyncStatus::kStale && worst == xds::SyncStatus::kSynced)) {
        worst = s;
      }
    }
    o->set_status(std::string(xds::syncStatusName(worst)));
  }
  return out;
}

size_t XdsServer::proxyCountOf(const std::string& ns, const std::string& service) const {
  size_t n = 0;
  for (const auto& [id, p] : proxies_) {
    if (p->identified && p->node.namespace_() == ns && p->node.service() == service) {
      ++n;
    }
  }
  return n;
}

std::vector<std::pair<std::string, std::string>> XdsServer::adminAddresses() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, p] : proxies_) {
    if (p->identified && !p->node.admin_address().empty()) {
      out.emplace_back(p->node.id(), p->node.admin_address());
    }
  }
  return out;
}

}  // namespace remora::control
