#pragma once
// For the server-codec fuzz targets: a request decoder that counts what arrives (head, body,
// trailers) and calls respond() when the request is complete, so the answer paths run too.

#include <cstddef>
#include <string_view>

#include "common/http/codec.h"

namespace remora::fuzz {

class CountingDecoder : public http::RequestDecoder {
 public:
  void decodeHeaders(http::RequestHead& h, bool end_stream) noexcept override {
    bytes += h.method.size() + h.path.size() + h.headers.byteSize();
    onHead(h);
    if (end_stream) {
      respond();
    }
  }
  void decodeData(std::string_view d, bool end_stream) noexcept override {
    bytes += d.size();
    if (end_stream) {
      respond();
    }
  }
  void decodeTrailers(common::HeaderMap& t) noexcept override {
    bytes += t.byteSize();
    respond();
  }

  // Bytes of the request so far (the answer's size derives from it).
  size_t bytes = 0;

 protected:
  ~CountingDecoder() = default;
  // The head arrived (before respond(), when the head ends the request).
  virtual void onHead(http::RequestHead&) noexcept {}
  // The request is complete (called again for a second end: answer once).
  virtual void respond() noexcept = 0;
};

}  // namespace remora::fuzz
