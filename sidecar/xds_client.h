#pragma once
// XdsClient: the sidecar's connection to the control plane in mesh mode (docs/xds.md,
// docs/control-plane.md "Sidecar in mesh mode"). Lives on the main thread's loop; every call and
// every Delegate call happen there.
//
// One connection at a time, to one address of the list: TCP connect (a host name is resolved at
// each attempt), the HTTP/1.1 Upgrade of xds/framing.h (spoken with the proxy's HTTP/1 client
// codec, common/http1/client_connection.h; bytes after the 101's head are frame bytes), then frames
// both ways. Once upgraded it sends one initial DiscoveryRequest per type in kPushOrder (wildcard:
// no names; the node as given, which carries the admin address) and answers every response from the
// control plane:
//  - DiscoveryResponse: the type's resources replace the ones held, on a copy of the whole
//    DynamicResources; Delegate::applyResources builds and installs the config for the copy.
//    OK: the copy becomes the held set and the response is ACKed. An error: NACK
//    (INVALID_ARGUMENT with the error's message); the held set and the running config stay.
//  - DeltaDiscoveryResponse (endpoints only): the same with the delta applied to the copy; NACKed
//    without being applied when ClientTypeState::deltaApplies() is false (no full response ACKed
//    on this connection, or a NACK since) or when it is not of the endpoints type.
//  - Ping: answered with a Pong of the same id. Pong: nothing (any frame shows the peer lives).
// A response of an unknown type is logged and ignored (there is no subscription to answer).
//
// Keepalive: a Ping once nothing was sent for `ping_interval_ms`; no byte from the peer for
// `dead_after_ms` (counted from the start of the connect, so it also bounds the connect and the
// handshake) closes the connection. A protocol error closes it too: an answer other than 101
// with `Upgrade: remora-xds/1`, a broken frame, a payload that does not parse, a frame kind the
// control plane never sends (DiscoveryRequest).
//
// Reconnect: after a delay drawn uniformly from [0, min(backoff_max_ms, backoff_base_ms * 2^n)]
// (full jitter), where n counts the attempts since the last connection that delivered a
// response, to the next address of the list (round robin). Nothing changes in the running config
// while disconnected; the accepted versions are sent again in the initial requests.
//
// Metrics, on the shard given (the main thread's): remora_xds_connected (1 while upgraded),
// remora_xds_updates_total{type,result} (type: clusters|endpoints|routes|listeners; result:
// accepted|rejected), remora_xds_reconnects_total (every connection attempt after the first).

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/http1/client_connection.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/status.h"
#include "common/tcp_connection.h"
#include "common/timer.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "sidecar/mesh_config.h"
#include "xds/framing.h"
#include "xds/resource_types.h"
#include "xds/xds_state.h"

