#include "common/http_server.h"

#include "common/tcp_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/tcp_connection.h"
#include "common/timer.h"

namespace remora::common {

namespace {

// Streamed bodies: produce this much per step, and stop producing while this much is queued.
constexpr size_t kStreamPiece = 64 * 1024;
constexpr size_t kStreamWindow = 256 * 1024;
// Chunked answers built from a string body use chunks of at most this size.
constexpr size_t kChunkSize = 16 * 1024;
// A connection keeps at most this much of its buffer for encrypted output between writes.
constexpr size_t kKeepWireBytes = 64 * 1024;
// The plain-text answer to a plain HTTP request on a secure port.
constexpr std::string_view kPlainHttpBody = "this port speaks HTTPS; use https:// to reach it\n";
static_assert(kPlainHttpBody.size() == 49, "Content-Length below");
constexpr std::string_view kPlainHttpHead =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 49\r\n"
    "Connection: close\r\n\r\n";

// Decrypted bytes of the read being handled. One per thread: reads never nest, and the bytes
// are consumed (copied into the parser's buffer or handed to a tunnel) before the next read.
std::string& decryptedScratch() noexcept {
  thread_local std::string scratch;
  return scratch;
}

int hexValue(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Finds parameter `name` in "a=1&b=2"; sets *value to its raw (undecoded) value.
bool findQuery(std::string_view qs, std::string_view name, std::string_view* value) {
  while (!qs.empty()) {
    size_t amp = qs.find('&');
    std::string_view pair = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name || percentDecode(key) == name) {
      *value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      return true;
    }
  }
  return false;
}

// True when the comma-separated header value holds `token` (any case).
bool hasToken(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view t = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) {
      t.remove_prefix(1);
    }
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) {
      t.remove_suffix(1);
    }
    if (equalsIgnoreCase(t, token)) {
      return true;
    }
  }
  return false;
}

void appendHex(std::string& out, size_t n) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), n, 16);
  out.append(buf, r.ptr);
}

void appendChunked(std::string& out, std::string_view body) {
  while (!body.empty()) {
    size_t n = std::min(body.size(), kChunkSize);
    appendHex(out, n);
    out.append("\r\n");
    out.append(body.substr(0, n));
    out.append("\r\n");
    body.remove_prefix(n);
  }
  out.append("0\r\n\r\n");
}

