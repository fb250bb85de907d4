#pragma once
// Conversion between nghttp2's name/value lists and the protocol-neutral heads
// (common/http/message.h), following its conventions: `:authority` <-> `host`, pseudo-headers
// and connection-specific fields never in `headers`, `te: trailers` <-> te_trailers, cookie
// crumbs joined with "; " (RFC 9113 8.2.3).

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/http/message.h"

namespace remora::http2 {

// The fields of one HEADERS submission. nghttp2 copies them when the frame is submitted, so a
// list lives only until the submit call returns. Names are lowercased as they are added.
class NvList {
 public:
  // This thread's list, emptied, its buffers' capacity kept from the last message: for the
  // span between encoding a head and submitting it (nothing else may take it in between).
  // A fresh list per message cost three allocations and their frees.
  static NvList& reused() noexcept;

  void clear() noexcept;
  // `flags`: NGHTTP2_NV_FLAG_NO_INDEX keeps the field out of the HPACK dynamic table.
  void add(std::string_view name, std::string_view value, uint8_t flags = NGHTTP2_NV_FLAG_NONE);
  // Pointers are fixed up here: call after the last add().
  const nghttp2_nv* data() noexcept;
  size_t size() const noexcept { return spans_.size(); }

 private:
  struct Span {
    size_t name_off, name_len, value_off, value_len;
    uint8_t flags;
  };
  std::string storage_;
  std::vector<Span> spans_;
  std::vector<nghttp2_nv> nv_;
};

// Fields HTTP/2 forbids (RFC 9113 8.2.2): connection, keep-alive, proxy-connection,
// transfer-encoding, upgrade, te (only `te: trailers` may travel), and http2-settings. Any case.
bool isConnectionSpecific(std::string_view name) noexcept;

// Encoding. `:scheme` defaults to "http" and `:path` to "/" when the head has none; CONNECT
// carries only `:method` and `:authority`.
void encodeRequestHead(const http::RequestHead& head, NvList& out);
void encodeResponseHead(const http::ResponseHead& head, NvList& out);
// Drops pseudo-headers and the fields common::isForbiddenTrailer names.
void encodeTrailers(const common::HeaderMap& trailers, NvList& out);

// Decoding, one field at a time as nghttp2 hands them over (it has validated them already).
class HeadDecoder {
 public:
  void addRequestField(http::RequestHead& head, std::string_view name, std::string_view value);
  // False: a `:status` that is not three digits.
  bool addResponseField(http::ResponseHead& head, std::string_view name, std::string_view value);
  // Adds the joined cookie and resets the decoder for the next block.
  void finish(common::HeaderMap& headers);

 private:
  void addRegular(common::HeaderMap& headers, int64_t* content_length, std::string_view name,
                  std::string_view value);
  std::string cookie_;
  bool has_cookie_ = false;
  bool authority_ = false;
};

}  // namespace remora::http2