namespace remora::sidecar {

class XdsClient final : public common::TcpConnection::Handler,
                        private http::ClientConnectionCallbacks,
                        private http::ResponseDecoder {
 public:
  class Delegate {
   public:
    // Builds and installs the config for `resources` (the whole set, one type changed). An
    // error rejects the update and must leave the running config as it was.
    virtual common::Status applyResources(const DynamicResources& resources) = 0;
    // A response was accepted (after its ACK was queued). allTypesAccepted() tells whether every
    // type has had one.
    virtual void onUpdateAccepted() = 0;

   protected:
    ~Delegate() = default;
  };

  struct Options {
    std::vector<std::string> addresses;  // HOST:PORT, at least one
    config::v1::Node node;               // sent in the initial requests
    uint64_t ping_interval_ms = 5000;
    uint64_t dead_after_ms = 15000;
    uint64_t backoff_base_ms = 100;
    uint64_t backoff_max_ms = 5000;
    uint32_t max_frame_bytes = xds::kDefaultMaxFrameBytes;
  };

  // What /config_dump shows per type.
  struct TypeStatus {
    std::string version;     // of the last accepted response (kept across reconnects)
    std::string nonce;       // of the last accepted response
    std::string last_error;  // message of the last NACK; cleared by the next accepted response
    bool accepted = false;   // a response of this type was accepted since start
  };

  static constexpr size_t kTypes = xds::kPushOrder.size();

  XdsClient(common::EventLoop& loop, common::StatsStore& stats, common::StatsShard& shard,
            Options options, Delegate& delegate);
  ~XdsClient();
  XdsClient(const XdsClient&) = delete;
  XdsClient& operator=(const XdsClient&) = delete;

  // Connects to the first address at once.
  void start();
  // Closes the connection and stops reconnecting (idempotent). Call before the loop's closeAll().
  void stop();

  bool connected() const noexcept { return phase_ == Phase::kStreaming; }
  // True once a response of every type was accepted (since start, across reconnects).
  bool allTypesAccepted() const noexcept;
  // By position in xds::kPushOrder.
  const TypeStatus& typeStatus(size_t i) const noexcept { return status_[i]; }
  // The address of the current (or last) connection attempt.
  const std::string& currentAddress() const noexcept { return current_address_; }
  // The resources last accepted.
  const DynamicResources& resources() const noexcept { return resources_; }

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override;
  void onError(int uv_err) noexcept override;
  void onConnected(int status) noexcept override;

 private:
  // http::ClientConnectionCallbacks
  void onGoAway() noexcept override {}
  // http::ResponseDecoder: the answer to the upgrade, then (after a 101) the frame bytes. They
  // are only recorded here; onData acts once the codec has returned (acting may close the
  // connection and free the codec).
  void decode1xxHeaders(http::ResponseHead&) noexcept override {}
  void decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view data, bool end_stream) noexcept override;
  void decodeTrailers(http::HeaderMap&) noexcept override {}

  enum class Phase : uint8_t { kIdle, kResolving, kConnecting, kHandshake, kStreaming, kStopped };
  struct Resolve;

  void connectNext();
  void connectTo(const common::SocketAddress& address);
  void onResolved(int status, const common::SocketAddress* address);
  void onUpgraded();
  void feedFrames(std::string_view bytes);
  void handleFrame(const xds::Frame& frame);
  void handleResponse(const remora::xds::v1::DiscoveryResponse& response);
  void handleDelta(const remora::xds::v1::DeltaDiscoveryResponse& delta);
  // Records the outcome of an update of type `t` and sends the ACK / NACK `answer`.
  void finishUpdate(size_t t, const common::Status& result, const std::string& nonce,
                    const remora::xds::v1::DiscoveryRequest& answer);
  void send(xds::FrameKind kind, const google::protobuf::MessageLite& message);
  // Closes the connection (if any) and schedules the next attempt.
  void fail(const std::string& why);
  void closeConnection();
  void scheduleReconnect();
  void armKeepalive();
  void onKeepalive();

  common::EventLoop& loop_;
  common::StatsShard& shard_;
  Options options_;
  Delegate& delegate_;
  std::vector<xds::ClientTypeState> types_;
  std::array<TypeStatus, kTypes> status_;
  std::array<common::Counter, kTypes> accepted_;
  std::array<common::Counter, kTypes> rejected_;
  common::Gauge connected_gauge_;
  common::Counter reconnects_;
  DynamicResources resources_;

  Phase phase_ = Phase::kIdle;
  std::unique_ptr<common::TcpConnection> conn_;
  std::unique_ptr<http1::ClientConnection> codec_;  // on conn_ (declared after it: freed first)
  std::unique_ptr<xds::FrameDecoder> decoder_;
  Resolve* resolving_ = nullptr;  // owned by libuv until its callback
  int handshake_status_ = 0;
  std::string handshake_upgrade_;
  bool handshake_answered_ = false;  // the final answer's head arrived
  std::string inbound_;              // frame bytes the codec delivered, not yet decoded
  uint64_t connection_id_ = 0;       // bumped by closeConnection(), to notice a close mid-loop
  bool got_response_ = false;        // this connection delivered a response
  bool attempted_ = false;           // a connection was attempted before
  size_t next_address_ = 0;
  std::string current_address_;
  uint32_t failures_ = 0;  // attempts since the last connection that delivered a response
  uint64_t last_recv_ms_ = 0;
  uint64_t last_sent_ms_ = 0;
  uint64_t ping_id_ = 0;
  std::string out_;
  std::mt19937_64 rng_;
  common::Timer retry_timer_;
  common::Timer keepalive_timer_;
};

}  // namespace remora::sidecar
