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
  transfer_encoding = false;
}

namespace {
inline Http1Parser* self(llhttp_t* p) {
  return static_cast<Http1Parser*>(p->data);
}

// The methods llhttp parses as HTTP ones; its other methods (RTSP's, PRI) are not HTTP/1.
bool isHttpMethod(uint8_t m) noexcept {
  switch (m) {
#define REMORA_HTTP_METHOD_CASE(num, name, string) case num:
    HTTP_METHOD_MAP(REMORA_HTTP_METHOD_CASE)
#undef REMORA_HTTP_METHOD_CASE
    return true;
    default:
      return false;
  }
}

// RFC 9110 5.6.2 tchar.
bool isTchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// Checks a request line (without its line end) of the form `token SP target SP HTTP/1.x` and
// fills the head from it. The target must be visible ASCII, as llhttp's strict mode wants.
bool parseRequestLine(std::string_view line, MessageHead& head) {
  size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) {
    return false;
  }
  for (size_t i = 0; i < sp1; ++i) {
    if (!isTchar(static_cast<unsigned char>(line[i]))) {
      return false;
    }
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == sp1 + 1 || sp2 == std::string_view::npos) {
    return false;
  }
  for (size_t i = sp1 + 1; i < sp2; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return false;
    }
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return false;
  }
  head.method.assign(line.substr(0, sp1));
  head.url.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
  head.version_major = 1;
  head.version_minor = static_cast<uint8_t>(version.back() - '0');
  return true;
}
}  // namespace

const llhttp_settings_t Http1Parser::kSettings = [] {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = onMessageBeginCb;
  s.on_url = onUrlCb;
  s.on_status = onStatusCb;
  s.on_method = onMethodCb;
  s.on_method_complete = onMethodCompleteCb;
  s.on_header_field = onHeaderFieldCb;
  s.on_header_value = onHeaderValueCb;
  s.on_header_value_complete = onHeaderValueCompleteCb;
  s.on_headers_complete = onHeadersCompleteCb;
  s.on_body = onBodyCb;
  s.on_message_complete = onMessageCompleteCb;
  return s;
}();

Http1Parser::Http1Parser(Kind kind, Callbacks& callbacks, ParserLimits limits) noexcept
    : kind_(kind), cb_(callbacks), limits_(limits) {
  reset();
}

const HeaderMap& Http1Parser::trailers() const noexcept {
  static const HeaderMap kNone;
  return trailers_ != nullptr ? *trailers_ : kNone;
}

HeaderMap& Http1Parser::trailers() noexcept {
  if (trailers_ == nullptr) {
    trailers_ = std::make_unique<HeaderMap>();
  }
  return *trailers_;
}

void Http1Parser::reset() noexcept {
  llhttp_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &kSettings);
  parser_.data = this;
  error_ = Error::kNone;
  in_message_ = false;
  head_done_ = false;
  in_method_line_ = false;
  rejected_method_ = false;
  method_line_.clear();
}

Http1Parser::Result Http1Parser::feed(const char* data, size_t len) noexcept {
  if (error_ != Error::kNone) {
    return {Status::kError, 0};
  }
  if (in_method_line_) {
    return continueMethodLine(data, len);
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
    case HPE_INVALID_METHOD:
      if (kind_ == Kind::kRequest && error_ == Error::kNone) {
        return startMethodLine(data, len);
      }
      [[fallthrough]];
    default:
      if (rejected_method_ && error_ == Error::kNone) {
        return startMethodLine(data, len);
      }
      if (error_ == Error::kNone) {
        error_ = Error::kBadMessage;
      }
      return {Status::kError, 0};
  }
}

Http1Parser::Result Http1Parser::startMethodLine(const char* data, size_t len) noexcept {
  // The line so far: the method pieces llhttp already delivered, the bytes of a method span
  // still open in this buffer (llhttp keeps its start in _span_pos0 and does not flush it on
  // an error), then everything from where llhttp stopped.
  const char* pos = llhttp_get_error_pos(&parser_);
  if (pos == nullptr || pos < data || pos > data + len) {
    pos = data + len;
  }
  method_line_ = head_.method;
  const char* span = static_cast<const char*>(parser_._span_pos0);
  if (!rejected_method_ && span != nullptr && span >= data && span <= pos) {
    method_line_.append(span, static_cast<size_t>(pos - span));
  }
  in_method_line_ = true;
  in_message_ = true;
  return continueMethodLine(pos, static_cast<size_t>(data + len - pos));
}

