#include "control/cli/api_client.h"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include "common/http_client.h"

namespace remora::control::cli {

using common::Result;
using common::Status;

Result<std::string> httpGet(const std::string& address, std::string_view path,
                            std::string_view peer, std::chrono::milliseconds timeout) {
  spdlog::debug("GET http://{}{}", address, path);
  auto answer = common::HttpClient::fetch(address, "GET", path, {}, {}, timeout);
  if (!answer.isOk()) {
    return Status::unavailable("cannot reach " + std::string(peer) + ": " +
                               answer.status().message());
  }
  common::HttpClient::Response& r = answer.value();
  if (r.status != 200) {
    std::string first_line = r.body.substr(0, r.body.find('\n'));
    if (first_line.size() > 200) {
      first_line.resize(200);
    }
    return Status::unavailable(std::string(peer) + " answered GET " + std::string(path) +
                               " with HTTP " + std::to_string(r.status) +
                               (first_line.empty() ? "" : ": " + first_line));
  }
  return std::move(r.body);
}

Status parseJson(std::string_view json, std::string_view what, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    std::string reason(status.message());
    for (char& c : reason) {
      if (c == '\n') {
        c = ' ';
      }
    }
    return Status::invalid("bad JSON from " + std::string(what) + ": " + reason);
  }
  return Status::ok();
}

Result<v1::ProxiesResponse> parseProxies(std::string_view json) {
  v1::ProxiesResponse response;
  if (Status s = parseJson(json, "GET /v1/proxies", &response); !s.isOk()) {
    return s;
  }
  return response;
}

Result<v1::StatsResponse> parseStats(std::string_view json) {
  v1::StatsResponse response;
  if (Status s = parseJson(json, "GET /v1/stats", &response); !s.isOk()) {
    return s;
  }
  return response;
}

Result<google::protobuf::Value> parseJsonValue(std::string_view json, std::string_view what) {
  google::protobuf::Value value;
  if (Status s = parseJson(json, what, &value); !s.isOk()) {
    return s;
  }
  return value;
}

}  // namespace remora::control::cli