// Splits a request target into path and query string. Absolute-form targets lose their scheme
// and authority.
void splitTarget(std::string_view target, std::string& path, std::string& query) {
  size_t scheme = target.find("://");
  if (scheme != std::string_view::npos && target.find('/') > scheme) {
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t q = target.find('?');
  path.assign(target.substr(0, q));
  query.assign(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
}

enum class SlotAction : uint8_t { kPending, kRespond, kClose, kReset, kUpgrade };

// One request waiting for (or in the middle of sending) its answer.
struct Slot {
  uint64_t id = 0;
  SlotAction action = SlotAction::kPending;
  bool head_request = false;
  bool http10 = false;
  bool keep_alive = true;
  bool upgrade_request = false;
  HttpResponse response;
  TunnelHandler tunnel;
  // Progress of a kRespond answer.
  bool started = false;
  bool chunked = false;
  bool send_body = true;
  uint64_t sent = 0;
};

}  // namespace

std::string HttpRequest::query(std::string_view name) const {
  std::string_view v;
  if (!findQuery(query_string, name, &v)) {
    return {};
  }
  return percentDecode(v);
}

bool HttpRequest::hasQuery(std::string_view name) const noexcept {
  std::string_view v;
  return findQuery(query_string, name, &v);
}

HttpResponse::HttpResponse(int s, std::string b, std::string_view content_type)
    : status(s), body(std::move(b)) {
  if (!content_type.empty()) {
    headers.add("Content-Type", content_type);
  }
}

void HttpResponse::setBodySource(uint64_t length, BodySource src) {
  body.clear();
  source_length = length;
  source = std::move(src);
}

struct Responder::State {
  std::weak_ptr<HttpServerConnection> conn;
  uint64_t slot = 0;
  bool done = false;
  ~State();
};

// One accepted connection: parses requests, queues answers in order, writes them, and becomes
// a Tunnel after an upgrade. Owned by the server's map; freed through deferDelete.
class HttpServerConnection final : public TcpConnection::Handler,
                                   public Http1Parser::Callbacks,
                                   public Tunnel,
                                   public std::enable_shared_from_this<HttpServerConnection> {
 public:
  explicit HttpServerConnection(HttpServer& server)
      : server_(&server),
        loop_(server.loop_),
        options_(server.options_),
        tcp_(server.loop_, *this),
        parser_(Http1Parser::Kind::kRequest, *this, server.options_.limits),
        timer_(server.loop_.uv(), [this] { onTimer(); }) {}

  int start(uv_stream_t* listener) noexcept {
    int rc = tcp_.accept(listener);
    if (rc != 0) {
      return rc;
    }
    if (options_.secure) {
      secure_ = options_.secure->serverChannel();
      if (!secure_) {
        return UV_ENOMEM;
      }
    }
    peer_ = tcp_.peerAddress();
    last_activity_ms_ = loop_.nowMs();
    accepted_ms_ = last_activity_ms_;
    // A silent connection is a request that does not arrive: its clock starts now.
    receiving_ = true;
    request_start_ms_ = last_activity_ms_;
    armTimer();
    updateReading();
    return 0;
  }

  void detach() noexcept { server_ = nullptr; }

  // Closes at once. Idempotent. The object itself is freed later (deferDelete).
  void closeNow(bool reset) noexcept {
    if (closed_) {
      return;
    }
    closed_ = true;
    tcp_.close(reset);
    timer_.stop();
    slots_.clear();
    if (server_ != nullptr) {
      HttpServer* s = server_;
      server_ = nullptr;
      s->release(this);  // deferred: this object lives until the loop's check phase
    }
    if (tunnel_ && tunnel_handler_.on_close) {
      // Moved out so that the callback may be freed by the user's code without harm.
      auto on_close = std::move(tunnel_handler_.on_close);
      tunnel_handler_.on_close = nullptr;
      on_close();
    }
  }

  static void answer(Responder::State* s, SlotAction action, HttpResponse&& r,
                     TunnelHandler&& t) noexcept {
    if (s == nullptr || s->done) {
      return;
    }
    s->done = true;
    std::shared_ptr<HttpServerConnection> c = s->conn.lock();
    if (c && !c->closed_) {
      c->complete(s->slot, action, std::move(r), std::move(t));
    }
  }

  bool alive() const noexcept { return !closed_; }

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override {
    last_activity_ms_ = loop_.nowMs();
    if (closed_) {
      return;
    }
    if (secure_) {
      onSecureData(std::string_view(data, len));
      return;
    }
    onBytes(data, len);
  }

  // Bytes of the HTTP stream (as read, or decrypted).
  void onBytes(const char* data, size_t len) noexcept {
    if (tunnel_) {
      if (tunnel_handler_.on_data) {
        tunnel_handler_.on_data(*this, std::string_view(data, len));
      }
      return;
    }
    if (stop_parsing_ && !upgrade_pending_) {
      return;  // closing: what the peer still sends is dropped
    }
    if (!receiving_) {
      receiving_ = true;
      request_start_ms_ = last_activity_ms_;
      if (options_.request_timeout_ms > 0) {
        armTimer();
      }
    }
    in_.append(data, len);
    parse();
  }

  void onEof() noexcept override {
    peer_eof_ = true;
    reading_ = false;  // libuv stopped reading
    if (closed_) {
      return;
    }
    onPeerEnded();
  }

  // The peer sends nothing more (EOF, or the end of its secure session).
  void onPeerEnded() noexcept {
    if (tunnel_ || finishing_) {
      closeWhenDrained();
      return;
    }
    // A partial request can never complete now; answer what is complete, then close.
    stop_parsing_ = true;
    if (slots_.empty()) {
      finish();
    } else {
      pump();
    }
  }

  void onError(int uv_err) noexcept override {
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("http server: connection from {}: {}", peer_.toString(), uv_strerror(uv_err));
    }
    reading_ = false;
    closeNow(false);
  }

  void onHighWatermark() noexcept override {
    write_blocked_ = true;
    updateReading();
  }

  void onLowWatermark() noexcept override {
    last_activity_ms_ = loop_.nowMs();
    write_blocked_ = false;
    updateReading();
    pump();
  }

  void onDrained() noexcept override {
    if (closed_) {
      return;
    }
    last_activity_ms_ = loop_.nowMs();
    if (close_when_drained_) {
      closeNow(false);
      return;
    }
    if (finishing_ && !lingering_) {
      startLinger();
      return;
    }
    pump();
  }

  // Http1Parser::Callbacks
  HeadAction onHeaders(MessageHead& head) noexcept override {
    body_.clear();
    if (head.content_length > static_cast<int64_t>(options_.max_body_bytes)) {
      reject_status_ = 413;
      return HeadAction::kContinue;
    }
    if (head.content_length > 0) {
      body_.reserve(static_cast<size_t>(head.content_length));
    }
    if (!head.http10() && slots_.empty() && (head.content_length > 0 || head.chunked) &&
        equalsIgnoreCase(head.headers.get(Wk::kExpect), "100-continue")) {
      send("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return HeadAction::kContinue;
  }

  void onBody(std::string_view data) noexcept override {
    if (reject_status_ != 0) {
      return;
    }
    if (body_.size() + data.size() > options_.max_body_bytes) {
      reject_status_ = 413;
      return;
    }
    body_.append(data);
  }

  bool onMessageComplete() noexcept override {
    message_done_ = true;
    return true;  // pause: the request is dispatched before the next one is parsed
  }

  // Tunnel
  void write(std::string_view data) noexcept override {
    if (!closed_) {
      send(data);
    }
  }

  void close(bool reset) noexcept override {
    if (reset) {
      closeNow(true);
    } else {
      closeWhenDrained();
    }
  }

  bool closed() const noexcept override { return closed_; }
  SocketAddress peer() const noexcept override { return peer_; }

 private:
  void onTimer() noexcept {
    if (closed_) {
      return;
    }
    if (lingering_) {
      closeNow(false);  // the peer did not close in time after our last answer
      return;
    }
    if (tunnel_) {
      return;
    }
    const uint64_t now = loop_.nowMs();
    if (handshaking() && (handshakeLate(now) || requestLate(now))) {
      spdlog::debug("http server: no secure handshake from {} within {} ms; closing",
                    peer_.toString(), now - accepted_ms_);
      if (server_ != nullptr) {
        server_->refused(HttpServer::kRefusedHandshakeTimeout);
      }
      closeNow(false);
      return;
    }
    if (requestLate(now)) {
      spdlog::debug("http server: no complete request from {} within {} ms; closing",
                    peer_.toString(), options_.request_timeout_ms);
      receiving_ = false;
      if (server_ != nullptr) {
        server_->refused(408);
      }
      reject(408, "request timeout\n");
      return;
    }
    // Waiting for the handler is not idleness; waiting for the peer (to send, or to read what
    // we queued) is.
    bool waiting_for_handler = !slots_.empty() && tcp_.pendingBytes() == 0;
    if (options_.idle_timeout_ms > 0 && !waiting_for_handler &&
        now - last_activity_ms_ >= options_.idle_timeout_ms) {
      spdlog::debug("http server: closing idle connection from {}", peer_.toString());
      closeNow(false);
      return;
    }
    armTimer();
  }

  // The request being received (or the first one awaited) is over request_timeout_ms.
  bool requestLate(uint64_t now) const noexcept {
    return options_.request_timeout_ms > 0 && receiving_ && !stop_parsing_ && slots_.empty() &&
           now - request_start_ms_ >= options_.request_timeout_ms;
  }

  bool handshaking() const noexcept {
    return secure_ && secure_->state() == SecureChannel::State::kHandshaking;
  }

  bool handshakeLate(uint64_t now) const noexcept {
    return options_.handshake_timeout_ms > 0 && now - accepted_ms_ >= options_.handshake_timeout_ms;
  }

  // Starts the timer for the nearest of the idle, handshake and request deadlines (none:
  // stopped).
  void armTimer() noexcept {
    const uint64_t now = loop_.nowMs();
    uint64_t next = 0;
    const auto consider = [&next](uint64_t in) { next = next == 0 ? in : std::min(next, in); };
    if (options_.idle_timeout_ms > 0) {
      const uint64_t idle_for = now - last_activity_ms_;
      const bool waiting_for_handler = !slots_.empty() && tcp_.pendingBytes() == 0;
      consider(waiting_for_handler || idle_for >= options_.idle_timeout_ms
                   ? options_.idle_timeout_ms
                   : options_.idle_timeout_ms - idle_for);
    }
    if (options_.request_timeout_ms > 0 && receiving_) {
      const uint64_t took = now - request_start_ms_;
      consider(took >= options_.request_timeout_ms ? 1 : options_.request_timeout_ms - took);
    }
    if (options_.handshake_timeout_ms > 0 && handshaking()) {
      const uint64_t took = now - accepted_ms_;
      consider(took >= options_.handshake_timeout_ms ? 1 : options_.handshake_timeout_ms - took);
    }
    if (next > 0) {
      timer_.start(next);
    }
  }

  void updateReading() noexcept {
    if (closed_ || peer_eof_) {
      return;
    }
    bool want = !write_blocked_ && (tunnel_ || (stop_parsing_ && !upgrade_pending_) ||
                                    (!upgrade_pending_ && slots_.size() < options_.max_pipelined));
    if (want && !reading_) {
      reading_ = true;
      tcp_.readStart();
    } else if (!want && reading_) {
      reading_ = false;
      tcp_.readStop();
    }
  }

  // Parses buffered bytes into requests and dispatches them, as far as the pipeline allows.
  void parse() noexcept {
    if (in_parse_ || closed_) {
      return;
    }
    in_parse_ = true;
    while (!closed_ && !tunnel_ && !stop_parsing_ && !upgrade_pending_ &&
           slots_.size() < options_.max_pipelined && in_off_ < in_.size()) {
      if (parser_paused_) {
        parser_.resume();
        parser_paused_ = false;
      }
      Http1Parser::Result r = parser_.feed(in_.data() + in_off_, in_.size() - in_off_);
      if (reject_status_ != 0) {
        if (server_ != nullptr) {
          server_->refused(reject_status_);
        }
        reject(reject_status_, "request body too large\n");
        break;
      }
      if (r.status == Http1Parser::Status::kError) {
        spdlog::debug("http server: bad request from {}: {}", peer_.toString(),
                      parser_.errorReason());
        rejectParseError();
        break;
      }
      if (r.status == Http1Parser::Status::kOk) {
        in_off_ = in_.size();
      } else {
        in_off_ += r.consumed;
        parser_paused_ = true;
      }
      if (message_done_) {
        dispatch();
      }
    }
    if (!closed_ && !tunnel_) {
      if (stop_parsing_ && !upgrade_pending_) {
        in_.clear();
        in_off_ = 0;
      } else if (in_off_ > 0) {
        in_.erase(0, in_off_);
        in_off_ = 0;
      }
    }
    in_parse_ = false;
    updateReading();
  }

  // Queues an error answer after the pending ones and stops taking requests.
  void reject(int status, std::string body) noexcept {
    reject(HttpResponse(status, std::move(body)));
  }
  void reject(HttpResponse response) noexcept {
    stop_parsing_ = true;
    Slot& s = slots_.emplace_back();
    s.id = next_slot_++;
    s.keep_alive = false;
    s.action = SlotAction::kRespond;
    s.response = std::move(response);
    pump();
  }

  // The answer to a request the parser refused: 431, 501 for a method llhttp cannot parse
  // (named, with the reason header the proxy's listeners use), else 400.
  void rejectParseError() noexcept {
    if (server_ != nullptr) {
      server_->refused(parser_.error() == Http1Parser::Error::kHeadersTooLarge  ? 431
                       : parser_.error() == Http1Parser::Error::kUnknownMethod ? 501
                                                                                : 400);
    }
    switch (parser_.error()) {
      case Http1Parser::Error::kHeadersTooLarge:
        reject(431, std::string(parser_.errorReason()) + "\n");
        return;
      case Http1Parser::Error::kUnknownMethod: {
        std::string_view method = std::string_view(parser_.head().method).substr(0, 64);
        HttpResponse r(501, "method-not-implemented: " + std::string(method) + "\n");
        r.headers.add("x-remora-reason", "method-not-implemented");
        reject(std::move(r));
        return;
      }
      default:
        reject(400, std::string(parser_.errorReason()) + "\n");
        return;
    }
  }

  void dispatch() noexcept {
    message_done_ = false;
    receiving_ = false;
    MessageHead& h = parser_.head();
    Slot& slot = slots_.emplace_back();
    slot.id = next_slot_++;
    slot.head_request = h.isHead();
    slot.http10 = h.http10();
    slot.keep_alive = h.keep_alive;
    slot.upgrade_request = h.upgrade;
    if (!h.keep_alive) {
      stop_parsing_ = true;
    }
    if (h.upgrade) {
      upgrade_pending_ = true;
    }
    HttpRequest req;
    req.method = std::move(h.method);
    req.method_id = h.method_id;
    req.target = std::move(h.url);
    splitTarget(req.target, req.path, req.query_string);
    req.version_minor = h.version_minor;
    req.headers = std::move(h.headers);
    h.headers.clear();
    req.body = std::move(body_);
    body_ = std::string();
    req.peer = peer_;
    req.request_on_connection = ++requests_;
    req.keep_alive = h.keep_alive;
    req.upgrade = h.upgrade;
    auto state = std::make_shared<Responder::State>();
    state->conn = weak_from_this();
    state->slot = slot.id;
    if (server_ != nullptr) {
      server_->handler_(req, Responder(std::move(state)));
    }
  }

  void complete(uint64_t id, SlotAction action, HttpResponse&& r, TunnelHandler&& t) noexcept {
    auto it =
        std::find_if(slots_.begin(), slots_.end(), [id](const Slot& s) { return s.id == id; });
    if (it == slots_.end() || it->action != SlotAction::kPending) {
      return;
    }
    if (action == SlotAction::kUpgrade && !it->upgrade_request) {
      spdlog::warn("http server: upgrade() on a request that did not ask for one");
      action = SlotAction::kRespond;
      r = HttpResponse(500, "upgrade without an upgrade request\n");
      t = TunnelHandler();
    }
    it->action = action;
    it->response = std::move(r);
    it->tunnel = std::move(t);
    pump();
  }

  // Writes ready answers in request order; may finish, reset or upgrade the connection.
  void pump() noexcept {
    if (in_pump_) {
      pump_again_ = true;
      return;
    }
    in_pump_ = true;
    do {
      pump_again_ = false;
      pumpOnce();
    } while (pump_again_ && !closed_);
    in_pump_ = false;
    if (!closed_ && !tunnel_) {
      parse();  // answers may have unblocked the pipeline
    }
  }

  void pumpOnce() noexcept {
    while (!closed_ && !slots_.empty() && slots_.front().action != SlotAction::kPending) {
      Slot& s = slots_.front();
      switch (s.action) {
        case SlotAction::kReset:
          closeNow(true);
          return;
        case SlotAction::kClose:
          slots_.clear();
          stop_parsing_ = true;
          upgrade_pending_ = false;
          break;
        case SlotAction::kUpgrade:
          startTunnel();
          return;
        case SlotAction::kRespond: {
          if (!writeResponse(s)) {
            return;  // waiting for the socket to drain, or closed
          }
          bool keep_alive = s.keep_alive;
          if (s.upgrade_request) {
            upgrade_pending_ = false;
          }
          slots_.pop_front();
          if (!keep_alive) {
            stop_parsing_ = true;
            upgrade_pending_ = false;
            slots_.clear();
          }
          break;
        }
        case SlotAction::kPending:
          return;
      }
    }
    if (!closed_ && !tunnel_ && stop_parsing_ && !upgrade_pending_ && slots_.empty()) {
      finish();
    }
  }

  // Returns true once the whole answer is queued on the socket.
  bool writeResponse(Slot& s) noexcept {
    HttpResponse& r = s.response;
    if (!s.started) {
      s.started = true;
      if (hasToken(r.headers.get(Wk::kConnection), "close")) {
        s.keep_alive = false;
      }
      r.headers.remove(Wk::kConnection);
      r.headers.remove(Wk::kContentLength);
      r.headers.remove(Wk::kTransferEncoding);
      bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
      s.chunked = r.chunked && !s.http10 && !bodyless;
      s.send_body = !bodyless && !s.head_request;
      if (s.chunked) {
        r.headers.add("Transfer-Encoding", "chunked");
      } else if (!bodyless) {
        char num[24];
        auto res = std::to_chars(num, num + sizeof(num), r.bodyLength());
        r.headers.add("Content-Length", std::string_view(num, res.ptr - num));
      }
      if (!s.keep_alive) {
        r.headers.add("Connection", "close");
      } else if (s.http10) {
        r.headers.add("Connection", "keep-alive");
      }
      MessageHead head;
      head.status = r.status;
      head.headers = std::move(r.headers);
      std::string out;
      out.reserve(256);
      serializeResponseHead(head, out);
      if (!s.send_body) {
        send(out);
        return !closed_;
      }
      if (!r.source) {
        if (s.chunked) {
          appendChunked(out, r.body);
          send(out);
        } else {
          send(out, r.body);
        }
        std::string().swap(r.body);
        return !closed_;
      }
      send(out);
    }
    if (!s.send_body || !r.source) {
      return !closed_;
    }
    while (s.sent < r.source_length) {
      if (closed_) {
        return false;
      }
      if (tcp_.pendingBytes() >= kStreamWindow) {
        return false;  // onDrained() resumes
      }
      size_t n = static_cast<size_t>(std::min<uint64_t>(kStreamPiece, r.source_length - s.sent));
      scratch_.clear();
      r.source(s.sent, n, scratch_);
      if (scratch_.size() != n) {
        spdlog::error("http server: body source produced {} bytes instead of {}", scratch_.size(),
                      n);
        closeNow(true);
        return false;
      }
      s.sent += n;
      if (s.chunked) {
        std::string line;
        appendHex(line, n);
        line.append("\r\n");
        scratch_.append("\r\n");
        send(line, scratch_);
      } else {
        send(scratch_);
      }
    }
    if (s.chunked && !closed_) {
      send("0\r\n\r\n");
    }
    if (scratch_.capacity() > kStreamPiece * 2) {
      std::string().swap(scratch_);
    }
    return !closed_;
  }

  void startTunnel() noexcept {
    Slot s = std::move(slots_.front());
    slots_.clear();
    upgrade_pending_ = false;
    HttpResponse& r = s.response;
    r.headers.remove(Wk::kContentLength);
    r.headers.remove(Wk::kTransferEncoding);
    if (r.status == 101 && !r.headers.has(Wk::kConnection)) {
      r.headers.add("Connection", "Upgrade");
    }
    MessageHead head;
    head.status = r.status;
    head.headers = std::move(r.headers);
    std::string out;
    serializeResponseHead(head, out);
    send(out);
    if (closed_) {
      return;
    }
    tunnel_ = true;
    tunnel_handler_ = std::move(s.tunnel);
    timer_.stop();
    if (tunnel_handler_.on_open) {
      tunnel_handler_.on_open(*this);
    }
    std::string rest;
    if (in_off_ < in_.size()) {
      rest.assign(in_, in_off_, std::string::npos);
    }
    std::string().swap(in_);
    in_off_ = 0;
    if (!closed_ && !rest.empty() && tunnel_handler_.on_data) {
      tunnel_handler_.on_data(*this, rest);
    }
    if (!closed_ && peer_eof_) {
      closeWhenDrained();
    }
    updateReading();
  }

  // No more requests: flush, send FIN, and give the peer a moment to close first.
  void finish() noexcept {
    if (finishing_ || closed_) {
      return;
    }
    finishing_ = true;
    stop_parsing_ = true;
    if (peer_eof_) {
      closeWhenDrained();
      return;
    }
    if (secure_) {
      wire_.clear();
      secure_->shutdown(wire_);
      flushWire();
    }
    tcp_.shutdownAfterFlush();
    if (tcp_.pendingBytes() == 0) {
      startLinger();
    }  // else onDrained() starts it: a slow reader still gets the whole answer
    updateReading();
  }

  void startLinger() noexcept {
    lingering_ = true;
    timer_.start(options_.linger_ms);
  }

  // Bytes for the peer: straight to the socket (no copy), or through the security layer.
  void send(std::string_view data) noexcept {
    if (secure_) {
      sendSecure(data, {});
    } else {
      tcp_.write(data);
    }
  }
  void send(std::string_view a, std::string_view b) noexcept {
    if (secure_) {
      sendSecure(a, b);
    } else {
      tcp_.write(a, b);
    }
  }

  void sendSecure(std::string_view a, std::string_view b) noexcept {
    wire_.clear();
    const bool sent = secure_->send(a, wire_) && secure_->send(b, wire_);
    flushWire();
    if (!sent && !closed_) {
      // Only a failed layer refuses bytes here (answers need an open session): nothing more
      // can reach the peer.
      spdlog::debug("http server: secure session with {} failed: {}", peer_.toString(),
                    secure_->failure());
      closeNow(false);
    }
  }

  void flushWire() noexcept {
    if (!wire_.empty()) {
      tcp_.write(wire_);
    }
    if (wire_.capacity() > kKeepWireBytes) {
      std::string().swap(wire_);
    }
  }

  void onSecureData(std::string_view data) noexcept {
    using State = SecureChannel::State;
    const State before = secure_->state();
    if (before == State::kFailed || before == State::kClosed) {
      return;  // closing: what the peer still sends is dropped
    }
    std::string& plain = decryptedScratch();
    plain.clear();
    wire_.clear();
    const State after = secure_->receive(data, plain, wire_);
    flushWire();
    if (!plain.empty() && !closed_) {
      onBytes(plain.data(), plain.size());
    }
    if (closed_) {
      return;
    }
    if (after == State::kFailed) {
      secureFailed(before == State::kHandshaking);
    } else if (after == State::kClosed) {
      // The end of the peer's session is its EOF; the socket itself may stay open.
      peer_eof_ = true;
      reading_ = false;
      tcp_.readStop();
      onPeerEnded();
    }
  }

  // The security layer failed: its alert (or, for a plain HTTP request, a plain-text 400) goes
  // out, then the connection closes the way an answered one does.
  void secureFailed(bool in_handshake) noexcept {
    spdlog::debug("http server: secure {} with {} failed: {}",
                  in_handshake ? "handshake" : "session", peer_.toString(), secure_->failure());
    if (in_handshake && server_ != nullptr) {
      server_->refused(HttpServer::kRefusedHandshakeFailed);
      if (server_ != nullptr && server_->on_handshake_failure_) {
        server_->on_handshake_failure_(peer_, secure_->failure());
      }
    }
    if (closed_) {
      return;
    }
    if (tunnel_) {
      closeWhenDrained();
      return;
    }
    if (secure_->peerSentPlainHttp()) {
      tcp_.write(kPlainHttpHead, kPlainHttpBody);
    }
    slots_.clear();
    upgrade_pending_ = false;
    stop_parsing_ = true;
    finish();
  }

  void closeWhenDrained() noexcept {
    if (closed_) {
      return;
    }
    if (tcp_.pendingBytes() == 0) {
      closeNow(false);
    } else {
      close_when_drained_ = true;
    }
  }

  HttpServer* server_;
  EventLoop& loop_;
  HttpServer::Options options_;
  TcpConnection tcp_;
  std::unique_ptr<SecureChannel> secure_;  // null: plain HTTP
  std::string wire_;                       // encrypted bytes on their way to the socket
  Http1Parser parser_;
  Timer timer_;
  SocketAddress peer_;
  std::string in_;  // read, not yet parsed (from in_off_)
  size_t in_off_ = 0;
  std::string body_;
  std::string scratch_;
  std::deque<Slot> slots_;
  TunnelHandler tunnel_handler_;
  uint64_t next_slot_ = 1;
  uint64_t requests_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t request_start_ms_ = 0;  // first byte of the request being received (or the accept)
  uint64_t accepted_ms_ = 0;
  int reject_status_ = 0;
  bool receiving_ = false;  // a request has begun (or the first one is awaited)
  bool message_done_ = false;
  bool parser_paused_ = false;
  bool upgrade_pending_ = false;  // an upgrade request waits for its answer: parsing stops
  bool stop_parsing_ = false;     // no more requests on this connection
  bool write_blocked_ = false;
  bool reading_ = false;
  bool tunnel_ = false;
  bool finishing_ = false;  // no more answers: FIN after the flush
  bool lingering_ = false;  // FIN sent: waiting (linger_ms) for the peer to close
  bool peer_eof_ = false;
  bool close_when_drained_ = false;
  bool closed_ = false;
  bool in_parse_ = false;
  bool in_pump_ = false;
  bool pump_again_ = false;
};

Responder::State::~State() {
  if (!done) {
    HttpServerConnection::answer(this, SlotAction::kRespond,
                                 HttpResponse(500, "the handler dropped the request\n"),
                                 TunnelHandler());
  }
}

void Responder::respond(HttpResponse response) noexcept {
  HttpServerConnection::answer(state_.get(), SlotAction::kRespond, std::move(response),
                               TunnelHandler());
}

void Responder::respond(int status, std::string body, std::string_view content_type) noexcept {
  respond(HttpResponse(status, std::move(body), content_type));
}

void Responder::close() noexcept {
  HttpServerConnection::answer(state_.get(), SlotAction::kClose, HttpResponse(), TunnelHandler());
}

void Responder::reset() noexcept {
  HttpServerConnection::answer(state_.get(), SlotAction::kReset, HttpResponse(), TunnelHandler());
}

void Responder::upgrade(HttpResponse response, TunnelHandler handler) noexcept {
  HttpServerConnection::answer(state_.get(), SlotAction::kUpgrade, std::move(response),
                               std::move(handler));
}

bool Responder::answered() const noexcept {
  return state_ && state_->done;
}

bool Responder::connected() const noexcept {
  if (!state_) {
    return false;
  }
  auto c = state_->conn.lock();
  return c && c->alive();
}

namespace {
struct ConnHolder final : Deletable {
  explicit ConnHolder(std::shared_ptr<HttpServerConnection> c) : conn(std::move(c)) {}
  std::shared_ptr<HttpServerConnection> conn;
};
}  // namespace

HttpServer::HttpServer(EventLoop& loop, Handler handler)
    : HttpServer(loop, std::move(handler), Options()) {}

HttpServer::HttpServer(EventLoop& loop, Handler handler, Options options)
    : loop_(loop), handler_(std::move(handler)), options_(options) {}

HttpServer::~HttpServer() {
  close();
}

Status HttpServer::listen(std::string_view address, int backlog) {
  if (listener_ != nullptr) {
    return Status::invalid("http server: already listening");
  }
  Result<uv_tcp_t*> handle = listenTcp(loop_, address, backlog, onConnection, this, &bound_);
  if (!handle.isOk()) {
    return handle.status();
  }
  listener_ = handle.value();
  return Status::ok();
}

void HttpServer::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<HttpServer*>(server->data);
  if (self == nullptr) {
    return;
  }
  if (status < 0) {
    spdlog::warn("http server: accept failed: {}", uv_strerror(status));
    return;
  }
  if (self->options_.max_connections > 0 && self->conns_.size() >= self->options_.max_connections) {
    // Accepted and closed at once: the peer sees the close, the backlog does not fill up.
    auto* extra = new uv_tcp_t;
    if (uv_tcp_init(self->loop_.uv(), extra) != 0) {
      delete extra;
      return;
    }
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(extra)) == 0) {
      self->refused(0);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(extra),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    return;
  }
  auto conn = std::make_shared<HttpServerConnection>(*self);
  int rc = conn->start(server);
  if (rc != 0) {
    spdlog::warn("http server: accept failed: {}", uv_strerror(rc));
    conn->detach();
    conn->closeNow(false);
    return;
  }
  self->conns_.emplace(conn.get(), std::move(conn));
}

void HttpServer::release(HttpServerConnection* conn) noexcept {
  auto it = conns_.find(conn);
  if (it == conns_.end()) {
    return;
  }
  // Freed after this loop iteration's callbacks, never inside one of the connection's own.
  loop_.deferDelete(std::make_unique<ConnHolder>(std::move(it->second)));
  conns_.erase(it);
}

void HttpServer::close() noexcept {
  closeListener(listener_);
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [ptr, conn] : conns) {
    conn->detach();
    conn->closeNow(false);
    loop_.deferDelete(std::make_unique<ConnHolder>(std::move(conn)));
  }
}

}  // namespace remora::common