Http1Parser::Result Http1Parser::continueMethodLine(const char* data, size_t len) noexcept {
  std::string_view in(data, len);
  size_t lf = in.find('\n');
  method_line_.append(in.substr(0, lf == std::string_view::npos ? len : lf + 1));
  if (method_line_.size() > limits_.max_header_bytes) {
    in_method_line_ = false;
    error_ = Error::kHeadersTooLarge;
    return {Status::kError, 0};
  }
  if (lf == std::string_view::npos) {
    return {Status::kOk, len};  // the rest of the line has yet to come
  }
  in_method_line_ = false;
  std::string_view line = method_line_;
  line.remove_suffix(1);
  bool crlf = !line.empty() && line.back() == '\r';
  if (crlf) {
    line.remove_suffix(1);
  }
  error_ = crlf && parseRequestLine(line, head_) ? Error::kUnknownMethod : Error::kBadMessage;
  std::string().swap(method_line_);
  return {Status::kError, 0};
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
    return head_done_ ? "trailer section too large" : "request headers too large";
  }
  if (error_ == Error::kUnknownMethod) {
    return "method not implemented";
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
  s->head_.headers.reuseSpare();  // (when an idle connection gave its buffers away)
  if (s->trailers_ != nullptr &&
      (s->trailers_->byteSize() != 0 || !s->trailers_->entries().empty())) {
    s->trailers_->clear();
  }
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

int Http1Parser::onMethodCompleteCb(llhttp_t* p) {
  if (isHttpMethod(p->method)) {
    return 0;
  }
  // An RTSP method (or PRI) on an HTTP/1 connection: unknown here, like any other token.
  self(p)->rejected_method_ = true;
  return HPE_USER;
}

int Http1Parser::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->fieldsInProgress().appendNamePiece({at, len});
  return s->addHeaderBytes(len);
}

int Http1Parser::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* s = self(p);
  s->fieldsInProgress().appendValuePiece({at, len});
  return s->addHeaderBytes(len);
}

int Http1Parser::onHeaderValueCompleteCb(llhttp_t* p) {
  Http1Parser* s = self(p);
  HeaderMap& fields = s->fieldsInProgress();
  fields.finishEntry();
  if (fields.size() > s->limits_.max_headers) {
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
  h.transfer_encoding = (p->flags & F_TRANSFER_ENCODING) != 0;
  h.content_length = (p->flags & F_CONTENT_LENGTH) ? static_cast<int64_t>(p->content_length) : -1;
  h.upgrade = p->upgrade != 0;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  s->head_done_ = true;
  s->header_bytes_ = 0;  // a trailer section has a budget of its own
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

namespace {
// Lower-case names; compared case-insensitively.
constexpr std::string_view kForbiddenTrailers[] = {
    // hop-by-hop (RFC 9110 7.6.1) and framing
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    // routing and request modifiers / controls
    "host",
    "expect",
    "max-forwards",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "cache-control",
    "pragma",
    // authentication and cookies
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "cookie",
    "set-cookie",
    // response controls
    "age",
    "date",
    "expires",
    "location",
    "retry-after",
    "vary",
    "warning",
    // content metadata
    "content-encoding",
    "content-type",
    "content-range",
    // what the proxy itself sets
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
};

bool isChunked(std::string_view coding) noexcept {
  return equalsIgnoreCase(coding, "chunked");
}
}  // namespace

bool isForbiddenTrailer(std::string_view name) noexcept {
  constexpr std::string_view kOwnPrefix = "x-remora-";  // x-remora-attempt, x-remora-reason
  if (name.size() >= kOwnPrefix.size() &&
      equalsIgnoreCase(name.substr(0, kOwnPrefix.size()), kOwnPrefix)) {
    return true;
  }
  for (std::string_view f : kForbiddenTrailers) {
    if (equalsIgnoreCase(name, f)) {
      return true;
    }
  }
  return false;
}

void appendLastChunk(const HeaderMap& trailers, std::string& out) {
  out.append("0\r\n");
  trailers.forEach([&](std::string_view n, std::string_view v) {
    if (!isForbiddenTrailer(n)) {
      out.append(n).append(": ").append(v).append("\r\n");
    }
  });
  out.append("\r\n");
}

bool appendTransferCodings(const HeaderMap& headers, std::string& out) {
  int n = headers.count(Wk::kTransferEncoding);
  if (n == 0 || (n == 1 && isChunked(trimOws(headers.get(Wk::kTransferEncoding))))) {
    return false;  // the common case: nothing to build
  }
  std::string list;
  for (const HeaderMap::Entry& e : headers.entries()) {
    if (e.removed || e.wk != Wk::kTransferEncoding) {
      continue;
    }
    forEachListElement(headers.valueOf(e), [&](std::string_view coding) {
      if (!list.empty()) {
        list.append(", ");
      }
      list.append(coding);
    });
  }
  // Drop a final "chunked": the caller frames the body itself.
  size_t last = list.rfind(", ");
  std::string_view tail =
      last == std::string::npos ? std::string_view(list) : std::string_view(list).substr(last + 2);
  if (isChunked(tail)) {
    list.resize(last == std::string::npos ? 0 : last);
  }
  if (list.empty()) {
    return false;
  }
  out.append(list);
  return true;
}

bool codingsNameChunked(std::string_view codings) noexcept {
  bool found = false;
  forEachListElement(codings, [&](std::string_view coding) {
    // A coding may carry parameters ("chunked;x=1" is still chunked).
    found = found || isChunked(trimOws(coding.substr(0, coding.find(';'))));
  });
  return found;
}

std::string_view reasonPhrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace remora::common
