#pragma once
// The responses the proxy makes itself (no route, breaker open, fault abort, timeouts, bad
// requests...) as protocol-neutral heads, so that any codec can encode them.
//
// A reply carries its status (from the reason unless given), the reply's own headers,
// `content-type: text/plain` unless those name one, `x-remora-reason`, the content length and
// the request's `x-request-id`. Its body is "<reason>[: <detail>]\n" unless the reply brings
// one.

#include <string>
#include <string_view>

#include "common/http/message.h"
#include "filters/api/http_filter.h"

namespace remora::sidecar {

// Fills `head` (cleared first) and `body` for `reply`. `request_id` may be empty.
void buildLocalReply(const filters::LocalReply& reply, std::string_view request_id,
                     http::ResponseHead& head, std::string& body);

// The same reply to a gRPC request: a trailers-only response (status 200, content-type
// application/grpc, no body) whose `grpc-status` is the HTTP status's meaning to gRPC
// (grpc::statusForHttp) and `grpc-message` "<reason>[: <detail>]"; `x-remora-reason`,
// `x-request-id` and the reply's own headers as above. Returns the grpc-status.
uint32_t buildGrpcLocalReply(const filters::LocalReply& reply, std::string_view request_id,
                             http::ResponseHead& head);

}  // namespace remora::sidecar
