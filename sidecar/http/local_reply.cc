#include "sidecar/http/local_reply.h"

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

}  // namespace remora::sidecar
