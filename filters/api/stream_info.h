#pragma once
// StreamInfo: what the data plane knows and decided about one request, shared by the router,
// the filters, the access log and /requests. The decision trail is a list of short lines in
// the order the decisions were taken ("route outbound/echo/0", "endpoint 127.0.0.1:9001", ...).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remora::filters {

// Why the proxy answered a request itself. The wire names are the x-remora-reason values of
// docs/configuration.md.
enum class Reason : uint8_t {
  kNone,
  kNoRoute,
  kNoHealthyUpstream,
  kConnectFailure,
  kUpstreamReset,
  kUpstreamTimeout,
  kOverflow,
  kRateLimited,
  kFaultInjected,
  kRetriesExhausted,
  kBadRequest,
  kHeaderTooLarge,
  kDraining,
  kSidecarPort,  // the destination is one of the sidecar's own ports (admin, listeners): 403
  kMethodNotImplemented,  // 501: a request method the HTTP/1 parser cannot parse
  kRequestTimeout,        // the client was too slow sending its request (head or body): 408
};

std::string_view reasonName(Reason r) noexcept;
// The status code each reason answers with (404, 503, 502, 504, 429, 400, 431, 403, 501).
uint16_t reasonStatus(Reason r) noexcept;

struct Attempt {
  std::string endpoint;  // "IP:PORT"
  std::string outcome;   // "200", "connect-failure", "upstream-reset", ...
  bool reused_connection = false;
};

struct StreamInfo {
  uint64_t start_ns = 0;  // uv_hrtime at the first byte of the request head
  std::string method;
  std::string authority;
  std::string path;
  std::string request_id;
  std::string listener;
  std::string route;
  std::string cluster;
  std::vector<Attempt> attempts;
  std::vector<std::string> trail;
  uint16_t status = 0;
  int32_t grpc_status = -1;  // a gRPC request's final grpc-status; -1: not gRPC, or none came
  Reason reason = Reason::kNone;
  uint64_t bytes_received = 0;  // request body bytes
  uint64_t bytes_sent = 0;      // response body bytes
  uint64_t duration_us = 0;
  uint64_t upstream_us = 0;  // from first upstream byte sent to last response byte

  void clear();
  void note(std::string line) { trail.push_back(std::move(line)); }
};

}  // namespace remora::filters
