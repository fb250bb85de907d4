#include "common/http2/server_connection.h"

#include <cstring>

namespace remora::http2 {

namespace {
constexpr uint8_t kDrainPing[8] = {'r', 'e', 'm', 'o', 'r', 'a', 'd', 'r'};
}  // namespace

class ServerConnection::ServerStream final : public StreamEncoderImpl<http::ResponseEncoder> {
 public:
  ServerStream(ServerConnection& conn) noexcept : StreamEncoderImpl(conn), conn_(conn) {}

  void encode1xxHeaders(const http::ResponseHead& head) noexcept override {
    if (closed_ || local_reset_) {
      return;
    }
    NvList& nv = NvList::reused();
    encodeResponseHead(head, nv);
    nghttp2_submit_headers(conn_.session_, NGHTTP2_FLAG_NONE, id_, nullptr, nv.data(), nv.size(),
                           nullptr);
    conn_.scheduleSend();
  }

  void encodeHeaders(const http::ResponseHead& head, bool end_stream) noexcept override {
    if (closed_ || local_reset_) {
      return;
    }
    NvList& nv = NvList::reused();
    encodeResponseHead(head, nv);
    if (end_stream) {
      out_end_ = true;
      onOutEnd();
      nghttp2_submit_response(conn_.session_, id_, nv.data(), nv.size(), nullptr);
    } else {
      nghttp2_data_provider p = conn_.provider(*this);
      nghttp2_submit_response(conn_.session_, id_, nv.data(), nv.size(), &p);
    }
    conn_.scheduleSend();
  }

  void closeAfterResponse() noexcept override {}

  // The response is complete: the core is done with the stream (it may delete its decoder and
  // callbacks now), so the rest of a request still arriving is dropped here, and once END_STREAM
  // has left RST_STREAM NO_ERROR asks the client to stop sending it (RFC 9113 8.1).
  void onOutEnd() noexcept override {
    decoder_ = nullptr;
    callbacks_ = nullptr;
    if (!remote_end_) {
      reset_after_end_ = true;
    }
  }

  void onField(std::string_view name, std::string_view value) noexcept override {
    if (final_head_) {
      trailers_.add(name, value);
    } else {
      head_decoder_.addRequestField(request_, name, value);
    }
  }

  void onHeadersEnd(bool end_stream) noexcept override {
    if (!final_head_) {
      final_head_ = true;
      head_decoder_.finish(request_.headers);
      decoder_ = &conn_.callbacks_.newStream(*this);
      decoder_->decodeHeaders(request_, end_stream);
    } else if (decoder_ != nullptr) {
      decoder_->decodeTrailers(trailers_);
    }
  }

  void onBody(std::string_view data, bool end_stream) noexcept override {
    if (decoder_ != nullptr) {
      decoder_->decodeData(data, end_stream);
    }
  }

  void setId(int32_t id) noexcept { id_ = id; }

  void headersTooLarge() noexcept {
    if (final_head_) {
      // Trailers too large: the request already reached the core.
      conn_.resetForPeer(*this, http::StreamResetReason::kOverflow, NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    // RFC 9113 10.5.1: answer 431 without handing the request to the core.
    final_head_ = true;
    out_end_ = true;
    static const char kStatus[] = ":status";
    static const char k431[] = "431";
    nghttp2_nv nv = {reinterpret_cast<uint8_t*>(const_cast<char*>(kStatus)),
                     reinterpret_cast<uint8_t*>(const_cast<char*>(k431)), sizeof(kStatus) - 1,
                     sizeof(k431) - 1, NGHTTP2_NV_FLAG_NONE};
    reset_after_end_ = true;
    nghttp2_submit_response(conn_.session_, id_, &nv, 1, nullptr);
  }

 private:
  ServerConnection& conn_;
  http::RequestHead request_;
  http::RequestDecoder* decoder_ = nullptr;
};

ServerConnection::ServerConnection(common::TcpConnection& conn,
                                   http::ServerConnectionCallbacks& callbacks,
                                   const Settings& settings, const Http2Stats& stats,
                                   common::StatsShard& shard) noexcept
    : ConnectionImpl(conn, settings, stats, shard), callbacks_(callbacks) {
  start(true);
}

ServerConnection::~ServerConnection() = default;

Stream* ServerConnection::beginHeaders(const nghttp2_frame& frame) noexcept {
  if (frame.hd.type != NGHTTP2_HEADERS) {
    return nullptr;
  }
  if (frame.headers.cat != NGHTTP2_HCAT_REQUEST) {
    return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, frame.hd.stream_id));
  }
  auto& s = static_cast<ServerStream&>(adopt(std::make_unique<ServerStream>(*this)));
  s.setId(frame.hd.stream_id);
  nghttp2_session_set_stream_user_data(session_, frame.hd.stream_id, static_cast<Stream*>(&s));
  return &s;
}

void ServerConnection::onHeaderOverflow(Stream& stream) noexcept {
  static_cast<ServerStream&>(stream).headersTooLarge();
}

void ServerConnection::shutdownNotice() noexcept {
  if (drain_started_) {
    return;
  }
  drain_started_ = true;
  nghttp2_submit_shutdown_notice(session_);
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, kDrainPing);
  drain_timer_ = std::make_unique<common::Timer>(conn().loop().uv(), [this] { sendFinalGoAway(); });
  drain_timer_->start(settings().drain_timeout_ms);
  sendPending();
}

void ServerConnection::onPingAck(const nghttp2_ping& ping) noexcept {
  if (drain_started_ && std::memcmp(ping.opaque_data, kDrainPing, sizeof(kDrainPing)) == 0) {
    sendFinalGoAway();  // inside dispatch: it flushes at its end
  }
}

void ServerConnection::sendFinalGoAway() noexcept {
  if (final_goaway_sent_) {
    return;
  }
  final_goaway_sent_ = true;
  if (drain_timer_) {
    drain_timer_->stop();
  }
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  sendPending();
}

}  // namespace remora::http2
