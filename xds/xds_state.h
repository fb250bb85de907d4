#pragma once
// The per-type xDS state machines: versions, nonces, ACK and NACK. Pure bookkeeping (no I/O, no
// clock), one object per resource type per connection; the sidecar's xDS client owns the
// ClientTypeStates, the control plane's xDS server one ServerTypeState per proxy per type.
//
// The rules (Envoy's state of the world, see docs/xds.md):
//  - The control plane answers nothing: it pushes. Every response (DiscoveryResponse or, for
//    endpoints, DeltaDiscoveryResponse) carries a version and a nonce unique on the connection.
//  - The sidecar answers every response with a DiscoveryRequest echoing its nonce:
//    ACK  = version_info of the response, no error_detail;
//    NACK = version_info the sidecar still runs (empty if none), error_detail set.
//  - The control plane only listens to an answer to the latest nonce it sent for that type; an
//    answer to an older nonce (a late ACK overtaken by a newer push) is stale and ignored.
//  - A request without a nonce opens (or re-opens, after a reconnect) the subscription.
//  - A delta is applied on top of the set the sidecar holds, so it is only sent once the stream
//    carried a full response, and the sidecar refuses one when it has no base the control plane
//    knows (never a full response on this stream, or a NACK since); the control plane then
//    sends a full response.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "remora/config/v1/bootstrap.pb.h"
#include "remora/xds/v1/discovery.pb.h"

namespace remora::xds {

// google.rpc.Code numbers carried in ErrorDetail.code.
inline constexpr int32_t kRpcUnknown = 2;
inline constexpr int32_t kRpcInvalidArgument = 3;
inline constexpr int32_t kRpcNotFound = 5;
inline constexpr int32_t kRpcInternal = 13;
inline constexpr int32_t kRpcUnavailable = 14;

// The ErrorDetail.code for a Status code (kOk, which should never be NACKed, maps to UNKNOWN).
int32_t rpcCodeOf(common::StatusCode code) noexcept;

// Sidecar side: the subscription to one type on one connection to the control plane.
class ClientTypeState {
 public:
  explicit ClientTypeState(std::string_view type_url) : type_url_(type_url) {}

  const std::string& typeUrl() const noexcept { return type_url_; }
  // The version of the last response ACKed (kept across reconnects); empty before the first.
  const std::string& acceptedVersion() const noexcept { return accepted_version_; }
  // The nonce of the last response answered on this connection; empty before the first.
  const std::string& lastNonce() const noexcept { return last_nonce_; }
  // The resource names of the subscription (empty: every resource of the type).
  const std::vector<std::string>& resourceNames() const noexcept { return names_; }

  // The first request on a (new) connection: node, type_url, `names`, version_info = the
  // accepted version so the control plane knows what the sidecar runs, no nonce. Call it for
  // every new connection: it forgets the previous connection's nonce (nonces are per connection)
  // and the delta base (the next update must be a full response).
  remora::xds::v1::DiscoveryRequest initialRequest(const config::v1::Node& node,
                                                   std::vector<std::string> names);

  // Changes the subscription mid-connection: the request carries the new names, the accepted
  // version and the last nonce. The control plane may ignore it when its nonce is stale (it sent
  // something newer meanwhile); the next ACK/NACK carries the new names anyway.
  remora::xds::v1::DiscoveryRequest updateNames(std::vector<std::string> names);

  // The answer to a full response that the sidecar applied: version_info =
  // response.version_info, response_nonce = response.nonce. The accepted version becomes the
  // response's and deltas may follow.
  remora::xds::v1::DiscoveryRequest ack(const remora::xds::v1::DiscoveryResponse& response);

  // The answer to a response the sidecar rejected (it keeps running what it had):
  // version_info = the accepted version (unchanged; empty if none), response_nonce =
  // response.nonce, error_detail = {rpcCodeOf(error.code()), error.message()}.
  remora::xds::v1::DiscoveryRequest nack(const remora::xds::v1::DiscoveryResponse& response,
                                         const common::Status& error);

  // True when a delta can be applied: a full response was ACKed on this connection and nothing
  // was NACKed since. When false the sidecar NACKs a delta (see nackDelta) without applying it.
  bool deltaApplies() const noexcept { return has_delta_base_; }

  // ACK of an applied delta: version_info = response.system_version_info. Call only when
  // deltaApplies() was true and the delta was applied.
  remora::xds::v1::DiscoveryRequest ack(const remora::xds::v1::DeltaDiscoveryResponse& response);

  // NACK of a delta (rejected, or refused because !deltaApplies()): as nack() above.
  remora::xds::v1::DiscoveryRequest nack(const remora::xds::v1::DeltaDiscoveryResponse& response,
                                         const common::Status& error);

