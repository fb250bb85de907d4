#pragma once
// RouteTable: virtual hosts and their ordered routes, matched per request.
//
// Host matching follows Envoy: an exact domain first (with the port, then without), then the
// longest "*.suffix" wildcard, then the longest "prefix.*" wildcard, then "*". Inside the virtual
// host, the first route whose every condition holds wins. Names are compared lowercase; the
// table stores them lowercase at build time so a request pays one lowercase copy of its host.

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/header_map.h"
#include "common/stats.h"
#include "filters/api/http_filter.h"
#include "filters/retry/retry_policy.h"

namespace remora::sidecar {

struct StringMatch {
  enum class Kind : uint8_t { kExact, kPrefix, kRegex, kPresent };
  Kind kind = Kind::kExact;
  std::string value;
  std::optional<std::regex> regex;
  bool matches(std::string_view v) const;
};

struct HeaderCondition {
  std::string name;
  StringMatch match;
  bool invert = false;
};

struct QueryCondition {
  std::string name;
  StringMatch match;
};

struct RouteEntry {
  std::string name;
  std::string trail_note;  // "route NAME", built once so a request's trail line costs no concat
  enum class PathKind : uint8_t { kPrefix, kExact, kRegex } path_kind = PathKind::kPrefix;
  std::string path;
  std::optional<std::regex> path_regex;
  std::vector<std::string> methods;  // empty: any
  std::vector<HeaderCondition> headers;
  std::vector<QueryCondition> query;
  // Action.
  // A backend whose cluster the snapshot does not have (mesh mode only: xDS may name a cluster
  // before it arrives, or after it left). Requests sent to it get 503 no-healthy-upstream.
  static constexpr uint32_t kMissingCluster = UINT32_MAX;
  uint32_t cluster = 0;            // index into Snapshot::clusters (the first backend)
  // Weighted backends (canary): cluster index and cumulative weight; empty: just `cluster`.
  std::vector<std::pair<uint32_t, uint32_t>> weighted;
  // Names of the backends that are kMissingCluster, by backend position (`cluster`: 0,
  // `weighted[i]`: i); "" for a backend that exists. Empty when every backend exists.
  std::vector<std::string> missing_clusters;
  uint32_t total_weight = 0;
  int64_t timeout_ms = -1;         // -1: the cluster's default; 0: none
  int64_t idle_timeout_ms = 0;     // 0: none
  bool has_retry = false;          // the route's retry policy replaces the cluster's
  filters::retry::RetryPolicy retry;
  filters::FilterFactories filters;  // run in order before an endpoint is picked
};

struct VirtualHost {
  std::string name;
  std::vector<RouteEntry> routes;
};

// The parts of a request that routing reads.
struct RouteRequest {
  std::string_view authority;  // Host header or absolute-URI authority (any case, maybe :port)
  std::string_view path;       // path with query, as received
  std::string_view method;
  const common::HeaderMap* headers = nullptr;
};

class RouteTable {
 public:
  std::string name;

  // Adds a virtual host for these domains ("*" / "*.x" / "x.*" / exact). Returns its index.
  size_t addVirtualHost(VirtualHost vh, const std::vector<std::string>& domains);
  const std::vector<VirtualHost>& virtualHosts() const { return vhosts_; }

  // The virtual host for an authority, or nullptr.
  const VirtualHost* findVirtualHost(std::string_view authority) const;
  // The route for a request, or nullptr (404 no-route).
  const RouteEntry* match(const RouteRequest& req) const;

 private:
  std::vector<VirtualHost> vhosts_;
  std::unordered_map<std::string, size_t> exact_;
  std::vector<std::pair<std::string, size_t>> suffix_;  // "*.foo.com" stored as ".foo.com"
  std::vector<std::pair<std::string, size_t>> prefix_;  // "foo.*" stored as "foo."
  std::optional<size_t> any_;
};

bool routeMatches(const RouteEntry& route, const RouteRequest& req);

}  // namespace remora::sidecar
