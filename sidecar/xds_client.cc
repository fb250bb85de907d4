#include "sidecar/xds_client.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "common/logging.h"

namespace remora::sidecar {

using common::Status;
namespace v1 = remora::xds::v1;

namespace {

// Position of `type_url` in kPushOrder, or -1.
int typeIndex(std::string_view type_url) {
  for (size_t i = 0; i < xds::kPushOrder.size(); ++i) {
    if (xds::kPushOrder[i] == type_url) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

// A host-name lookup in flight. libuv owns it until the callback, which frees it; the client
// only forgets it (owner = nullptr) when it gives up on the attempt.
struct XdsClient::Resolve {
  uv_getaddrinfo_t req;
  XdsClient* owner = nullptr;
  uint16_t port = 0;
};

XdsClient::XdsClient(common::EventLoop& loop, common::StatsStore& stats, common::StatsShard& shard,
                     Options options, Delegate& delegate)
    : loop_(loop),
      shard_(shard),
      options_(std::move(options)),
      delegate_(delegate),
      rng_(std::random_device{}()),
      retry_timer_(loop.uv(), [this] { connectNext(); }),
      keepalive_timer_(loop.uv(), [this] { onKeepalive(); }) {
  for (size_t i = 0; i < kTypes; ++i) {
    std::string_view type_url = xds::kPushOrder[i];
    types_.emplace_back(type_url);
    std::string name(xds::typeShortName(type_url));
    accepted_[i] =
        stats.counter("remora_xds_updates_total", {{"type", name}, {"result", "accepted"}});
    rejected_[i] =
        stats.counter("remora_xds_updates_total", {{"type", name}, {"result", "rejected"}});
  }
  connected_gauge_ = stats.gauge("remora_xds_connected");
  reconnects_ = stats.counter("remora_xds_reconnects_total");
}

XdsClient::~XdsClient() {
  stop();
}

void XdsClient::start() {
  if (phase_ != Phase::kIdle || options_.addresses.empty()) {
    return;
  }
  connectNext();
}

void XdsClient::stop() {
  if (phase_ == Phase::kStopped) {
    return;
  }
  closeConnection();
  retry_timer_.stop();
  phase_ = Phase::kStopped;
}

bool XdsClient::allTypesAccepted() const noexcept {
  return std::all_of(status_.begin(), status_.end(),
                     [](const TypeStatus& s) { return s.accepted; });
}

// ---- connecting ----------------------------------------------------------------------------

void XdsClient::connectNext() {
  if (phase_ == Phase::kStopped) {
    return;
  }
  if (attempted_) {
    shard_.add(reconnects_);
  }
  attempted_ = true;
  current_address_ = options_.addresses[next_address_];
  next_address_ = (next_address_ + 1) % options_.addresses.size();
  last_recv_ms_ = last_sent_ms_ = loop_.nowMs();
  armKeepalive();

  auto ip = common::parseSocketAddress(current_address_);
  if (ip.isOk()) {
    connectTo(ip.value());
    return;
  }
  // HOST:PORT with a DNS name (validated by the options): resolve it on libuv's thread pool.
  size_t colon = current_address_.rfind(':');
  std::string host = current_address_.substr(0, colon);
  auto* r = new Resolve;
  r->owner = this;
  r->port = static_cast<uint16_t>(std::stoi(current_address_.substr(colon + 1)));
  r->req.data = r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  phase_ = Phase::kResolving;
  resolving_ = r;
  int rc = uv_getaddrinfo(
      loop_.uv(), &r->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* r = static_cast<Resolve*>(req->data);
        XdsClient* owner = r->owner;
        if (owner != nullptr) {
          owner->resolving_ = nullptr;
          if (status == 0 && res != nullptr) {
            common::SocketAddress a = common::fromSockaddr(res->ai_addr);
            a.setPort(r->port);
            owner->onResolved(0, &a);
          } else {
            owner->onResolved(status != 0 ? status : UV_EAI_NONAME, nullptr);
          }
        }
        uv_freeaddrinfo(res);
        delete r;
      },
      host.c_str(), nullptr, &hints);
  if (rc != 0) {
    resolving_ = nullptr;
    delete r;
    fail(std::string("cannot resolve: ") + uv_strerror(rc));
  }
}

void XdsClient::onResolved(int status, const common::SocketAddress* address) {
  if (status != 0 || address == nullptr) {
    fail(std::string("cannot resolve: ") + uv_strerror(status));
    return;
  }
  connectTo(*address);
}

void XdsClient::connectTo(const common::SocketAddress& address) {
  phase_ = Phase::kConnecting;
  conn_ = std::make_unique<common::TcpConnection>(loop_, *this);
  int rc = conn_->connect(address);
  if (rc != 0) {
    fail(std::string("connect: ") + uv_strerror(rc));
    return;
  }
  http::ClientConnectionCallbacks& callbacks = *this;
  codec_ = std::make_unique<http1::ClientConnection>(*conn_, callbacks);
  handshake_status_ = 0;
  handshake_upgrade_.clear();
  handshake_answered_ = false;
  inbound_.clear();
  // Queued until the connect completes.
  http::RequestHead head;
  head.method.assign("GET");
  head.path.assign(xds::kXdsPath);
  head.upgrade = true;  // the codec adds `Connection: Upgrade`
  head.headers.add("Host", current_address_);
  head.headers.add("Upgrade", xds::kXdsUpgradeToken);
  codec_->newStream(*this).encodeHeaders(head, false);
}

void XdsClient::onConnected(int status) noexcept {
  if (status != 0) {
    fail(std::string("connect: ") + uv_strerror(status));
    return;
  }
  phase_ = Phase::kHandshake;
  conn_->readStart();
}

void XdsClient::decodeHeaders(http::ResponseHead& head, bool) noexcept {
  handshake_answered_ = true;
  handshake_status_ = head.status;
  handshake_upgrade_ = std::string(head.headers.get("upgrade"));
}

void XdsClient::decodeData(std::string_view data, bool) noexcept {
  inbound_.append(data);
}

void XdsClient::onData(const char* data, size_t len) noexcept {
  last_recv_ms_ = loop_.nowMs();
  if ((phase_ != Phase::kHandshake && phase_ != Phase::kStreaming) || !codec_) {
    return;
  }
  if (!codec_->dispatch(data, len)) {
    fail(std::string("bad answer to the upgrade: ") + std::string(codec_->errorDetail()));
    return;
  }
  if (phase_ == Phase::kHandshake) {
    if (!handshake_answered_) {
      return;
    }
    if (handshake_status_ != 101 || !codec_->tunnel() ||
        !common::equalsIgnoreCase(handshake_upgrade_, xds::kXdsUpgradeToken)) {
      fail("the control plane answered the upgrade with " + std::to_string(handshake_status_) +
           (handshake_status_ == 101 ? " (Upgrade: '" + handshake_upgrade_ + "')"
                                     : std::string(" instead of 101")));
      return;
    }
    uint64_t id = connection_id_;
    onUpgraded();
    if (id != connection_id_) {
      return;
    }
  }
  if (!inbound_.empty()) {
    std::string bytes;
    bytes.swap(inbound_);
    feedFrames(bytes);
    if (inbound_.empty()) {
      bytes.clear();
      inbound_.swap(bytes);  // keep the capacity
    }
  }
}

void XdsClient::onEof() noexcept {
  fail("the control plane closed the connection");
}

void XdsClient::onError(int uv_err) noexcept {
  fail(std::string("connection error: ") + uv_strerror(uv_err));
}

void XdsClient::onUpgraded() {
  phase_ = Phase::kStreaming;
  decoder_ = std::make_unique<xds::FrameDecoder>(options_.max_frame_bytes);
  shard_.add(connected_gauge_, 1);
  spdlog::info("xds: connected to {}", current_address_);
  for (size_t i = 0; i < kTypes; ++i) {
    send(xds::FrameKind::kDiscoveryRequest, types_[i].initialRequest(options_.node, {}));
  }
  armKeepalive();  // from now on Pings are due too
}

// ---- frames --------------------------------------------------------------------------------

void XdsClient::feedFrames(std::string_view bytes) {
  uint64_t id = connection_id_;
  decoder_->feed(bytes);
  for (;;) {
    auto r = decoder_->next();
    if (!r.isOk()) {
      fail("protocol error: " + r.status().message());
      return;
    }
    if (!r.value()) {
      return;
    }
    handleFrame(*r.value());
    if (id != connection_id_) {
      return;  // the frame closed the connection
    }
  }
}

void XdsClient::handleFrame(const xds::Frame& frame) {
  const std::string_view p = frame.payload;
  const int size = static_cast<int>(p.size());
  switch (frame.kind) {
    case xds::FrameKind::kDiscoveryResponse: {
      v1::DiscoveryResponse response;
      if (!response.ParseFromArray(p.data(), size)) {
        fail("protocol error: a DiscoveryResponse that does not parse");
        return;
      }
      handleResponse(response);
      return;
    }
    case xds::FrameKind::kDeltaDiscoveryResponse: {
      v1::DeltaDiscoveryResponse delta;
      if (!delta.ParseFromArray(p.data(), size)) {
        fail("protocol error: a DeltaDiscoveryResponse that does not parse");
        return;
      }
      handleDelta(delta);
      return;
    }
    case xds::FrameKind::kPing: {
      v1::Ping ping;
      if (!ping.ParseFromArray(p.data(), size)) {
        fail("protocol error: a Ping that does not parse");
        return;
      }
      v1::Pong pong;
      pong.set_id(ping.id());
      send(xds::FrameKind::kPong, pong);
      return;
    }
    case xds::FrameKind::kPong:
      return;  // last_recv_ms_ is already updated
    case xds::FrameKind::kDiscoveryRequest:
      fail("protocol error: the control plane sent a DiscoveryRequest");
      return;
  }
}

void XdsClient::handleResponse(const v1::DiscoveryResponse& response) {
  int t = typeIndex(response.type_url());
  if (t < 0) {
    spdlog::warn("xds: ignoring a response of unknown type {}",
                 common::logValue(response.type_url()));
    return;
  }
  got_response_ = true;
  DynamicResources pending = resources_;
  Status s = replaceResources(response.type_url(), response.resources(), pending);
  if (s.isOk()) {
    s = delegate_.applyResources(pending);
  }
  auto& state = types_[static_cast<size_t>(t)];
  if (s.isOk()) {
    resources_ = std::move(pending);
    finishUpdate(static_cast<size_t>(t), s, response.nonce(), state.ack(response));
  } else {
    finishUpdate(static_cast<size_t>(t), s, response.nonce(), state.nack(response, s));
  }
}

void XdsClient::handleDelta(const v1::DeltaDiscoveryResponse& delta) {
  int t = typeIndex(delta.type_url());
  if (t < 0) {
    spdlog::warn("xds: ignoring a delta of unknown type {}", common::logValue(delta.type_url()));
    return;
  }
  got_response_ = true;
  auto& state = types_[static_cast<size_t>(t)];
  Status s;
  DynamicResources pending;
  if (delta.type_url() != xds::kEndpointType) {
    s = Status::invalid("deltas are only for endpoints, not " + delta.type_url());
  } else if (!state.deltaApplies()) {
    s = Status::invalid(
        "delta refused: no full response was accepted on this connection since the last "
        "rejection");
  } else {
    pending = resources_;
    s = applyEndpointDelta(delta, pending);
    if (s.isOk()) {
      s = delegate_.applyResources(pending);
    }
  }
  if (s.isOk()) {
    resources_ = std::move(pending);
    finishUpdate(static_cast<size_t>(t), s, delta.nonce(), state.ack(delta));
  } else {
    finishUpdate(static_cast<size_t>(t), s, delta.nonce(), state.nack(delta, s));
  }
}

void XdsClient::finishUpdate(size_t t, const Status& result, const std::string& nonce,
                             const v1::DiscoveryRequest& answer) {
  std::string_view type = xds::typeShortName(xds::kPushOrder[t]);
  TypeStatus& st = status_[t];
  if (result.isOk()) {
    st.version = answer.version_info();
    st.nonce = nonce;
    st.last_error.clear();
    st.accepted = true;
    shard_.add(accepted_[t]);
    spdlog::info("xds: accepted {} version {} (nonce {})", type, common::logValue(st.version),
                 common::logValue(nonce));
  } else {
    st.last_error = result.message();
    shard_.add(rejected_[t]);
    spdlog::warn("xds: rejected {} (nonce {}): {}", type, common::logValue(nonce),
                 common::logValue(result.message(), 1024));
  }
  send(xds::FrameKind::kDiscoveryRequest, answer);
  if (result.isOk()) {
    delegate_.onUpdateAccepted();
  }
}

void XdsClient::send(xds::FrameKind kind, const google::protobuf::MessageLite& message) {
  if (!conn_) {
    return;
  }
  out_.clear();
  Status s = xds::appendFrame(kind, message, out_, options_.max_frame_bytes);
  if (!s.isOk()) {
    spdlog::error("xds: cannot send a {}: {}", xds::frameKindName(kind), s.message());
    return;
  }
  conn_->write(out_);
  last_sent_ms_ = loop_.nowMs();
}

// ---- failures, reconnects, keepalive -------------------------------------------------------

void XdsClient::fail(const std::string& why) {
  if (phase_ == Phase::kStopped) {
    return;
  }
  spdlog::warn("xds: {}: {}; reconnecting", current_address_, why);
  closeConnection();
  scheduleReconnect();
}

void XdsClient::closeConnection() {
  ++connection_id_;
  if (resolving_ != nullptr) {
    resolving_->owner = nullptr;  // its callback frees it
    resolving_ = nullptr;
  }
  codec_.reset();  // before the connection it writes to
  if (conn_) {
    conn_->close();
    conn_.reset();
  }
  inbound_.clear();
  decoder_.reset();
  keepalive_timer_.stop();
  if (phase_ == Phase::kStreaming) {
    shard_.add(connected_gauge_, -1);
  }
  phase_ = Phase::kIdle;
}

void XdsClient::scheduleReconnect() {
  if (got_response_) {
    failures_ = 0;
  }
  got_response_ = false;
  uint64_t cap = options_.backoff_base_ms << std::min<uint32_t>(failures_, 20);
  cap = std::min(cap, options_.backoff_max_ms);
  ++failures_;
  uint64_t delay = cap == 0 ? 0 : rng_() % (cap + 1);
  retry_timer_.start(delay);
}

void XdsClient::armKeepalive() {
  uint64_t now = loop_.nowMs();
  uint64_t due = last_recv_ms_ + options_.dead_after_ms;
  if (phase_ == Phase::kStreaming) {
    due = std::min(due, last_sent_ms_ + options_.ping_interval_ms);
  }
  keepalive_timer_.start(due > now ? due - now : 1);
}

void XdsClient::onKeepalive() {
  uint64_t now = loop_.nowMs();
  if (now - last_recv_ms_ >= options_.dead_after_ms) {
    fail("nothing from the control plane for " + std::to_string(now - last_recv_ms_) + " ms");
    return;
  }
  if (phase_ == Phase::kStreaming && now - last_sent_ms_ >= options_.ping_interval_ms) {
    v1::Ping ping;
    ping.set_id(++ping_id_);
    send(xds::FrameKind::kPing, ping);
  }
  armKeepalive();
}

}  // namespace remora::sidecar
