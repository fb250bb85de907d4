#pragma once
// Test support: what the fake upstream (server codecs) and the downstream client (client codecs)
// both need around the project's codecs.

#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/http2/http2_stats.h"
#include "common/stats.h"

namespace remora::test {

// The counters an HTTP/2 codec bumps, in a store of their own (nobody reads them here).
struct Http2Counters {
  common::StatsStore store{1};
  http2::Http2Stats stats = http2::Http2Stats::registerIn(store);
  common::StatsShard& shard() noexcept { return store.shard(0); }
};

// `Decoder` is http::RequestDecoder or http::ResponseDecoder. Body pieces are appended to
// body(), trailers copied to trailers(); messageEnd() runs once the message is whole.
template <typename Decoder>
class CollectingDecoder : public Decoder {
 public:
  void decodeData(std::string_view data, bool end_stream) noexcept override {
    body().append(data);
    if (end_stream) {
      messageEnd();
    }
  }
  void decodeTrailers(http::HeaderMap& fields) noexcept override {
    trailers() = fields;
    messageEnd();
  }

 protected:
  ~CollectingDecoder() = default;
  virtual std::string& body() noexcept = 0;
  virtual http::HeaderMap& trailers() noexcept = 0;
  virtual void messageEnd() noexcept = 0;
};

}  // namespace remora::test
