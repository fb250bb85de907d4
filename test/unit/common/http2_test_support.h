#pragma once
// Recording fakes for the HTTP/2 codec tests: a server's request streams and a client's
// response streams, each also the StreamCallbacks of its encoder.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http/codec.h"

namespace remora::http2::testing {

struct Watermarks : http::StreamCallbacks {
  void onResetStream(http::StreamResetReason r) noexcept override { reset = r; }
  void onAboveWriteBufferHighWatermark() noexcept override { ++above; }
  void onBelowWriteBufferLowWatermark() noexcept override { ++below; }
  std::optional<http::StreamResetReason> reset;
  int above = 0;
  int below = 0;
};

// Body and trailers, the same for requests and responses.
template <typename Decoder>
struct RecordedStream : Decoder, Watermarks {
  void decodeData(std::string_view d, bool end_stream) noexcept override {
    body.append(d);
    ended = ended || end_stream;
  }
  void decodeTrailers(common::HeaderMap& t) noexcept override {
    trailers = t;
    ended = true;
  }
  std::string body;
  common::HeaderMap trailers;
  bool ended = false;
};

struct RecordedRequest final : RecordedStream<http::RequestDecoder> {
  void decodeHeaders(http::RequestHead& h, bool end_stream) noexcept override {
    head = h;
    ended = end_stream;
  }
  http::ResponseEncoder* encoder = nullptr;
  http::RequestHead head;
};

class RecordingServer final : public http::ServerConnectionCallbacks {
 public:
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override {
    requests.push_back(std::make_unique<RecordedRequest>());
    RecordedRequest& r = *requests.back();
    r.encoder = &encoder;
    encoder.setCallbacks(r);
    if (disable_reads) {
      encoder.readDisable(true);
    }
    return r;
  }
  std::vector<std::unique_ptr<RecordedRequest>> requests;
  bool disable_reads = false;  // every new stream starts read-disabled
};

struct RecordedResponse final : RecordedStream<http::ResponseDecoder> {
  void decode1xxHeaders(http::ResponseHead& h) noexcept override { interim.push_back(h.status); }
  void decodeHeaders(http::ResponseHead& h, bool end_stream) noexcept override {
    head = h;
    have_head = true;
    ended = end_stream;
  }
  http::RequestEncoder* encoder = nullptr;
  std::vector<uint16_t> interim;
  http::ResponseHead head;
  bool have_head = false;
};

struct RecordingClient final : http::ClientConnectionCallbacks {
  void onGoAway() noexcept override { ++goaways; }
  int goaways = 0;
};

}  // namespace remora::http2::testing
