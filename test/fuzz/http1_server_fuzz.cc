// libFuzzer target: the HTTP/1 server codec (common/http1/server_connection.h) on arbitrary
// bytes, fed in two pieces split at a fuzzer-chosen offset, with a core that answers every
// complete request (head, body, trailers; 101 to an upgrade) and goes on with pipelined ones,
// so the response and tunnel paths run too. Nothing may crash, leak or hang, and a failed
// connection must say why. (http1_parser_fuzz covers the parser alone, requests and responses.)
// Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined). Without libFuzzer,
// fuzz_replay_main.cc runs it over the corpus and mutations of it (`make test`).
//
// The first input byte: bit 0 answers with a body of unknown length (chunked, or until the
// close for HTTP/1.0), bit 1 answers an upgrade request with 101, bits 2-7 pick the split.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/http1/server_connection.h"
#include "server_fuzz_support.h"

namespace {

using namespace remora;  // NOLINT

struct Core final : http::ServerConnectionCallbacks, fuzz::CountingDecoder, http::StreamCallbacks {
  http::RequestDecoder& newStream(http::ResponseEncoder& e) noexcept override {
    encoder = &e;
    e.setCallbacks(*this);
    bytes = 0;
    responded = false;
    upgrade = false;
    return *this;
  }
  void onHead(http::RequestHead& h) noexcept override {
    upgrade = h.upgrade;
    if (upgrade && upgrade_with_101) {
      respond();  // an upgrade request is whole with its head
    }
  }
  void onResetStream(http::StreamResetReason) noexcept override { encoder = nullptr; }
  void onAboveWriteBufferHighWatermark() noexcept override {}
  void onBelowWriteBufferLowWatermark() noexcept override {}

  void respond() noexcept override {
    if (encoder == nullptr || responded) {
      return;
    }
    responded = true;
    http::ResponseEncoder* e = encoder;
    http::ResponseHead h;
    if (upgrade && upgrade_with_101) {
      h.status = 101;
      h.headers.add("upgrade", "fuzz");
      e->encodeHeaders(h, false);
      return;  // a tunnel from now on
    }
    h.status = 200;
    std::string body(bytes % 3000, 'r');
    if (!unknown_length) {
      h.content_length = static_cast<int64_t>(body.size());
      h.headers.add("content-length", std::to_string(body.size()));
    }
    e->encodeHeaders(h, false);
    if (encoder == nullptr) {
      return;
    }
    e->encodeData(body, false);
    if (encoder == nullptr) {
      return;
    }
    common::HeaderMap t;
    t.add("x-trailer", "1");
    e->encodeTrailers(t);
    encoder = nullptr;
  }

  http::ResponseEncoder* encoder = nullptr;
  bool responded = false;
  bool upgrade = false;
  bool unknown_length = false;
  bool upgrade_with_101 = false;
};

// Feeds `len` bytes, then the pipelined requests they held; false on a parse error.
bool feed(http1::ServerConnection& codec, const char* data, size_t len) {
  bool ok = codec.dispatch(data, len);
  // (The core answers inside the decode calls, so dispatch() goes on with pipelined requests
  // by itself; this covers the owner's call after an answer, bounded.)
  for (int i = 0; i < 4 && ok && codec.hasPendingInput() && codec.activeStreams() == 0; ++i) {
    ok = codec.resumePipelined();
  }
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = in.empty() ? 0 : (data[0] >> 2) * 97 % (in.size() + 1);

  fuzz::FuzzSocket sock;
  if (!sock.ok()) {
    return 0;
  }
  Core core;
  core.unknown_length = (data[0] & 1) != 0;
  core.upgrade_with_101 = (data[0] & 2) != 0;
  common::ParserLimits limits;
  limits.max_header_bytes = 8192;
  limits.max_headers = 64;
  auto codec = std::make_unique<http1::ServerConnection>(sock.conn(), core, limits, 16 * 1024);
  bool ok = feed(*codec, in.data(), cut);
  codec->flush();
  sock.drain();
  uv_run(sock.loop().uv(), UV_RUN_NOWAIT);
  if (ok) {
    ok = feed(*codec, in.data() + cut, in.size() - cut);
    codec->flush();
    sock.drain();
  }
  if (!ok) {
    if (codec->error() == http::CodecError::kNone || codec->errorDetail().empty()) {
      __builtin_trap();  // a failed connection must say why
    }
    if (codec->activeStreams() == 0) {
      // The answer to what failed to parse, as a listener sends it.
      http::ResponseEncoder& e = codec->beginErrorExchange();
      http::ResponseHead h;
      h.status = 400;
      e.encodeHeaders(h, true);
      sock.drain();
    }
  } else {
    (void)codec->onEof();
    sock.drain();
  }
  codec->onConnectionClosed();
  codec.reset();
  return 0;
}
