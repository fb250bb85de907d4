#pragma once
// Fetching and parsing the JSON remoractl reads: the control plane API (typed, with the messages
// of control/proto/remora/control/v1/api.proto) and a sidecar's admin API (generic,
// google.protobuf.Value, since the admin API's JSON is written by hand in sidecar/admin.cc).
// Blocking; every call has a deadline.

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"
#include "remora/control/v1/api.pb.h"

namespace remora::control::cli {

// GET `path` from `address` ("IP:PORT") on a fresh connection; returns the body of a 200.
// `peer` names the server in messages ("the control plane", "the sidecar admin API").
// Errors (kUnavailable, one line each):
//   "cannot reach PEER: connect 127.0.0.1:1: Connection refused" (and the client's other
//   transport errors: timeouts, resets, bad answers);
//   "PEER answered GET PATH with HTTP 503: <first line of the body>" for any other status.
common::Result<std::string> httpGet(const std::string& address, std::string_view path,
                                    std::string_view peer,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// JSON -> message with the protobuf JSON mapping, unknown fields ignored (a newer server may add
// some). Error (kInvalidArgument): "bad JSON from WHAT: <parser message>".
common::Status parseJson(std::string_view json, std::string_view what,
                         google::protobuf::Message* message);

common::Result<v1::ProxiesResponse> parseProxies(std::string_view json);
common::Result<v1::StatsResponse> parseStats(std::string_view json);
// Any JSON document (object, array, scalar) as a Value. Numbers become doubles.
common::Result<google::protobuf::Value> parseJsonValue(std::string_view json,
                                                       std::string_view what);

}  // namespace remora::control::cli