 private:
  // A request with the current names and accepted version answering `nonce`.
  remora::xds::v1::DiscoveryRequest request(std::string_view nonce) const;
  // Remembers `nonce` as answered and builds the ACK (error == nullptr) or NACK.
  remora::xds::v1::DiscoveryRequest answer(std::string_view nonce, const common::Status* error);

  std::string type_url_;
  std::string accepted_version_;
  std::string last_nonce_;
  std::vector<std::string> names_;
  bool has_delta_base_ = false;
};

// Control plane side: hands out the nonces of one connection, "1", "2", ... as decimal strings,
// shared by every type on that connection so that a nonce names one response.
class NonceSequence {
 public:
  std::string next() { return std::to_string(++last_); }
  uint64_t last() const noexcept { return last_; }

 private:
  uint64_t last_ = 0;
};

// What a request from the sidecar means, relative to what was sent for its type.
enum class RequestKind : uint8_t {
  kInitial,  // no nonce: the subscription opens (or the sidecar asks for the full state again)
  kAck,      // answers the latest nonce sent, no error_detail
  kNack,     // answers the latest nonce sent, error_detail set
  kStale,    // names a nonce that is not the latest sent for this type: ignore it
};

// Sync state for /v1/proxies.
enum class SyncStatus : uint8_t {
  kSynced,  // the version last sent was ACKed on this connection (a resend of it may still be
            // in flight)
  kStale,   // nothing sent or ACKed yet, or the version last sent is not ACKed yet
  kNacked,  // the answer to the last response sent was a NACK
};

// "SYNCED", "STALE", "NACKED".
std::string_view syncStatusName(SyncStatus status) noexcept;

// How a response was sent.
enum class SentAs : uint8_t { kFull, kDelta };

// Control plane side: one type for one connected proxy.
class ServerTypeState {
 public:
  explicit ServerTypeState(std::string_view type_url) : type_url_(type_url) {}

  const std::string& typeUrl() const noexcept { return type_url_; }

  // What `request` means (see RequestKind); does not change anything. The caller routes
  // requests by type_url: the request's type_url is not compared.
  RequestKind classify(const remora::xds::v1::DiscoveryRequest& request) const noexcept;

  // Classifies `request` and applies it, returning the same kind as classify():
  //  - kInitial: the resource names are taken and acked_version becomes the request's
  //    version_info (what the proxy says it runs); the full state must be pushed (needsPush()
  //    is true, needsFullState() too) even if the same version was sent before.
  //  - kAck: acked_version = request.version_info; no response in flight any more.
  //  - kNack: acked_version = request.version_info (what the proxy still runs), lastError() =
  //    the error message; no response in flight; the next response must be full. A NACKed
  //    delta is also pushed again (as a full response) even when the version did not change; a
  //    NACKed full response is not resent until the version changes.
  //  - kStale: nothing changes.
  // For kInitial, kAck and kNack a change of resource names makes needsPush() true.
  RequestKind apply(const remora::xds::v1::DiscoveryRequest& request);

  // True when the proxy should be sent `current_version`: it has not been sent on this
  // connection yet (or a kInitial, a names change or a NACKed delta asked for a new push).
  // Does not look at inFlight(): an endpoint that wants one response in flight per type checks
  // both.
  bool needsPush(std::string_view current_version) const noexcept {
    return push_requested_ || current_version != sent_version_;
  }

  // True when the next response must be a full DiscoveryResponse rather than a delta: nothing
  // full was sent on this connection yet, or the proxy NACKed since.
  bool needsFullState() const noexcept { return full_required_; }

  // Records that a response with `version` and `nonce` (from the connection's NonceSequence)
  // was written. It becomes the latest sent: answers to older nonces are stale from now on.
  void recordSent(std::string version, std::string nonce, SentAs as = SentAs::kFull);

  // The resource names of the latest non-stale request (empty: all).
  const std::vector<std::string>& resourceNames() const noexcept { return names_; }
  const std::string& sentVersion() const noexcept { return sent_version_; }
  const std::string& sentNonce() const noexcept { return sent_nonce_; }
  // The version the proxy last reported running (ACK, NACK or initial request).
  const std::string& ackedVersion() const noexcept { return acked_version_; }
  // The message of the last NACK on this connection (kept after later ACKs; status() says
  // whether it is current). Empty if none.
  const std::string& lastError() const noexcept { return last_error_; }
  // True from recordSent() until the answer to that nonce arrives.
  bool inFlight() const noexcept { return in_flight_; }
  SyncStatus status() const noexcept;

 private:
  std::string type_url_;
  std::vector<std::string> names_;
  std::string sent_version_;
  std::string sent_nonce_;
  std::string acked_version_;
  std::string last_error_;
  SentAs sent_as_ = SentAs::kFull;
  bool ack_seen_ = false;  // an ACK arrived on this connection
  bool in_flight_ = false;
  bool nacked_ = false;
  bool push_requested_ = true;
  bool full_required_ = true;
};

}  // namespace remora::xds
