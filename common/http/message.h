#pragma once
// The HTTP messages the proxy core works on, whatever protocol carried them (HTTP/1.0, 1.1, 2).
// No framing lives here: codecs (common/http1/, common/http2/) turn bytes into these heads and
// back, and decide how a body is delimited on their wire.
//
// Conventions every codec follows, so that routing, filters and the router read one place:
// - The authority is the `host` field of `headers`. An HTTP/2 decoder turns `:authority` into
//   `host` (RFC 9113 8.3.1: when both are present, `:authority` wins and `host` is dropped); an
//   HTTP/2 encoder turns `host` back into `:authority`. An HTTP/1 decoder turns an absolute-form
//   target (`GET http://a:80/x`) into `host: a:80` and path `/x`.
// - `headers` holds end-to-end fields only. Decoders drop the pseudo-headers and the hop-by-hop
//   fields (Connection and what it names, Keep-Alive, Proxy-Connection, TE, Trailer,
//   Transfer-Encoding, and Upgrade unless the request upgrades); what the core needs of them is
//   in the flags below.
// - `content-length`, when the sender gave one, stays in `headers` and in `content_length`.
// - Trailers are a separate HeaderMap handed over at the end of a stream.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/header_map.h"

namespace remora::http {

using common::HeaderMap;

enum class Protocol : uint8_t { kHttp10, kHttp11, kHttp2 };

// "HTTP/1.0", "HTTP/1.1", "HTTP/2" (as access logs print it).
std::string_view protocolName(Protocol p) noexcept;

struct RequestHead {
  std::string method;  // as sent: "GET", "POST", ...
  std::string scheme;  // "http" or "https"; empty when the client did not say (HTTP/1 origin-form)
  std::string path;    // origin-form target with query ("/a?b"), or "*" for `OPTIONS *`
  HeaderMap headers;
  Protocol protocol = Protocol::kHttp11;
  int64_t content_length = -1;  // -1: no Content-Length
  // HTTP/1 transfer codings applied before chunked (`Transfer-Encoding: gzip, chunked` gives
  // "gzip"): they stay on the body bytes, so the next hop must be told. Empty almost always.
  std::string transfer_codings;
  // HTTP/1 Upgrade (WebSocket...): the `upgrade` field stays in `headers`; after a 101 both
  // directions of the stream carry the new protocol's bytes as data.
  bool upgrade = false;
  // The client announced it accepts trailers (`TE: trailers`); gRPC over HTTP/2 requires it.
  bool te_trailers = false;

  void clear() noexcept;
  bool isHead() const noexcept { return method == "HEAD"; }
  // RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
  bool idempotent() const noexcept;
  // `content-type: application/grpc...` (any suffix such as +proto).
  bool isGrpc() const noexcept;
};

struct ResponseHead {
  uint16_t status = 0;
  std::string reason;  // HTTP/1 reason phrase as received; empty: the standard one
  HeaderMap headers;
  Protocol protocol = Protocol::kHttp11;
  int64_t content_length = -1;
  std::string transfer_codings;  // as in RequestHead (HTTP/1 responses only)

  void clear() noexcept;
};

}  // namespace remora::http
