#include "common/http1/server_connection.h"

#include <utility>

#include "common/http1/wire.h"
#include "common/recycled.h"

namespace remora::http1 {

using common::Wk;

namespace {

// `http://host[:port]/path` (any case for the scheme) to the authority and origin-form path.
bool splitAbsoluteForm(std::string_view url, std::string_view& authority, std::string& path) {
  if (url.size() <= 7 || !common::equalsIgnoreCase(url.substr(0, 7), "http://")) {
    return false;
  }
  std::string_view rest = url.substr(7);
  size_t slash = rest.find_first_of("/?");
  authority = rest.substr(0, slash);
  if (slash == std::string_view::npos) {
    path.assign("/");
  } else if (rest[slash] == '?') {
    path.assign("/").append(rest.substr(slash));
  } else {
    path.assign(rest.substr(slash));
  }
  return true;
}

}  // namespace

ServerConnection::ServerConnection(common::TcpConnection& conn,
                                   http::ServerConnectionCallbacks& callbacks,
                                   const common::ParserLimits& limits,
                                   size_t max_pending_input) noexcept
    : conn_(conn),
      callbacks_(callbacks),
      parser_(common::Http1Parser::Kind::kRequest, *this, limits),
      max_pending_input_(max_pending_input) {}

std::string_view ServerConnection::errorDetail() const noexcept {
  return parser_.errorReason();
}

// ---- input -------------------------------------------------------------------------------

bool ServerConnection::dispatch(const char* data, size_t len) noexcept {
  if (discarding_ || error_ != http::CodecError::kNone) {
    return error_ == http::CodecError::kNone;
  }
  if (tunnel_) {
    if (decoder_ != nullptr && !request_end_sent_) {
      decoder_->decodeData({data, len}, false);
    }
    return true;
  }
  if (parser_paused_ || parser_upgrade_) {
    pending_input_.append(data, len);
    updateReading();
    return true;
  }
  in_dispatch_ = true;
  bool ok = feed(data, len) && pump();
  in_dispatch_ = false;
  updateReading();
  return ok;
}

bool ServerConnection::feed(const char* data, size_t len) noexcept {
  auto r = parser_.feed(data, len);
  switch (r.status) {
    case common::Http1Parser::Status::kOk:
      return true;
    case common::Http1Parser::Status::kPaused:
      parser_paused_ = true;
      pending_input_.append(data + r.consumed, len - r.consumed);
      return true;
    case common::Http1Parser::Status::kUpgrade:
      if (tunnel_) {
        // The 101 went out from inside this request's decodeHeaders (a server answering
        // itself): what followed the request is the tunnel's first bytes.
        if (decoder_ != nullptr && r.consumed < len) {
          decoder_->decodeData({data + r.consumed, len - r.consumed}, false);
        }
        return true;
      }
      parser_upgrade_ = true;
      pending_input_.append(data + r.consumed, len - r.consumed);
      return true;
    case common::Http1Parser::Status::kError:
      break;
  }
  switch (parser_.error()) {
    case common::Http1Parser::Error::kHeadersTooLarge:
      error_ = http::CodecError::kHeadersTooLarge;
      break;
    case common::Http1Parser::Error::kUnknownMethod:
      error_ = http::CodecError::kUnknownMethod;
      break;
    default:
      error_ = http::CodecError::kBadMessage;
      break;
  }
  return false;
}

bool ServerConnection::pump() noexcept {
  // Pipelined requests go on while no exchange is open and the connection stays.
  while (parser_paused_ && decoder_ == nullptr && !close_requested_ && !discarding_) {
    parser_paused_ = false;
    parser_.resume();
    if (pending_input_.empty()) {
      break;
    }
    std::string input;
    input.swap(pending_input_);
    if (!feed(input.data(), input.size())) {
      return false;
    }
    if (pending_input_.empty()) {
      input.clear();
      pending_input_.swap(input);  // keep the capacity
    }
  }
  if (eof_ && decoder_ == nullptr && !parser_paused_ && pending_input_.empty()) {
    // Half-closed: every complete request was answered; a partial one is dropped.
    if (parser_.inMessage()) {
      aborted_ = true;
    }
    close_requested_ = true;
  }
  return true;
}

bool ServerConnection::resumePipelined() noexcept {
  if (in_dispatch_ || error_ != http::CodecError::kNone) {
    return error_ == http::CodecError::kNone;  // dispatch() goes on by itself
  }
  in_dispatch_ = true;
  bool ok = pump();
  in_dispatch_ = false;
  updateReading();
  return ok;
}

void ServerConnection::updateReading() noexcept {
  bool want =
      !eof_ && (discarding_ || (!read_disabled_ && pending_input_.size() < max_pending_input_));
  if (want != conn_.reading()) {
    if (want) {
      conn_.readStart();
    } else {
      conn_.readStop();
    }
  }
}

void ServerConnection::setDiscarding() noexcept {
  discarding_ = true;
  pending_input_.clear();
  updateReading();
}

ServerConnection::EofAction ServerConnection::onEof() noexcept {
  eof_ = true;
  if (tunnel_) {
    if (decoder_ != nullptr && !request_end_sent_) {
      request_end_sent_ = true;
      decoder_->decodeData({}, true);
    }
    return EofAction::kFinish;
  }
  if (decoder_ != nullptr ? !request_complete_ || upgrade_request_ : parser_.inMessage()) {
    // A client that goes away mid-request aborts it: its request can never be complete. (An
    // upgrade it no longer sends on has nothing to tunnel.)
    aborted_ = true;
    return EofAction::kAbort;
  }
  // The client half-closed after complete requests (shutdown(SHUT_WR), `nc -N`): answer them,
  // then close.
  if (decoder_ == nullptr && pending_input_.empty()) {
    close_requested_ = true;
    return EofAction::kClose;
  }
  if (decoder_ != nullptr && pending_input_.empty()) {
    close_after_response_ = true;  // the response says so if its head has not left yet
  }
  return EofAction::kFinish;
}

void ServerConnection::onConnectionClosed() noexcept {
  discarding_ = true;
  if (decoder_ != nullptr) {
    http::StreamCallbacks* cb = stream_callbacks_;
    decoder_ = nullptr;
    stream_callbacks_ = nullptr;
    if (cb != nullptr) {
      cb->onResetStream(http::StreamResetReason::kConnectionTermination);
    }
  }
}

// ---- request events ----------------------------------------------------------------------

common::HeadAction ServerConnection::onHeaders(common::MessageHead& head) noexcept {
  beginExchange(head);

  http::RequestHead& r = request_;
  r.method.assign(head.method);
  r.scheme.clear();
  r.protocol = protocol_;
  r.content_length = head.content_length;
  r.upgrade = head.upgrade;
  std::swap(r.headers, head.headers);  // both keep their capacity for later messages
  r.transfer_codings.clear();
  if (head.chunked) {
    common::appendTransferCodings(r.headers, r.transfer_codings);
  }
  r.te_trailers = keep_hop_by_hop_ ? false : stripHopByHop(r.headers, head.upgrade);
  std::string_view authority;
  if (splitAbsoluteForm(head.url, authority, r.path)) {
    // Absolute-form (forward-proxy style): the authority comes from the target.
    r.scheme.assign("http");
    r.headers.set("host", authority);
  } else {
    r.path.assign(head.url);
  }

  bool end_stream = !request_has_body_ && !upgrade_request_;
  decoder_ = &callbacks_.newStream(*this);
  if (end_stream) {
    request_end_sent_ = true;
    request_complete_ = true;  // (llhttp's message-complete callback follows at once)
  }
  decoder_->decodeHeaders(r, end_stream);
  return common::HeadAction::kContinue;
}

void ServerConnection::onBody(std::string_view data) noexcept {
  if (decoder_ == nullptr || response_complete_) {
    return;  // answered already: the body is read and dropped
  }
  decoder_->decodeData(data, false);
}

bool ServerConnection::onMessageComplete() noexcept {
  request_complete_ = true;
  if (decoder_ != nullptr && !response_complete_ && !request_end_sent_ && !upgrade_request_) {
    request_end_sent_ = true;
    if (parser_.hasTrailers()) {
      decoder_->decodeTrailers(parser_.trailers());
    } else {
      decoder_->decodeData({}, true);
    }
  }
  if (decoder_ != nullptr && response_complete_) {
    decoder_ = nullptr;  // the exchange is over
    stream_callbacks_ = nullptr;
  }
  // Upgrade requests make llhttp stop by itself (kUpgrade); others pause here so the next
  // pipelined request waits for this response.
  return !upgrade_request_;
}

// ---- the response ------------------------------------------------------------------------

void ServerConnection::encode1xxHeaders(const http::ResponseHead& head) noexcept {
  if (protocol_ == http::Protocol::kHttp10) {
    return;  // an HTTP/1.0 client knows no interim responses
  }
  scratch_.clear();
  appendResponseStart(head, scratch_);
  scratch_.append("\r\n");
  conn_.write(scratch_);
}

void ServerConnection::encodeHeaders(const http::ResponseHead& head, bool end_stream) noexcept {
  common::SpareList<std::string>::take(scratch_);
  scratch_.clear();
  appendResponseStart(head, scratch_);
  if (head.status == 101 && upgrade_request_) {
    // (A head that names its own Connection field keeps it: a server's own 101. The proxy's
    // heads never have one, decoders drop it.)
    scratch_.append(head.headers.has(Wk::kConnection) ? "\r\n" : "connection: upgrade\r\n\r\n");
    conn_.write(scratch_);
    response_head_sent_ = true;
    tunnel_ = true;
    parser_upgrade_ = false;
    // Bytes the client sent after its request are the tunnel's first.
    if (!pending_input_.empty() && decoder_ != nullptr) {
      std::string rest;
      rest.swap(pending_input_);
      decoder_->decodeData(rest, false);
    }
    updateReading();
    return;
  }
  if (upgrade_request_ || draining_) {
    // Upgrade refused: the client may already be sending the new protocol. Draining: say so.
    close_after_response_ = true;
  }
  bool body_allowed = !head_request_ && head.status != 204 && head.status != 304;
  if (!body_allowed) {
    framing_ = Framing::kNone;
  } else if (head.content_length >= 0 && head.transfer_codings.empty()) {
    framing_ = Framing::kLength;
  } else if (end_stream) {
    framing_ = Framing::kLength;
    scratch_.append("content-length: 0\r\n");
  } else if (protocol_ == http::Protocol::kHttp10) {
    framing_ = Framing::kUntilClose;
    close_after_response_ = true;
  } else {
    framing_ = Framing::kChunked;
    scratch_.append("transfer-encoding: ");
    if (!head.transfer_codings.empty()) {
      scratch_.append(head.transfer_codings).append(", ");
    }
    scratch_.append("chunked\r\n");
  }
  if (close_after_response_) {
    scratch_.append("connection: close\r\n");
  } else if (protocol_ == http::Protocol::kHttp10) {
    scratch_.append("connection: keep-alive\r\n");
  }
  scratch_.append("\r\n");
  conn_.cork();  // leaves with the first body bytes (encodeData) or at flush()
  conn_.write(scratch_);
  response_head_sent_ = true;
  if (end_stream) {
    endResponse();
  }
}

void ServerConnection::encodeData(std::string_view data, bool end_stream) noexcept {
  if (response_complete_) {
    return;
  }
  if (tunnel_) {
    if (!data.empty()) {
      conn_.write(data);
    }
    if (end_stream) {
      response_complete_ = true;
      conn_.shutdownAfterFlush();
    }
    return;
  }
  switch (framing_) {
    case Framing::kChunked:
      if (!data.empty()) {
        scratch_.clear();
        appendChunkHeader(scratch_, data.size());
        conn_.write(scratch_, data, end_stream ? std::string_view("\r\n0\r\n\r\n") : "\r\n");
      } else if (end_stream) {
        conn_.write("0\r\n\r\n");
      }
      break;
    case Framing::kLength:
    case Framing::kUntilClose:
      if (!data.empty()) {
        // After a corked head: head and body in one write, the body not copied.
        conn_.uncork(data);
      }
      break;
    case Framing::kNone:
      break;
  }
  if (end_stream) {
    endResponse();
  }
}

void ServerConnection::encodeTrailers(const common::HeaderMap& trailers) noexcept {
  if (response_complete_ || tunnel_) {
    return;
  }
  if (framing_ == Framing::kChunked) {
    scratch_.clear();
    common::appendLastChunk(trailers, scratch_);
    conn_.write(scratch_);
  }
  endResponse();
}

void ServerConnection::endResponse() noexcept {
  response_complete_ = true;
  if (!request_complete_) {
    // The request body was not read to its end: the connection cannot carry another request.
    close_after_response_ = true;
  }
  if (close_after_response_) {
    close_requested_ = true;
  }
  conn_.uncork();
  if (request_complete_ || close_requested_) {
    decoder_ = nullptr;  // the exchange is over
    stream_callbacks_ = nullptr;
  }
}

ServerConnection::~ServerConnection() {
  releaseBuffers();
}

void ServerConnection::releaseIdleBuffers() noexcept {
  if (in_dispatch_ || decoder_ != nullptr || tunnel_ || !pending_input_.empty()) {
    return;
  }
  releaseBuffers();
}

void ServerConnection::releaseBuffers() noexcept {
  request_.headers.release();
  parser_.head().headers.release();
  common::SpareList<std::string>::give(scratch_);
}

void ServerConnection::resetStream(http::StreamResetReason) noexcept {
  // HTTP/1 cannot abandon one exchange and keep the connection.
  aborted_ = true;
  close_requested_ = true;
  decoder_ = nullptr;
  stream_callbacks_ = nullptr;
  setDiscarding();
}

void ServerConnection::readDisable(bool disable) noexcept {
  read_disabled_ = disable;
  updateReading();
}

void ServerConnection::onUnderlyingAboveHighWatermark() noexcept {
  tellWatermark(stream_callbacks_, true);
}

void ServerConnection::onUnderlyingBelowLowWatermark() noexcept {
  tellWatermark(stream_callbacks_, false);
}

void ServerConnection::beginExchange(const common::MessageHead& head) noexcept {
  protocol_ = head.http10() ? http::Protocol::kHttp10 : http::Protocol::kHttp11;
  request_complete_ = false;
  request_has_body_ = head.chunked || head.content_length > 0;
  request_end_sent_ = false;
  head_request_ = head.isHead();
  upgrade_request_ = head.upgrade;
  client_keep_alive_ = head.keep_alive;
  response_head_sent_ = false;
  response_complete_ = false;
  close_after_response_ = !client_keep_alive_ || draining_;
  framing_ = Framing::kNone;
  stream_callbacks_ = nullptr;
}

http::ResponseEncoder& ServerConnection::beginErrorExchange() noexcept {
  beginExchange(parser_.head());
  // Nothing of the request is read any further, and after a framing error nothing else on
  // the connection can be trusted.
  request_has_body_ = false;
  request_end_sent_ = true;
  head_request_ = false;
  upgrade_request_ = false;
  close_after_response_ = true;
  return *this;
}

}  // namespace remora::http1
