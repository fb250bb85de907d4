// libFuzzer target: the HTTP/2 server codec on arbitrary bytes, fed in two pieces split at a
// fuzzer-chosen offset, with a core that answers every complete request (headers, body,
// trailers) and read-disables some streams, so the output paths run too. Nothing may crash,
// leak or hang, and a connection-level failure must say why.
// Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined). Without libFuzzer,
// fuzz_replay_main.cc runs it over the corpus and mutations of it (`make test`).
//
// The first input byte: bit 0 prepends the client preface (so mutations of the frames are not
// all stopped by a broken preface), bit 1 read-disables new streams, bits 2-7 pick the split.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/http2/server_connection.h"
#include "server_fuzz_support.h"

namespace {

using namespace remora;  // NOLINT

struct Request final : fuzz::CountingDecoder, http::StreamCallbacks {
  void onResetStream(http::StreamResetReason) noexcept override { reset = true; }
  void onAboveWriteBufferHighWatermark() noexcept override {}
  void onBelowWriteBufferLowWatermark() noexcept override {}
  void respond() noexcept override {
    if (reset || responded) {
      return;
    }
    responded = true;
    http::ResponseHead h;
    h.status = 200;
    h.headers.add("content-type", "text/plain");
    encoder->encodeHeaders(h, false);
    if (reset) {
      return;
    }
    encoder->encodeData(std::string(bytes % 3000, 'r'), false);
    if (reset) {
      return;
    }
    common::HeaderMap t;
    t.add("grpc-status", "0");
    encoder->encodeTrailers(t);
  }
  http::ResponseEncoder* encoder = nullptr;
  bool reset = false;
  bool responded = false;
};

struct Core final : http::ServerConnectionCallbacks {
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override {
    requests.push_back(std::make_unique<Request>());
    Request& r = *requests.back();
    r.encoder = &encoder;
    encoder.setCallbacks(r);
    if (disable_reads) {
      encoder.readDisable(true);
    }
    return r;
  }
  std::vector<std::unique_ptr<Request>> requests;
  bool disable_reads = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static common::StatsStore store(1);
  static http2::Http2Stats stats = http2::Http2Stats::registerIn(store);

  std::string in;
  if (data[0] & 1) {
    in = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  }
  in.append(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = in.empty() ? 0 : (data[0] >> 2) * 97 % (in.size() + 1);

  fuzz::FuzzSocket sock;
  if (!sock.ok()) {
    return 0;
  }
  Core core;
  core.disable_reads = (data[0] & 2) != 0;
  http2::Settings settings;
  settings.max_concurrent_streams = 8;
  auto codec =
      std::make_unique<http2::ServerConnection>(sock.conn(), core, settings, stats, store.shard(0));
  bool ok = codec->dispatch(in.data(), cut);
  sock.drain();
  uv_run(sock.loop().uv(), UV_RUN_NOWAIT);
  if (ok) {
    ok = codec->dispatch(in.data() + cut, in.size() - cut);
    sock.drain();
  }
  if (!ok && (codec->error() == http::CodecError::kNone || codec->errorDetail().empty())) {
    __builtin_trap();  // a failed connection must say why
  }
  if (ok) {
    // Streams read-disabled above take their windows back (not the complete ones: their
    // encoders are gone by the codec contract); then a drain.
    for (auto& r : core.requests) {
      if (!r->reset && !r->responded) {
        r->encoder->readDisable(false);
      }
    }
    codec->shutdownNotice();
    sock.drain();
  }
  codec->onConnectionClosed();
  codec.reset();
  return 0;
}
