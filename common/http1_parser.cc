#include "common/http1_parser.h"

#include <charconv>

namespace remora::common {

void MessageHead::clear() noexcept {
  method.clear();
  url.clear();
  method_id = HTTP_GET;
  status = 0;
  reason.clear();
  version_major = 1;
  version_minor = 1;
  headers.clear();
  keep_alive = true;
  chunked = false;
  content_length = -1;
  upgrade = false;
}

namespace {
inline Http1Parser* self(llhttp_t* p) { return static_cast<Http1Parser*>(p->data); }
}  // namespace

Http1Parser::Http1Parser(Kind kind, Callbacks& callbacks, ParserLimits limits) noexcept
    : kind_(kind), cb_(callbacks), limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = onMessageBeginCb;
  settings_.on_url = onUrlCb;
  settings_.on_status = onStatusCb;
  settings_.on_method = onMethodCb;
  settings_.on_header_field = onHeaderFieldCb;
  settings_.on_header_value = onHeaderValueCb;
  settings_.on_header_value_complete = onHeaderValueCompleteCb;
  settings_.on_headers_complete = onHeadersCompleteCb;
  settings_.on_body = onBodyCb;
  settings_.on_message_complete = onMessageCompleteCb;
  reset();
}

void Http1Parser::reset() noexcept {
  llhttp_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
  error_ = Error::kNone;
  in_message_ = false;
  head_done_ = false;
}

Http1Parser::Result Http1Parser::feed(const char* data, size_t len) noexcept {
  if (error_ != Error::kNone) {
    return {Status::kError, 0};
  }
  if (paused()) {
    // llhttp would answer from its previous buffer's position: nothing is consumed.
    return {llhttp_get_errno(&parser_) == HPE_PAUSED_UPGRADE ? Status::kUpgrade : Status::kPaused,
            0};
  }
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  switch (err) {
    case HPE_OK:
      return {Status::kOk, len};
    case HPE_PAUSED: {
      const char* pos = llhttp_get_error_pos(&parser_);
      return {Status::kPaused, pos ? static_cast<size_t>(pos - data) : len};
    }
    case HPE_PAUSED_UPGRADE: {
      const char* pos = llhttp_get_error_pos(&parser_);
      return {Status::kUpgrade, pos ? static_cast<size_t>(pos - data) : len};
    }
    default:
      if (error_ == Error::kNone) {
        error_ = Error::kBadMessage;
      }
      return {Status::kError, 0};
  }
}

Http1Parser::Status Http1Parser::finish() noexcept {
  if (error_ != Error::kNone) {
    return Status::kError;
  }
  // HPE_PAUSED: the EOF completed the message and onMessageComplete asked to pause; not an error.
  llhttp_errno_t err = llhttp_finish(&parser_);
  if (err != HPE_OK && err != HPE_PAUSED) {
    error_ = Error::kBadMessage;
    return Status::kError;
  }
  return Status::kOk;
}

bool Http1Parser::paused() const noexcept {
  llhttp_errno_t e = llhttp_get_errno(&parser_);
  return e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE;
}

void Http1Parser::resume() noexcept {
  llhttp_errno_t e = llhttp_get_errno(&parser_);
  if (e == HPE_PAUSED_UPGRADE) {
    llhttp_resume_after_upgrade(&parser_);
  } else if (e == HPE_PAUSED) {
    llhttp_resume(&parser_);
  }
}

const char* Http1Parser::errorReason() const noexcept {
  if (error_ == Error::kHeadersTooLarge) {
    return "request headers too large";
  }
  const char* r = llhttp_get_error_reason(&parser_);
  return r ? r : "malformed message";
}

int Http1Parser::addHeaderBytes(size_t n) noexcept {
  header_bytes_ += n;
  if (header_bytes_ > limits_.max_header_bytes) {
    error_ = Error::kHeadersTooLarge;
    return HPE_USER;
  }
  return 0;
}

int Http1Parser::onMessageBeginCb(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->head_.clear();
  s->header_bytes_ = 0;
  s->in_message_ = true;
  s->head_done_ = false;
  return 0;
}

int Http1Parser::onUrlCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->head_.url.append(at, len);
  return s->addHeaderBytes(len);
}

int Http1Parser::onStatusCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->head_.reason.append(at, len);
  return s->addHeaderBytes(len);
}

int Http1Parser::onMethodCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->head_.method.append(at, len);
  return s->addHeaderBytes(len);
}

int Http1Parser::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->head_.headers.appendNamePiece({at, len});
  return s->addHeaderBytes(len);
}

int Http1Parser::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->head_.headers.appendValuePiece({at, len});
  return s->addHeaderBytes(len);
}

int Http1Parser::onHeaderValueCompleteCb(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->head_.headers.finishEntry();
  if (s->head_.headers.size() > s->limits_.max_headers) {
    s->error_ = Error::kHeadersTooLarge;
    return HPE_USER;
  }
  // 32 bytes of per-header overhead, as HTTP/2's header-list size counts it, so that many
  // tiny headers cannot slip under the byte limit.
  return s->addHeaderBytes(32);
}

int Http1Parser::onHeadersCompleteCb(llhttp_t* p) {
  Http1Parser* s = self(p);
  MessageHead& h = s->head_;
  h.version_major = llhttp_get_http_major(p);
  h.version_minor = llhttp_get_http_minor(p);
  if (s->kind_ == Kind::kRequest) {
    h.method_id = static_cast<llhttp_method_t>(llhttp_get_method(p));
    if (h.version_major != 1) {
      return HPE_USER;  // HTTP/0.9 or 2+ on an HTTP/1 parser
    }
  } else {
    h.status = llhttp_get_status_code(p);
  }
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.content_length = (p->flags & F_CONTENT_LENGTH) ? static_cast<int64_t>(p->content_length) : -1;
  h.upgrade = p->upgrade != 0;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  s->head_done_ = true;
  HeadAction action = s->cb_.onHeaders(h);
  if (s->kind_ == Kind::kResponse && s->head_response_ && h.status >= 200) {
    return 1;
  }
  return action == HeadAction::kSkipBody ? 1 : 0;
}

int Http1Parser::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  self(p)->cb_.onBody({at, len});
  return 0;
}

int Http1Parser::onMessageCompleteCb(llhttp_t* p) {
  Http1Parser* s = self(p);
  s->in_message_ = false;
  bool pause = s->cb_.onMessageComplete();
  return pause ? HPE_PAUSED : 0;
}

namespace {
void appendHeaders(const HeaderMap& headers, std::string& out) {
  headers.forEach([&](std::string_view n, std::string_view v) {
    out.append(n);
    out.append(": ");
    out.append(v);
    out.append("\r\n");
  });
  out.append("\r\n");
}
}  // namespace

void serializeRequestHead(const MessageHead& head, std::string& out) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.url);
  out.append(head.http10() ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  appendHeaders(head.headers, out);
}

void serializeResponseHead(const MessageHead& head, std::string& out) {
  out.append(head.http10() ? "HTTP/1.0 " : "HTTP/1.1 ");
  char num[8];
  auto r = std::to_chars(num, num + sizeof(num), head.status);
  out.append(num, r.ptr);
  out.push_back(' ');
  out.append(head.reason.empty() ? reasonPhrase(head.status) : std::string_view(head.reason));
  out.append("\r\n");
  appendHeaders(head.headers, out);
}

std::string_view reasonPhrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

}  // namespace remora::common
