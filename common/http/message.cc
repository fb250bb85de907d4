#include "common/http/message.h"

namespace remora::http {

std::string_view protocolName(Protocol p) noexcept {
  switch (p) {
    case Protocol::kHttp10:
      return "HTTP/1.0";
    case Protocol::kHttp11:
      return "HTTP/1.1";
    case Protocol::kHttp2:
      return "HTTP/2";
  }
  return "HTTP/1.1";
}

void RequestHead::clear() noexcept {
  method.clear();
  scheme.clear();
  path.clear();
  headers.clear();
  protocol = Protocol::kHttp11;
  content_length = -1;
  transfer_codings.clear();
  upgrade = false;
  te_trailers = false;
}

bool RequestHead::idempotent() const noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

bool RequestHead::isGrpc() const noexcept {
  std::string_view ct = headers.get("content-type");
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size() || !common::equalsIgnoreCase(ct.substr(0, kGrpc.size()), kGrpc)) {
    return false;
  }
  return ct.size() == kGrpc.size() || ct[kGrpc.size()] == '+' || ct[kGrpc.size()] == ';';
}

void ResponseHead::clear() noexcept {
  status = 0;
  reason.clear();
  headers.clear();
  protocol = Protocol::kHttp11;
  content_length = -1;
  transfer_codings.clear();
}

}  // namespace remora::http
