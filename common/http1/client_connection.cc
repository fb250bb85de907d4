#include "common/http1/client_connection.h"

#include <utility>

#include "common/http1/wire.h"

namespace remora::http1 {

using common::Wk;

ClientConnection::ClientConnection(common::TcpConnection& conn,
                                   http::ClientConnectionCallbacks& callbacks,
                                   const common::ParserLimits& limits) noexcept
    : conn_(conn),
      callbacks_(callbacks),
      parser_(common::Http1Parser::Kind::kResponse, *this, limits) {}

std::string_view ClientConnection::errorDetail() const noexcept {
  return parser_.errorReason();
}

uint32_t ClientConnection::streamsAvailable() const noexcept {
  return decoder_ == nullptr && reusable() && error_ == http::CodecError::kNone ? 1 : 0;
}

http::RequestEncoder& ClientConnection::newStream(http::ResponseDecoder& decoder) noexcept {
  decoder_ = &decoder;
  stream_callbacks_ = nullptr;
  parser_.resume();  // it pauses after each response
  parser_.expectHeadResponse(false);
  chunked_request_ = false;
  request_complete_ = false;
  response_started_ = false;
  upgrade_request_ = false;
  read_disabled_ = false;
  return *this;
}

// ---- the request -------------------------------------------------------------------------

void ClientConnection::encodeHeaders(const http::RequestHead& head, bool end_stream) noexcept {
  parser_.expectHeadResponse(head.isHead());
  upgrade_request_ = head.upgrade;
  scratch_.clear();
  appendRequestStart(head, scratch_);
  if (head.content_length < 0 && !end_stream && !head.upgrade) {
    // A body of unknown length (chunked from the client, or HTTP/2 without content-length).
    chunked_request_ = true;
    scratch_.append("transfer-encoding: ");
    if (!head.transfer_codings.empty()) {
      scratch_.append(head.transfer_codings).append(", ");
    }
    scratch_.append("chunked\r\n");
  }
  if (head.upgrade) {
    scratch_.append("connection: upgrade\r\n");
  }
  scratch_.append("\r\n");
  conn_.write(scratch_);
  if (end_stream) {
    request_complete_ = true;
  }
}

void ClientConnection::encodeData(std::string_view data, bool end_stream) noexcept {
  if (request_complete_ && !tunnel_) {
    return;
  }
  if (chunked_request_ && !tunnel_) {
    if (!data.empty()) {
      scratch_.clear();
      appendChunkHeader(scratch_, data.size());
      conn_.write(scratch_, data, end_stream ? std::string_view("\r\n0\r\n\r\n") : "\r\n");
    } else if (end_stream) {
      conn_.write("0\r\n\r\n");
    }
  } else if (!data.empty()) {
    conn_.write(data);
  }
  if (end_stream) {
    request_complete_ = true;
    if (tunnel_) {
      conn_.shutdownAfterFlush();
    }
  }
}

void ClientConnection::encodeTrailers(const common::HeaderMap& trailers) noexcept {
  if (request_complete_) {
    return;
  }
  if (chunked_request_) {
    scratch_.clear();
    common::appendLastChunk(trailers, scratch_);
    conn_.write(scratch_);
  }
  request_complete_ = true;
}

void ClientConnection::resetStream(http::StreamResetReason) noexcept {
  // HTTP/1 cannot abandon an exchange and keep the connection.
  abandoned_ = true;
  failed_ = true;
  endExchange();
}

void ClientConnection::readDisable(bool disable) noexcept {
  read_disabled_ = disable;
  if (disable) {
    conn_.readStop();
  } else if (!failed_) {
    conn_.readStart();
  }
}

// ---- the response ------------------------------------------------------------------------

bool ClientConnection::dispatch(const char* data, size_t len) noexcept {
  if (error_ != http::CodecError::kNone) {
    return false;
  }
  if (decoder_ == nullptr) {
    // Bytes on an idle keep-alive connection: the upstream is confused or closing.
    error_ = http::CodecError::kBadMessage;
    failed_ = true;
    return false;
  }
  if (tunnel_) {
    decoder_->decodeData({data, len}, false);
    return true;
  }
  response_started_ = true;
  auto r = parser_.feed(data, len);
  switch (r.status) {
    case common::Http1Parser::Status::kOk:
      return true;
    case common::Http1Parser::Status::kPaused:
      // We pause after a complete response: bytes after it are a protocol error.
      if (r.consumed < len) {
        error_ = http::CodecError::kBadMessage;
        failed_ = true;
        return false;
      }
      return true;
    case common::Http1Parser::Status::kUpgrade:
      tunnel_ = true;
      if (decoder_ != nullptr && r.consumed < len) {
        decoder_->decodeData({data + r.consumed, len - r.consumed}, false);
      }
      return true;
    case common::Http1Parser::Status::kError:
      break;
  }
  protocolError();
  return false;
}

void ClientConnection::protocolError() noexcept {
  error_ = parser_.error() == common::Http1Parser::Error::kHeadersTooLarge
               ? http::CodecError::kHeadersTooLarge
               : http::CodecError::kBadMessage;
  failed_ = true;
  http::StreamCallbacks* cb = stream_callbacks_;
  endExchange();
  if (cb != nullptr) {
    cb->onResetStream(http::StreamResetReason::kProtocolError);
  }
}

common::HeadAction ClientConnection::onHeaders(common::MessageHead& head) noexcept {
  if (decoder_ == nullptr) {
    return common::HeadAction::kContinue;
  }
  http::ResponseHead& r = response_;
  r.status = static_cast<uint16_t>(head.status);
  r.reason.assign(head.reason);
  r.protocol = head.http10() ? http::Protocol::kHttp10 : http::Protocol::kHttp11;
  r.content_length = head.content_length;
  std::swap(r.headers, head.headers);  // both keep their capacity for later messages
  r.transfer_codings.clear();
  if (head.transfer_encoding) {
    common::appendTransferCodings(r.headers, r.transfer_codings);
  }
  bool upgrade = head.status == 101;
  stripHopByHop(r.headers, upgrade);
  if (head.status >= 100 && head.status < 200 && !upgrade) {
    decoder_->decode1xxHeaders(r);  // an interim response; the final one follows
    return common::HeadAction::kContinue;
  }
  if (upgrade) {
    if (!upgrade_request_) {
      protocolError();
      return common::HeadAction::kContinue;
    }
    decoder_->decodeHeaders(r, false);
    return common::HeadAction::kContinue;
  }
  if (!head.keep_alive) {
    keep_alive_ = false;  // the upstream will close after this response: never reuse
  }
  // With no body to come (a response to HEAD, 204, 304, Content-Length: 0) the head ends it:
  // the exchange is over before the decoder hears of it, so that the connection can go back
  // to its pool from inside the call.
  bool no_body = parser_.headResponseExpected() || head.status == 204 || head.status == 304 ||
                 (!head.chunked && !head.transfer_encoding && head.content_length == 0);
  if (no_body) {
    http::ResponseDecoder* d = decoder_;
    endExchange();
    d->decodeHeaders(r, true);
    return common::HeadAction::kContinue;
  }
  decoder_->decodeHeaders(r, false);
  return common::HeadAction::kContinue;
}

void ClientConnection::onBody(std::string_view data) noexcept {
  if (decoder_ != nullptr) {
    decoder_->decodeData(data, false);
  }
}

bool ClientConnection::onMessageComplete() noexcept {
  const common::MessageHead& head = parser_.head();
  if (head.status >= 100 && head.status < 200) {
    return false;  // an interim response (the final one follows), or 101 (llhttp pauses)
  }
  if (!parser_.shouldKeepAlive()) {
    keep_alive_ = false;  // the upstream will close: never reuse
    callbacks_.onGoAway();
  }
  http::ResponseDecoder* d = decoder_;  // null when the head ended the response
  endExchange();
  if (d != nullptr) {
    if (parser_.hasTrailers()) {
      d->decodeTrailers(parser_.trailers());
    } else {
      d->decodeData({}, true);
    }
  }
  return true;
}

void ClientConnection::endExchange() noexcept {
  decoder_ = nullptr;
  stream_callbacks_ = nullptr;
}

void ClientConnection::onConnectionClosed() noexcept {
  failed_ = true;
  if (decoder_ == nullptr) {
    return;
  }
  if (tunnel_) {
    decoder_->decodeData({}, true);  // the upstream half-closed its side of the tunnel
    return;
  }
  if (parser_.inMessage() && parser_.headDone() &&
      parser_.finish() == common::Http1Parser::Status::kOk && decoder_ == nullptr) {
    return;  // a response delimited by the connection's end completed
  }
  failStream(http::StreamResetReason::kConnectionTermination);
}

void ClientConnection::failStream(http::StreamResetReason reason) noexcept {
  failed_ = true;
  http::StreamCallbacks* cb = stream_callbacks_;
  bool open = decoder_ != nullptr;
  endExchange();
  if (open && cb != nullptr) {
    cb->onResetStream(reason);
  }
}

void ClientConnection::onUnderlyingAboveHighWatermark() noexcept {
  tellWatermark(stream_callbacks_, true);
}

void ClientConnection::onUnderlyingBelowLowWatermark() noexcept {
  tellWatermark(stream_callbacks_, false);
}

}  // namespace remora::http1
