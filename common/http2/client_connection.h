#pragma once
// The HTTP/2 client codec: requests from the router out on an upstream connection, responses
// back to their ResponseDecoders.
//
// At construction it queues the connection preface, its SETTINGS (push disabled) and a
// connection WINDOW_UPDATE. streamsAvailable() follows the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS (100 until its SETTINGS arrive) and is 0 after a GOAWAY.
// A GOAWAY from the peer calls ClientConnectionCallbacks::onGoAway; streams above its last
// stream id, and requests not sent yet, end with kRemoteRefused (safe to retry), as does a
// REFUSED_STREAM. A response head over max_header_list_size resets the stream (kOverflow).

#include "common/http/codec.h"
#include "common/http2/session.h"

namespace remora::http2 {

class ClientConnection final : public ConnectionImpl<http::ClientConnection> {
 public:
  ClientConnection(common::TcpConnection& conn, http::ClientConnectionCallbacks& callbacks,
                   const Settings& settings, const Http2Stats& stats,
                   common::StatsShard& shard) noexcept;
  ~ClientConnection() override;

  http::RequestEncoder& newStream(http::ResponseDecoder& decoder) noexcept override;
  uint32_t streamsAvailable() const noexcept override;
  // The connection could not be made, or ended: open streams are reset with `reason`.
  void onConnectionClosed(http::StreamResetReason reason) noexcept { connectionClosed(reason); }
  using ConnectionImpl::onConnectionClosed;
  // `encoder` (from newStream) is a stream still open: its owner may reset it. (A stream that
  // completed both ways is gone, and its encoder with it.)
  bool isOpen(const http::RequestEncoder& encoder) const noexcept;

 private:
  class ClientStream;
  Stream* beginHeaders(const nghttp2_frame& frame) noexcept override;
  void onGoAwayFrame(const nghttp2_goaway& goaway) noexcept override;
  void onHeaderOverflow(Stream& stream) noexcept override;

  http::ClientConnectionCallbacks& callbacks_;
  bool goaway_received_ = false;
};

}  // namespace remora::http2
