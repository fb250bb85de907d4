#pragma once
// The HTTP/2 server codec (h2c with prior knowledge, or h2 after ALPN): a downstream
// connection's bytes in, request streams out to ServerConnectionCallbacks::newStream.
//
// At construction it queues its SETTINGS (Settings: max concurrent streams, initial window,
// max frame size, max header list size) and a connection WINDOW_UPDATE. The client preface,
// frame and HPACK validity and RFC 9113 message rules (pseudo-headers present and in order, no
// connection-specific fields, content-length matching the body) are nghttp2's: a stream error
// resets that stream (RST_STREAM PROTOCOL_ERROR), a connection error sends GOAWAY and makes
// dispatch() return false. A request head over max_header_list_size is answered 431 by the
// codec itself (the core never sees it). Floods: see session.h and Settings.
//
// Drain: shutdownNotice() sends GOAWAY with last stream id 2^31-1 and a PING; the final GOAWAY
// (the last stream id processed, NO_ERROR) follows when the PING's ack arrives or after
// Settings::drain_timeout_ms, whichever comes first. Streams opened before it complete.

#include <memory>

#include "common/http/codec.h"
#include "common/http2/session.h"
#include "common/timer.h"

namespace remora::http2 {

class ServerConnection final : public ConnectionImpl<http::ServerConnection> {
 public:
  ServerConnection(common::TcpConnection& conn, http::ServerConnectionCallbacks& callbacks,
                   const Settings& settings, const Http2Stats& stats,
                   common::StatsShard& shard) noexcept;
  ~ServerConnection() override;

  void shutdownNotice() noexcept override;
  uint32_t activeStreams() const noexcept override { return static_cast<uint32_t>(openStreams()); }

 private:
  class ServerStream;
  Stream* beginHeaders(const nghttp2_frame& frame) noexcept override;
  void onPingAck(const nghttp2_ping& ping) noexcept override;
  void onHeaderOverflow(Stream& stream) noexcept override;
  void sendFinalGoAway() noexcept;

  http::ServerConnectionCallbacks& callbacks_;
  std::unique_ptr<common::Timer> drain_timer_;
  bool drain_started_ = false;
  bool final_goaway_sent_ = false;
};

}  // namespace remora::http2
