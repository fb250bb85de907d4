#pragma once
// Http1Parser: one direction of an HTTP/1.x connection (requests or responses), on llhttp.
// It turns bytes into events: a complete message head, body pieces (already de-chunked), the
// trailer section of a chunked message, and the end of each message. Bytes may arrive split at
// any offset; the events are the same.
// Strict by default: conflicting Content-Length / Transfer-Encoding, bad chunk sizes, bad
// request lines and similar smuggling shapes are errors (answer 400), and header or trailer
// sections over the configured limits are kHeadersTooLarge (answer 431).
//
// Methods: llhttp 9.2 parses a fixed list of methods and has no method-agnostic mode. A
// well-formed request line whose method is any other token (`FOO`, or an RTSP-only method such
// as `DESCRIBE`) is the error kUnknownMethod (answer 501), with head().method and head().url
// filled in; a malformed one stays kBadMessage.

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/header_map.h"

namespace remora::common {

struct MessageHead {
  // Requests.
  std::string method;  // as sent, e.g. "GET"
  std::string url;     // request target as sent (origin-form, absolute-form, authority-form)
  llhttp_method_t method_id = HTTP_GET;
  // Responses.
  int status = 0;
  std::string reason;
  // Both.
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  HeaderMap headers;
  bool keep_alive = true;       // per version and Connection header
  bool chunked = false;         // Transfer-Encoding: chunked
  int64_t content_length = -1;  // -1: no Content-Length
  bool upgrade = false;         // requests: Upgrade asked; responses: 101 switching
  // Transfer-Encoding was present (chunked or not). With `chunked` false this is a body coded
  // otherwise and delimited by the connection's end (responses only: such requests are errors).
  bool transfer_encoding = false;

  void clear() noexcept;
  bool isHead() const noexcept { return method_id == HTTP_HEAD; }
  bool http10() const noexcept { return version_major == 1 && version_minor == 0; }
};

// The same limits apply to the head (start line + header section) and, separately, to the
// trailer section of a chunked message.
struct ParserLimits {
  size_t max_header_bytes = 60 * 1024;  // start line + every name and value (+32 per header)
  size_t max_headers = 100;
};

// What the owner asks for after seeing a complete head.
enum class HeadAction : uint8_t {
  kContinue,  // parse a body if the head announces one
  kSkipBody,  // responses to HEAD (and similar): the message has no body whatever it says
};

class Http1Parser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  enum class Status : uint8_t {
    kOk,       // every byte consumed
    kPaused,   // a callback asked to pause; `consumed` bytes used, call resume() then feed rest
    kUpgrade,  // the message switched protocols; bytes after `consumed` belong to the tunnel
    kError,    // malformed input; see error()
  };
  // kUnknownMethod: a well-formed request line with a method llhttp cannot parse (answer 501).
  enum class Error : uint8_t { kNone, kBadMessage, kHeadersTooLarge, kUnknownMethod };

  class Callbacks {
   public:
    // The head is complete. It stays valid and may be modified until the next onMessageBegin.
    virtual HeadAction onHeaders(MessageHead& head) noexcept = 0;
    // A piece of the body (chunk framing already removed). Points into the fed bytes.
    virtual void onBody(std::string_view data) noexcept = 0;
    // The message is complete. Return true to pause parsing right after it (e.g. to answer a
    // pipelined request before reading the next one). A chunked message's trailer fields are
    // in trailers() by now.
    virtual bool onMessageComplete() noexcept = 0;

   protected:
    ~Callbacks() = default;
  };

  struct Result {
    Status status;
    size_t consumed;
  };

  Http1Parser(Kind kind, Callbacks& callbacks, ParserLimits limits = ParserLimits()) noexcept;
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  // Feeds bytes. Callbacks run synchronously inside.
  Result feed(const char* data, size_t len) noexcept;
  Result feed(std::string_view data) noexcept { return feed(data.data(), data.size()); }
  // The peer closed. Completes a message delimited by EOF (responses without length);
  // returns kError when a message was cut short.
  Status finish() noexcept;
  // Leaves the paused state (no-op when not paused); the caller then feeds the bytes that were
  // not consumed.
  void resume() noexcept;
  // True after a callback asked to pause (or an upgrade stopped parsing), until resume().
  bool paused() const noexcept;
  // Back to the initial state (used by upstream connections that start a fresh exchange).
  void reset() noexcept;
  // Responses only: the next response answers a HEAD request (no body, whatever it says).
  void expectHeadResponse(bool v) noexcept { head_response_ = v; }
  bool headResponseExpected() const noexcept { return head_response_; }

