#include "common/http2/client_connection.h"

namespace remora::http2 {

class ClientConnection::ClientStream final : public StreamEncoderImpl<http::RequestEncoder> {
 public:
  ClientStream(ClientConnection& conn, http::ResponseDecoder& decoder) noexcept
      : StreamEncoderImpl(conn), conn_(conn), decoder_(decoder) {}

  void encodeHeaders(const http::RequestHead& head, bool end_stream) noexcept override {
    if (closed_ || local_reset_ || id_ >= 0) {
      return;
    }
    NvList& nv = NvList::reused();
    encodeRequestHead(head, nv);
    nghttp2_data_provider p;
    if (end_stream) {
      out_end_ = true;
    } else {
      p = conn_.provider(*this);
    }
    int32_t id = nghttp2_submit_request(conn_.session_, nullptr, nv.data(), nv.size(),
                                        end_stream ? nullptr : &p, static_cast<Stream*>(this));
    if (id < 0) {
      // nghttp2 takes no more streams (ids exhausted, or the session is closing).
      conn_.refuse(*this);
      return;
    }
    id_ = id;
    conn_.scheduleSend();
  }

  void onField(std::string_view name, std::string_view value) noexcept override {
    if (final_head_) {
      trailers_.add(name, value);
    } else if (!head_decoder_.addResponseField(response_, name, value)) {
      bad_status_ = true;
    }
  }

  void onHeadersEnd(bool end_stream) noexcept override {
    if (final_head_) {
      decoder_.decodeTrailers(trailers_);
      return;
    }
    head_decoder_.finish(response_.headers);
    if (bad_status_) {
      conn_.resetForPeer(*this, http::StreamResetReason::kProtocolError, NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    if (response_.status / 100 == 1) {
      decoder_.decode1xxHeaders(response_);
      response_.clear();
      return;
    }
    final_head_ = true;
    decoder_.decodeHeaders(response_, end_stream);
  }

  void onBody(std::string_view data, bool end_stream) noexcept override {
    decoder_.decodeData(data, end_stream);
  }

  void headersTooLarge() noexcept {
    conn_.resetForPeer(*this, http::StreamResetReason::kOverflow, NGHTTP2_CANCEL);
  }

 private:
  ClientConnection& conn_;
  http::ResponseDecoder& decoder_;
  http::ResponseHead response_;
  bool bad_status_ = false;
};

ClientConnection::ClientConnection(common::TcpConnection& conn,
                                   http::ClientConnectionCallbacks& callbacks,
                                   const Settings& settings, const Http2Stats& stats,
                                   common::StatsShard& shard) noexcept
    : ConnectionImpl(conn, settings, stats, shard), callbacks_(callbacks) {
  start(false);
}

ClientConnection::~ClientConnection() = default;

http::RequestEncoder& ClientConnection::newStream(http::ResponseDecoder& decoder) noexcept {
  return static_cast<ClientStream&>(adopt(std::make_unique<ClientStream>(*this, decoder)));
}

bool ClientConnection::isOpen(const http::RequestEncoder& encoder) const noexcept {
  for (const auto& s : streams_) {
    const auto* cs = static_cast<const ClientStream*>(s.get());
    if (static_cast<const http::RequestEncoder*>(cs) == &encoder) {
      return !cs->closed();
    }
  }
  return false;
}

uint32_t ClientConnection::streamsAvailable() const noexcept {
  if (goaway_received_ || codecError() != http::CodecError::kNone) {
    return 0;
  }
  uint32_t max =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  size_t open = openStreams();
  return max > open ? static_cast<uint32_t>(max - open) : 0;
}

Stream* ClientConnection::beginHeaders(const nghttp2_frame& frame) noexcept {
  if (frame.hd.type != NGHTTP2_HEADERS) {
    return nullptr;
  }
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, frame.hd.stream_id));
}

void ClientConnection::onGoAwayFrame(const nghttp2_goaway&) noexcept {
  if (!goaway_received_) {
    goaway_received_ = true;
    callbacks_.onGoAway();
  }
}

void ClientConnection::onHeaderOverflow(Stream& stream) noexcept {
  static_cast<ClientStream&>(stream).headersTooLarge();
}

}  // namespace remora::http2
