#include "sidecar/http/local_reply.h"

#include "common/grpc/grpc_status.h"

namespace remora::sidecar {

void buildLocalReply(const filters::LocalReply& reply, std::string_view request_id,
                     http::ResponseHead& head, std::string& body) {
  head.clear();
  head.status = reply.status != 0 ? reply.status : filters::reasonStatus(reply.reason);
  std::string_view name = filters::reasonName(reply.reason);
  if (reply.has_body) {
    body.assign(reply.body);
  } else {
    body.assign(name);
    if (!reply.detail.empty()) {
      body.append(": ").append(reply.detail);
    }
    body.push_back('\n');
  }
  bool has_content_type = false;
  for (const auto& [k, v] : reply.headers) {
    has_content_type = has_content_type || common::equalsIgnoreCase(k, "content-type");
    head.headers.add(k, v);
  }
  if (!has_content_type) {
    head.headers.add("content-type", "text/plain");
  }
  head.headers.add("x-remora-reason", name);
  head.headers.add("content-length", std::to_string(body.size()));
  head.content_length = static_cast<int64_t>(body.size());
  if (!request_id.empty()) {
    head.headers.add("x-request-id", request_id);
  }
}

uint32_t buildGrpcLocalReply(const filters::LocalReply& reply, std::string_view request_id,
                             http::ResponseHead& head) {
  head.clear();
  uint16_t http_status = reply.status != 0 ? reply.status : filters::reasonStatus(reply.reason);
  auto status = static_cast<uint32_t>(grpc::statusForHttp(http_status));
  std::string_view name = filters::reasonName(reply.reason);
  head.status = 200;
  for (const auto& [k, v] : reply.headers) {
    if (!common::equalsIgnoreCase(k, "content-type") &&
        !common::equalsIgnoreCase(k, "content-length")) {
      head.headers.add(k, v);
    }
  }
  head.headers.add("content-type", "application/grpc");
  std::string message(name);
  if (!reply.detail.empty()) {
    message.append(": ").append(reply.detail);
  }
  grpc::addStatusFields(head.headers, status, message);
  head.headers.add("x-remora-reason", name);
  if (!request_id.empty()) {
    head.headers.add("x-request-id", request_id);
  }
  return status;
}

}  // namespace remora::sidecar
