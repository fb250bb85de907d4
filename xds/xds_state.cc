#include "xds/xds_state.h"

#include <algorithm>
#include <utility>

namespace remora::xds {

using remora::xds::v1::DeltaDiscoveryResponse;
using remora::xds::v1::DiscoveryRequest;
using remora::xds::v1::DiscoveryResponse;

int32_t rpcCodeOf(common::StatusCode code) noexcept {
  switch (code) {
    case common::StatusCode::kInvalidArgument:
      return kRpcInvalidArgument;
    case common::StatusCode::kNotFound:
      return kRpcNotFound;
    case common::StatusCode::kUnavailable:
      return kRpcUnavailable;
    case common::StatusCode::kInternal:
      return kRpcInternal;
    case common::StatusCode::kOk:
      break;
  }
  return kRpcUnknown;
}

// ---- ClientTypeState ----

DiscoveryRequest ClientTypeState::request(std::string_view nonce) const {
  DiscoveryRequest req;
  req.set_version_info(accepted_version_);
  req.set_type_url(type_url_);
  req.set_response_nonce(std::string(nonce));
  for (const std::string& name : names_) {
    req.add_resource_names(name);
  }
  return req;
}

DiscoveryRequest ClientTypeState::answer(std::string_view nonce, const common::Status* error) {
  last_nonce_ = std::string(nonce);
  DiscoveryRequest req = request(nonce);
  if (error != nullptr) {
    req.mutable_error_detail()->set_code(rpcCodeOf(error->code()));
    req.mutable_error_detail()->set_message(error->message());
  }
  return req;
}

DiscoveryRequest ClientTypeState::initialRequest(const config::v1::Node& node,
                                                 std::vector<std::string> names) {
  names_ = std::move(names);
  last_nonce_.clear();
  // The new stream's control plane has not seen what this one holds: no delta until a full set.
  has_delta_base_ = false;
  DiscoveryRequest req = request("");
  *req.mutable_node() = node;
  return req;
}

DiscoveryRequest ClientTypeState::updateNames(std::vector<std::string> names) {
  names_ = std::move(names);
  return request(last_nonce_);
}

DiscoveryRequest ClientTypeState::ack(const DiscoveryResponse& response) {
  accepted_version_ = response.version_info();
  has_delta_base_ = true;
  return answer(response.nonce(), nullptr);
}

DiscoveryRequest ClientTypeState::nack(const DiscoveryResponse& response,
                                       const common::Status& error) {
  has_delta_base_ = false;
  return answer(response.nonce(), &error);
}

DiscoveryRequest ClientTypeState::ack(const DeltaDiscoveryResponse& response) {
  accepted_version_ = response.system_version_info();
  return answer(response.nonce(), nullptr);
}

DiscoveryRequest ClientTypeState::nack(const DeltaDiscoveryResponse& response,
                                       const common::Status& error) {
  // Deltas sent after this one were computed on a set the sidecar does not hold: refuse them
  // until the control plane answers the NACK with a full response.
  has_delta_base_ = false;
  return answer(response.nonce(), &error);
}

// ---- ServerTypeState ----

std::string_view syncStatusName(SyncStatus status) noexcept {
  switch (status) {
    case SyncStatus::kSynced:
      return "SYNCED";
    case SyncStatus::kStale:
      return "STALE";
    case SyncStatus::kNacked:
      return "NACKED";
  }
  return "STALE";
}

RequestKind ServerTypeState::classify(const DiscoveryRequest& request) const noexcept {
  if (request.response_nonce().empty()) {
    return RequestKind::kInitial;
  }
  // Also covers a nonce when nothing was sent for this type (sent_nonce_ is empty).
  if (request.response_nonce() != sent_nonce_) {
    return RequestKind::kStale;
  }
  return request.has_error_detail() ? RequestKind::kNack : RequestKind::kAck;
}

RequestKind ServerTypeState::apply(const DiscoveryRequest& request) {
  const RequestKind kind = classify(request);
  if (kind == RequestKind::kStale) {
    return kind;
  }
  const auto& names = request.resource_names();
  if (!std::equal(names.begin(), names.end(), names_.begin(), names_.end())) {
    names_.assign(names.begin(), names.end());
    push_requested_ = true;
  }
  acked_version_ = request.version_info();
  switch (kind) {
    case RequestKind::kInitial:
      // The proxy holds nothing this connection sent, so only a full state is a safe base.
      push_requested_ = true;
      full_required_ = true;
      break;
    case RequestKind::kAck:
      in_flight_ = false;
      nacked_ = false;
      ack_seen_ = true;
      break;
    case RequestKind::kNack:
      in_flight_ = false;
      nacked_ = true;
      last_error_ = request.error_detail().message();
      full_required_ = true;
      // A delta may have been refused for lack of a base rather than for its content: the same
      // version as a full response can still succeed. A full response would only fail again.
      if (sent_as_ == SentAs::kDelta) {
        push_requested_ = true;
      }
      break;
    case RequestKind::kStale:
      break;
  }
  return kind;
}

void ServerTypeState::recordSent(std::string version, std::string nonce, SentAs as) {
  sent_version_ = std::move(version);
  sent_nonce_ = std::move(nonce);
  sent_as_ = as;
  in_flight_ = true;
  nacked_ = false;
  push_requested_ = false;
  if (as == SentAs::kFull) {
    full_required_ = false;
  }
}

SyncStatus ServerTypeState::status() const noexcept {
  if (nacked_) {
    return SyncStatus::kNacked;
  }
  // The version an initial request reports may come from another control plane instance: only
  // an ACK on this connection proves the proxy runs what was sent.
  if (ack_seen_ && acked_version_ == sent_version_) {
    return SyncStatus::kSynced;
  }
  return SyncStatus::kStale;
}

}  // namespace remora::xds