  // True between the first byte of a message and its end.
  bool inMessage() const noexcept { return in_message_; }
  // True once the head of the current message was delivered.
  bool headDone() const noexcept { return head_done_; }
  Error error() const noexcept { return error_; }
  const char* errorReason() const noexcept;
  const MessageHead& head() const noexcept { return head_; }
  MessageHead& head() noexcept { return head_; }
  // The trailer fields of the current chunked message, as received (nothing is removed: see
  // appendLastChunk for what may be forwarded). Complete from onMessageComplete on and valid
  // until the next message begins; empty for other messages. Never part of head().headers.
  // Kept only by a parser that met a trailer section: an idle connection does not pay for it.
  bool hasTrailers() const noexcept { return trailers_ != nullptr && trailers_->size() != 0; }
  const HeaderMap& trailers() const noexcept;
  HeaderMap& trailers() noexcept;
  // After onMessageComplete: may the connection carry another message?
  bool shouldKeepAlive() const noexcept { return llhttp_should_keep_alive(&parser_) != 0; }

 private:
  // The callbacks below, in llhttp's form (one table for every parser).
  static const llhttp_settings_t kSettings;
  static int onMessageBeginCb(llhttp_t* p);
  static int onUrlCb(llhttp_t* p, const char* at, size_t len);
  static int onStatusCb(llhttp_t* p, const char* at, size_t len);
  static int onMethodCb(llhttp_t* p, const char* at, size_t len);
  static int onMethodCompleteCb(llhttp_t* p);
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCompleteCb(llhttp_t* p);
  static int onHeadersCompleteCb(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageCompleteCb(llhttp_t* p);

  int addHeaderBytes(size_t n) noexcept;
  // The header map being filled: the head's, or the trailers once the head is done.
  HeaderMap& fieldsInProgress() noexcept { return head_done_ ? trailers() : head_.headers; }
  // llhttp stopped at a method it does not know: collect the request line (llhttp's state is
  // an error from here on) and decide between kUnknownMethod and kBadMessage.
  Result startMethodLine(const char* data, size_t len) noexcept;
  Result continueMethodLine(const char* data, size_t len) noexcept;

  llhttp_t parser_;  // its settings (the callbacks below) are shared by every parser
  Kind kind_;
  Callbacks& cb_;
  ParserLimits limits_;
  MessageHead head_;
  std::unique_ptr<HeaderMap> trailers_;  // null until a message has trailers
  // The request line of an unknown method while it arrives (empty, no allocation, otherwise).
  std::string method_line_;
  bool in_method_line_ = false;
  bool rejected_method_ = false;  // onMethodCompleteCb refused an RTSP-only method
  Error error_ = Error::kNone;
  size_t header_bytes_ = 0;
  bool in_message_ = false;
  bool head_done_ = false;
  bool head_response_ = false;
};

// Appends the serialized head (start line + headers + blank line) to `out`. Removed headers are
// skipped. Requests use head.method and head.url; responses head.status and head.reason.
void serializeRequestHead(const MessageHead& head, std::string& out);
void serializeResponseHead(const MessageHead& head, std::string& out);

// `v` without the spaces and tabs around it.
inline std::string_view trimOws(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

// Calls f(element) for each non-empty element of a comma-separated field value (RFC 9110
// 5.6.1), trimmed of the whitespace around it.
template <typename F>
void forEachListElement(std::string_view v, F&& f) {
  while (true) {
    size_t comma = v.find(',');
    std::string_view e = trimOws(v.substr(0, comma));
    if (!e.empty()) {
      f(e);
    }
    if (comma == std::string_view::npos) {
      return;
    }
    v.remove_prefix(comma + 1);
  }
}

// Trailer fields a proxy must not forward (RFC 9110 6.5.1 and 7.6.1): hop-by-hop fields,
// framing (Content-Length, Transfer-Encoding, Trailer), routing (Host), request modifiers and
// controls, authentication and cookies, response controls, content metadata, and the fields
// the proxy itself sets (x-request-id, x-forwarded-*, x-remora-*). Any case.
bool isForbiddenTrailer(std::string_view name) noexcept;
// Appends the last chunk of a chunked body: "0\r\n", the trailer fields that may be forwarded
// (isForbiddenTrailer drops the others), and the final CRLF.
void appendLastChunk(const HeaderMap& trailers, std::string& out);

// The transfer codings of `headers` applied before a final "chunked", joined with ", "
// (e.g. "gzip" for `Transfer-Encoding: gzip, chunked`), appended to `out`. False, with `out`
// untouched, when there are none (no Transfer-Encoding, or only chunked: the common case costs
// no allocation). Elements are trimmed of whitespace and otherwise kept as sent.
bool appendTransferCodings(const HeaderMap& headers, std::string& out);
// True when the coding list (as appendTransferCodings produced it) names chunked, which may be
// applied only once and last (RFC 9112 7).
bool codingsNameChunked(std::string_view codings) noexcept;
// Standard reason phrase for a status code ("OK", "Not Found", ...).
std::string_view reasonPhrase(int status) noexcept;

}  // namespace remora::common
