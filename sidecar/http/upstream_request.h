#pragma once
// UpstreamRequest: one try of a request on one pooled upstream connection. It is the try's
// response decoder and stream callbacks, and hands every event to its Router with itself as
// the key, so that a late event of an abandoned try is recognised and ignored.
//
// A fresh object per try; the Router frees it through EventLoop::deferDelete.

#include <string_view>

#include "common/event_loop.h"
#include "common/http/codec.h"
#include "common/recycled.h"
#include "sidecar/upstream/upstream_connection.h"

namespace remora::sidecar {

class Router;

class UpstreamRequest final : public common::Recycled<UpstreamRequest>,
                              public http::ResponseDecoder,
                              public http::StreamCallbacks,
                              public UpstreamConnection::User,
                              public common::Deletable {
 public:
  // Attaches to `conn` (idle or new).
  UpstreamRequest(Router& router, UpstreamConnection& conn) noexcept;

  http::RequestEncoder& encoder() noexcept { return *encoder_; }
  UpstreamConnection* connection() noexcept { return conn_; }
  // The try went out on a connection that had carried requests before.
  bool reusedConnection() const noexcept { return reused_; }
  // The router is done with this try: the connection goes back to the pool (`reusable`) or is
  // closed. No event reaches the router afterwards.
  void detach(bool reusable) noexcept;

  // http::ResponseDecoder
  void decode1xxHeaders(http::ResponseHead& head) noexcept override;
  void decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view data, bool end_stream) noexcept override;
  void decodeTrailers(common::HeaderMap& trailers) noexcept override;

  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason reason) noexcept override;
  void onAboveWriteBufferHighWatermark() noexcept override;
  void onBelowWriteBufferLowWatermark() noexcept override;

  // UpstreamConnection::User
  void onUpstreamConnected() noexcept override;
  void onUpstreamReadEnd() noexcept override;
  void onUpstreamDrained() noexcept override;

 private:
  Router* router_;  // null once detached
  UpstreamConnection* conn_;
  http::RequestEncoder* encoder_;
  bool reused_;
  bool response_started_ = false;  // a response head (or 1xx) arrived
};

}  // namespace remora::sidecar
