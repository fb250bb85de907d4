#include "filters/api/stream_info.h"

namespace remora::filters {

std::string_view reasonName(Reason r) noexcept {
  switch (r) {
    case Reason::kNone:
      return "";
    case Reason::kNoRoute:
      return "no-route";
    case Reason::kNoHealthyUpstream:
      return "no-healthy-upstream";
    case Reason::kConnectFailure:
      return "connect-failure";
    case Reason::kUpstreamReset:
      return "upstream-reset";
    case Reason::kUpstreamTimeout:
      return "upstream-timeout";
    case Reason::kOverflow:
      return "overflow";
    case Reason::kRateLimited:
      return "rate-limited";
    case Reason::kFaultInjected:
      return "fault-injected";
    case Reason::kRetriesExhausted:
      return "retries-exhausted";
    case Reason::kBadRequest:
      return "bad-request";
    case Reason::kHeaderTooLarge:
      return "header-too-large";
    case Reason::kDraining:
      return "draining";
    case Reason::kSidecarPort:
      return "sidecar-port";
    case Reason::kMethodNotImplemented:
      return "method-not-implemented";
    case Reason::kRequestTimeout:
      return "request-timeout";
  }
  return "";
}

uint16_t reasonStatus(Reason r) noexcept {
  switch (r) {
    case Reason::kNone:
      return 200;
    case Reason::kNoRoute:
      return 404;
    case Reason::kNoHealthyUpstream:
      return 503;
    case Reason::kConnectFailure:
      return 502;
    case Reason::kUpstreamReset:
      return 502;
    case Reason::kUpstreamTimeout:
      return 504;
    case Reason::kOverflow:
      return 503;
    case Reason::kRateLimited:
      return 429;
    case Reason::kFaultInjected:
      return 503;
    case Reason::kRetriesExhausted:
      return 503;
    case Reason::kBadRequest:
      return 400;
    case Reason::kHeaderTooLarge:
      return 431;
    case Reason::kDraining:
      return 503;
    case Reason::kSidecarPort:
      return 403;
    case Reason::kMethodNotImplemented:
      return 501;
    case Reason::kRequestTimeout:
      return 408;
  }
  return 500;
}

void StreamInfo::clear() {
  start_ns = 0;
  method.clear();
  authority.clear();
  path.clear();
  request_id.clear();
  listener.clear();
  route.clear();
  cluster.clear();
  attempts.clear();
  trail.clear();
  status = 0;
  grpc_status = -1;
  reason = Reason::kNone;
  bytes_received = 0;
  bytes_sent = 0;
  duration_us = 0;
  upstream_us = 0;
}

}  // namespace remora::filters
