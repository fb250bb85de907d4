#pragma once
// The views of `remoractl proxy-config`: tables of one sidecar's admin API answers (parsed
// generically, see json_value.h; the shapes are those sidecar/admin.cc writes). Pure functions.

#include <google/protobuf/struct.pb.h>

#include <string>

#include "common/status.h"

namespace remora::control::cli {

// GET /clusters. A cluster table:
//   CLUSTER, TYPE, LB, ENDPOINTS ("healthy/total"), ACTIVE (requests in flight), REQUESTS,
//   SUCCESS (over the endpoints' totals; "-" without requests)
// then, after an empty line, an endpoint table:
//   ENDPOINT, CLUSTER, WEIGHT, HEALTH ("healthy", "unhealthy", "ejected 12s"), ACTIVE, REQUESTS,
//   SUCCESS, LATENCY (EWMA; "-" before the first answer).
// "no clusters\n" when there are none; the endpoint table is left out when no cluster has one.
std::string renderClusters(const google::protobuf::Value& clusters);

// GET /listeners: NAME, ADDRESS, DIRECTION, PROTOCOL, ROUTE CONFIG, CONNECTIONS (active).
// "no listeners\n" when there are none.
std::string renderListeners(const google::protobuf::Value& listeners);

// GET /config_dump: every route configuration in it (any object with "virtual_hosts" anywhere
// in the dump, so static and pushed ones alike; the first of each name counts), one row per
// route:
//   ROUTE CONFIG, VIRTUAL HOST, DOMAINS (up to 3, then "+N more"), MATCH, CLUSTERS
// MATCH: methods, then the path ("/api*" prefix, "/api" exact, "regex:^/a" regex, "/*" any),
// then header ("name=v", "name=v*", "name~=re", "name", "!" when inverted) and query
// ("?name=v", "?name~=re", "?name") conditions, space-separated.
// CLUSTERS: the cluster, or "a 90%, b 10%" for weighted clusters (shares of the weight sum).
// A virtual host without routes gets one row with "-" for MATCH and CLUSTERS.
// "no route configurations\n" when there are none; an error (kInvalidArgument) when a route
// configuration does not have the shape of remora.config.v1.RouteConfiguration.
common::Result<std::string> renderRoutes(const google::protobuf::Value& config_dump);

}  // namespace remora::control::cli
