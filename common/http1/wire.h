#pragma once
// HTTP/1 wire helpers shared by the server and client codecs: start lines and header sections
// of the protocol-neutral heads, chunk framing, and the hop-by-hop fields a proxy drops.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/http/message.h"

namespace remora::http1 {

// Removes the fields a proxy must not forward (RFC 9110 7.6.1): Connection and every field it
// names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, and Upgrade unless
// `keep_upgrade`. Returns true when the request said `TE: trailers`.
bool stripHopByHop(common::HeaderMap& headers, bool keep_upgrade);

// "METHOD path HTTP/1.1\r\n" + the fields, without the blank line that ends the head (the
// caller may append fields of its own first).
void appendRequestStart(const http::RequestHead& head, std::string& out);
// "HTTP/1.1 status reason\r\n" + the fields (the standard reason phrase unless the head
// carries one), without the blank line.
void appendResponseStart(const http::ResponseHead& head, std::string& out);

// The chunk-size line of a chunk of `n` bytes ("1a2b\r\n").
void appendChunkHeader(std::string& out, size_t n);

// Tells the stream of an exchange, if one is open, that its connection's send buffer passed
// the high watermark (`above`) or fell back to the low one.
void tellWatermark(http::StreamCallbacks* stream, bool above) noexcept;

}  // namespace remora::http1
