#pragma once
// Test support: one request to a proxy over HTTP/1.1 or HTTP/2 with prior knowledge (h2c), on a
// new connection, with the project's own client codecs (common/http1/, common/http2/) on an
// EventLoop of the calling thread. What came back is returned whole: status, headers, body,
// trailers, interim (1xx) statuses, and whether the stream ended abnormally.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/header_map.h"
#include "common/http/codec.h"
#include "common/http/message.h"
#include "fake_upstream.h"

namespace remora::test {

struct DownstreamRequest {
  std::string method = "GET";
  std::string path = "/";
  std::string authority = "svc";  // `host` (HTTP/2: :authority)
  Fields headers;
  std::vector<std::string> body;  // pieces; none: no body
  // The head carries content-length (the pieces' total). false: no length (HTTP/1 chunked).
  bool content_length = true;
  Fields trailers;  // HTTP/1 sends them only when chunked (content_length false)
  // Sends the body only once a 100 Continue arrived (with `expect: 100-continue` in headers).
  bool wait_for_continue = false;
};

struct DownstreamResponse {
  bool connected = false;
  bool complete = false;  // the whole response arrived (its end, after any trailers)
  bool reset = false;     // the stream ended before that (HTTP/2 RST_STREAM, HTTP/1 close)
  http::StreamResetReason reset_reason = http::StreamResetReason::kLocalReset;
  bool timed_out = false;  // neither happened before the deadline
  int status = 0;          // 0: no final head
  std::vector<int> interim;
  common::HeaderMap headers;
  std::string body;
  common::HeaderMap trailers;

  std::string header(std::string_view name) const { return std::string(headers.get(name)); }
  // "complete 200", "reset after 17 bytes (remote-reset)"... for assertion messages.
  std::string describe() const;
};

// Sends `request` to `address` ("IP:PORT") over `protocol` (kHttp11 or kHttp2) and waits for
// the response's end, a reset, or `timeout`.
DownstreamResponse sendRequest(const std::string& address, http::Protocol protocol,
                               const DownstreamRequest& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace remora::test
