#include "common/http_server.h"

#include "common/tcp_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include <map>
#include <vector>

#include "common/http1/server_connection.h"
#include "common/http2/http2_stats.h"
#include "common/http2/preface.h"
#include "common/http2/server_connection.h"
#include "common/http2/settings.h"
#include "common/stats.h"
#include "common/tcp_connection.h"
#include "common/timer.h"

namespace remora::common {

namespace {

// Streamed bodies: produce this much per step, and stop producing while this much is queued.
constexpr size_t kStreamPiece = 64 * 1024;
constexpr size_t kStreamWindow = 256 * 1024;
// A connection keeps at most this much of its buffer for encrypted output between writes.
constexpr size_t kKeepWireBytes = 64 * 1024;
// The plain-text answer to a plain HTTP request on a secure port.
constexpr std::string_view kPlainHttpBody = "this port speaks HTTPS; use https:// to reach it\n";
static_assert(kPlainHttpBody.size() == 49, "Content-Length below");
constexpr std::string_view kPlainHttpHead =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 49\r\n"
    "Connection: close\r\n\r\n";

// Decrypted bytes of the read being handled. One per thread: reads never nest, and the bytes
// are consumed (by the codec, or handed to a tunnel) before the next read.
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

enum class Answer : uint8_t { kRespond, kClose, kReset, kUpgrade };

// The method's llhttp id (the codec only lets through methods llhttp parses).
llhttp_method_t methodId(std::string_view m) noexcept {
#define REMORA_METHOD_ID(num, name, string) \
  if (m == #string) {                       \
    return HTTP_##name;                     \
  }
  HTTP_METHOD_MAP(REMORA_METHOD_ID)
#undef REMORA_METHOD_ID
  return HTTP_GET;
}

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

// What every HTTP/2 connection of the server shares: its limits and the codec's counters (kept
// here, as nothing reads them: the server's owners count requests themselves).
struct HttpServer::Http2Shared {
  explicit Http2Shared(const Options& options)
      : store(1), stats(http2::Http2Stats::registerIn(store)) {
    settings.max_header_list_size = static_cast<uint32_t>(options.limits.max_header_bytes);
  }
  http2::Settings settings;
  StatsStore store;
  http2::Http2Stats stats;
};

struct Responder::State {
  std::weak_ptr<HttpServerConnection> conn;
  uint64_t exchange = 0;
  bool done = false;
  ~State();
};

// One request and its answer: the decoder the codec delivers the request to, the state of the
// answer. HTTP/1 has one at a time, HTTP/2 one per stream. Its events go to the connection.
// Freed through deferDelete (the codec may still be inside one of its calls).
struct Exchange final : public Deletable,
                        public http::RequestDecoder,
                        public http::StreamCallbacks {
  Exchange(HttpServerConnection& c, http::ResponseEncoder& e, uint64_t i) noexcept
      : conn(c), encoder(&e), id(i) {}

  void decodeHeaders(http::RequestHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view data, bool end_stream) noexcept override;
  void decodeTrailers(http::HeaderMap&) noexcept override;
  void onResetStream(http::StreamResetReason) noexcept override;
  void onAboveWriteBufferHighWatermark() noexcept override { blocked = true; }
  void onBelowWriteBufferLowWatermark() noexcept override;

  HttpServerConnection& conn;
  http::ResponseEncoder* encoder;  // null once the answer is written whole, or on a reset
  const uint64_t id;               // Responder::State names it
  HttpRequest request;
  std::string body;
  HttpResponse response;
  uint64_t sent = 0;  // of a body source
  bool head_request = false;
  bool upgrade_request = false;
  bool dispatched = false;  // the handler has the request (or it was rejected)
  bool answered = false;
  bool streaming = false;         // a body source is being written
  bool blocked = false;           // HTTP/2: the stream's send buffer is above its high watermark
  bool request_complete = false;  // the request's end arrived (its stream's incoming side ended)
};

// One accepted connection. Its first bytes choose the codec: the HTTP/2 client preface means
// HTTP/2 with prior knowledge (http2::ServerConnection, streams side by side); anything else is
// HTTP/1 (http1::ServerConnection, one exchange at a time: pipelined requests wait in the codec
// until the answer before them is complete, so answers leave in order). This class buffers each
// request whole for the handler, writes its answer, and becomes a Tunnel after an HTTP/1
// upgrade. Owned by the server's map; freed through deferDelete.
class HttpServerConnection final : public TcpConnection::Handler,
                                   private TcpConnection::WriteFilter,
                                   private http::ServerConnectionCallbacks,
                                   public Tunnel,
                                   public std::enable_shared_from_this<HttpServerConnection> {
 public:
  explicit HttpServerConnection(HttpServer& server)
      : server_(&server),
        loop_(server.loop_),
        options_(server.options_),
        tcp_(server.loop_, *this),
        timer_(server.loop_.uv(), [this] { onTimer(); }) {}

  ~HttpServerConnection() {
    // The codecs first: their streams' decoders are the exchanges.
    h1_.reset();
    h2_.reset();
  }

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
      tcp_.setWriteFilter(this);
    }
    peer_ = tcp_.peerAddress();
    last_activity_ms_ = loop_.nowMs();
    accepted_ms_ = last_activity_ms_;
    // A silent connection is a request that does not arrive: its clock starts now.
    receiving_ = true;
    request_start_ms_ = last_activity_ms_;
    armTimer();
    tcp_.readStart();
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
    if (codec_ != nullptr) {
      codec_->onConnectionClosed();  // resets what is open: the exchanges let go
    }
    for (auto& [id, ex] : exchanges_) {
      ex->encoder = nullptr;
    }
    current_ = nullptr;
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

  static void answer(Responder::State* s, Answer action, HttpResponse&& r,
                     TunnelHandler&& t) noexcept {
    if (s == nullptr || s->done) {
      return;
    }
    s->done = true;
    std::shared_ptr<HttpServerConnection> c = s->conn.lock();
    if (c && !c->closed_) {
      c->complete(s->exchange, action, std::move(r), std::move(t));
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

  void onEof() noexcept override {
    peer_eof_ = true;
    if (closed_) {
      return;
    }
    onPeerEnded();
  }

  void onError(int uv_err) noexcept override {
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("http server: connection from {}: {}", peer_.toString(), uv_strerror(uv_err));
    }
    closeNow(false);
  }

  void onHighWatermark() noexcept override {
    if (h1_) {
      h1_->readDisable(true);  // a peer that does not read is not fed more answers
    } else if (h2_) {
      h2_->onUnderlyingAboveHighWatermark();
    }
  }

  void onLowWatermark() noexcept override {
    last_activity_ms_ = loop_.nowMs();
    if (closed_) {
      return;
    }
    if (h1_) {
      h1_->readDisable(false);
    } else if (h2_) {
      h2_->onUnderlyingBelowLowWatermark();
    }
    pumpSources();
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
    pumpSources();
  }

  // Tunnel
  void write(std::string_view data) noexcept override {
    if (!closed_) {
      tcp_.write(data);
      closeIfSecureFailed();
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

  // ---- the exchanges' events ----

  void onRequestHead(Exchange& ex, http::RequestHead& head, bool end_stream) noexcept {
    HttpRequest& req = ex.request;
    req.method = head.method;
    req.method_id = methodId(head.method);
    // (An absolute-form target arrives as `host` + path.)
    req.target = head.scheme.empty() || h2_
                     ? head.path
                     : head.scheme + "://" + std::string(head.headers.get(Wk::kHost)) + head.path;
    splitTarget(head.path, req.path, req.query_string);
    req.version_minor = h1_ && h1_->http10() ? 0 : 1;
    std::swap(req.headers, head.headers);
    req.peer = peer_;
    req.request_on_connection = ++requests_;
    req.keep_alive = h1_ ? h1_->clientKeepAlive() : true;
    req.upgrade = head.upgrade;
    ex.head_request = head.isHead();
    ex.upgrade_request = head.upgrade;
    ex.request_complete = end_stream;
    if (head.content_length > static_cast<int64_t>(options_.max_body_bytes)) {
      rejectBody(ex);
      return;
    }
    if (head.content_length > 0) {
      ex.body.reserve(static_cast<size_t>(head.content_length));
    }
    if (!end_stream && !head.upgrade &&
        equalsIgnoreCase(req.headers.get(Wk::kExpect), "100-continue")) {
      http::ResponseHead cont;
      cont.status = 100;
      ex.encoder->encode1xxHeaders(cont);  // (not to HTTP/1.0 clients)
    }
    // An upgrade request is whole with its head: what follows belongs to the new protocol.
    if (end_stream || head.upgrade) {
      dispatchRequest(ex);
    }
  }

  void onRequestData(Exchange& ex, std::string_view data, bool end_stream) noexcept {
    if (tunnel_ || opening_tunnel_) {
      if (opening_tunnel_) {
        early_.append(data);  // handed over after on_open
      } else if (!data.empty() && tunnel_handler_.on_data) {
        tunnel_handler_.on_data(*this, data);
      }
      return;
    }
    if (end_stream) {
      ex.request_complete = true;
    }
    if (ex.dispatched) {
      retireIfDone(ex);
      return;
    }
    if (ex.body.size() + data.size() > options_.max_body_bytes) {
      rejectBody(ex);
      return;
    }
    ex.body.append(data);
    if (end_stream) {
      dispatchRequest(ex);
    }
  }

  void onRequestEnd(Exchange& ex) noexcept {
    ex.request_complete = true;
    if (!ex.dispatched) {
      dispatchRequest(ex);
    } else {
      retireIfDone(ex);
    }
  }

  // HTTP/2: an exchange answered before its request ended (413) lives until the request's
  // end, since the codec goes on delivering it.
  void retireIfDone(Exchange& ex) noexcept {
    if (h2_ && ex.request_complete && ex.answered && ex.encoder == nullptr && !ex.streaming) {
      retire(ex);
    }
  }

  // The stream ended under the exchange (HTTP/2 RST_STREAM, the connection closed).
  void onExchangeReset(Exchange& ex) noexcept {
    ex.encoder = nullptr;
    ex.streaming = false;
    if (h2_) {
      retire(ex);
    }
  }

  void onExchangeUnblocked(Exchange& ex) noexcept {
    ex.blocked = false;
    pumpSource(ex);
  }

 private:
  // ---- codecs ----

  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override {
    auto owned = std::make_unique<Exchange>(*this, encoder, ++next_exchange_);
    Exchange& ex = *owned;
    exchanges_.emplace(ex.id, std::move(owned));
    encoder.setCallbacks(ex);
    if (h1_) {
      current_ = &ex;
    }
    return ex;
  }

  // The first bytes decide: the HTTP/2 client preface, or HTTP/1. False while they could
  // still be either (they are kept).
  bool chooseCodec(const char*& data, size_t& len) noexcept {
    http2::PrefaceSniffer::Verdict verdict = sniffer_.feed(std::string_view(data, len));
    if (verdict == http2::PrefaceSniffer::Verdict::kUndecided) {
      data += len;
      len = 0;
      return false;
    }
    const bool prefix = verdict == http2::PrefaceSniffer::Verdict::kHttp2;
    if (prefix && server_ != nullptr) {
      h2_shared_ = server_->http2Shared();  // kept: the codec counts until it is gone
      http::ServerConnectionCallbacks& callbacks = *this;
      h2_ = std::make_unique<http2::ServerConnection>(
          tcp_, callbacks, h2_shared_->settings, h2_shared_->stats, h2_shared_->store.shard(0));
      codec_ = h2_.get();
      receiving_ = false;  // HTTP/2 has no request deadline here: streams interleave
    } else {
      makeHttp1Codec();
    }
    // What was held from earlier reads goes first, then this read.
    std::string first = sniffer_.takeHeld();
    if (!first.empty() && !codec_->dispatch(first.data(), first.size())) {
      data += len;
      len = 0;
      codecFailed();
      return false;
    }
    return true;
  }

  void makeHttp1Codec() noexcept {
    http::ServerConnectionCallbacks& callbacks = *this;
    h1_ = std::make_unique<http1::ServerConnection>(tcp_, callbacks, options_.limits,
                                                    options_.max_pending_input);
    h1_->keepHopByHopFields();  // handlers (remora-echo's description) see requests as sent
    codec_ = h1_.get();
  }

  // ---- answers ----

  Exchange* find(uint64_t id) noexcept {
    auto it = exchanges_.find(id);
    return it == exchanges_.end() ? nullptr : it->second.get();
  }

  void dispatchRequest(Exchange& ex) noexcept {
    ex.dispatched = true;
    if (&ex == current_ || h2_) {
      receiving_ = false;
    }
    ex.request.body = std::move(ex.body);
    ex.body = std::string();
    auto state = std::make_shared<Responder::State>();
    state->conn = weak_from_this();
    state->exchange = ex.id;
    const uint64_t id = ex.id;
    if (server_ != nullptr) {
      server_->handler_(ex.request, Responder(std::move(state)));
    }
    if (Exchange* still = find(id)) {
      still->request = HttpRequest();
    }
  }

  void complete(uint64_t id, Answer action, HttpResponse&& r, TunnelHandler&& t) noexcept {
    Exchange* ex = find(id);
    if (ex == nullptr || ex->answered || ex->encoder == nullptr) {
      return;
    }
    ex->answered = true;
    switch (action) {
      case Answer::kReset:
        if (h2_) {
          ex->encoder->resetStream(http::StreamResetReason::kLocalReset);
          onExchangeReset(*ex);
          return;
        }
        closeNow(true);
        return;
      case Answer::kClose:
        if (h2_) {
          h2_->shutdownNotice();  // no new streams; the open ones finish
        }
        finish();
        return;
      case Answer::kUpgrade:
        if (!ex->upgrade_request || r.status != 101 || !h1_) {
          spdlog::warn("http server: upgrade() with status {} on a request that {}", r.status,
                       ex->upgrade_request ? "asked for one" : "did not ask for one");
          r = HttpResponse(500, "upgrade without an upgrade request\n");
          break;
        }
        startTunnel(*ex, std::move(r), std::move(t));
        return;
      case Answer::kRespond:
        break;
    }
    ex->response = std::move(r);
    startResponse(*ex);
  }

  // Writes the head and, unless it comes from a source, the whole body.
  void startResponse(Exchange& ex) noexcept {
    HttpResponse& r = ex.response;
    if (hasToken(r.headers.get(Wk::kConnection), "close")) {
      ex.encoder->closeAfterResponse();
    }
    r.headers.remove(Wk::kConnection);
    r.headers.remove(Wk::kContentLength);
    r.headers.remove(Wk::kTransferEncoding);
    const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
    const bool http10 = h1_ && h1_->http10();
    http::ResponseHead head;
    head.status = static_cast<uint16_t>(r.status);
    if (!bodyless && !(r.chunked && !http10)) {
      char num[24];
      auto res = std::to_chars(num, num + sizeof(num), r.bodyLength());
      r.headers.add("Content-Length", std::string_view(num, res.ptr - num));
      head.content_length = static_cast<int64_t>(r.bodyLength());
    }
    std::swap(head.headers, r.headers);
    const bool body = !bodyless && !ex.head_request && r.bodyLength() > 0;
    const uint64_t id = ex.id;
    ex.encoder->encodeHeaders(head, !body);
    if (find(id) == nullptr || ex.encoder == nullptr) {
      return;  // reset meanwhile
    }
    if (!body) {
      responseDone(ex);
      return;
    }
    if (!r.source) {
      ex.encoder->encodeData(r.body, true);
      if (find(id) != nullptr) {
        responseDone(ex);
      }
      return;
    }
    ex.streaming = true;
    ex.sent = 0;
    pumpSource(ex);
  }

  void pumpSources() noexcept {
    std::vector<uint64_t> ids;
    for (auto& [id, ex] : exchanges_) {
      if (ex->streaming) {
        ids.push_back(id);
      }
    }
    for (uint64_t id : ids) {
      if (Exchange* ex = find(id); ex != nullptr && !closed_) {
        pumpSource(*ex);
      }
    }
  }

  // Goes on with a body source while the socket (and the stream) keep up.
  void pumpSource(Exchange& ex) noexcept {
    if (!ex.streaming || closed_ || ex.encoder == nullptr) {
      return;
    }
    HttpResponse& r = ex.response;
    const uint64_t id = ex.id;
    while (ex.sent < r.source_length) {
      if (tcp_.pendingBytes() >= kStreamWindow || ex.blocked) {
        return;  // onDrained() / the stream's low watermark resumes
      }
      size_t n = static_cast<size_t>(std::min<uint64_t>(kStreamPiece, r.source_length - ex.sent));
      scratch_.clear();
      r.source(ex.sent, n, scratch_);
      if (scratch_.size() != n) {
        spdlog::error("http server: body source produced {} bytes instead of {}", scratch_.size(),
                      n);
        closeNow(true);
        return;
      }
      ex.sent += n;
      ex.encoder->encodeData(scratch_, ex.sent == r.source_length);
      codec_->flush();
      if (closed_ || find(id) == nullptr || ex.encoder == nullptr) {
        return;
      }
    }
    if (scratch_.capacity() > kStreamPiece * 2) {
      std::string().swap(scratch_);
    }
    ex.streaming = false;
    responseDone(ex);
  }

  // The answer is written whole: HTTP/1 closes the connection or goes on with pipelined
  // requests; HTTP/2 forgets the stream.
  void responseDone(Exchange& ex) noexcept {
    ex.encoder = nullptr;
    if (h1_ || ex.request_complete) {
      retire(ex);
    }
    if (closed_ || closeIfSecureFailed() || !h1_) {
      return;
    }
    if (h1_->aborted()) {
      closeNow(false);
    } else if (h1_->closeRequested()) {
      finish();
    } else if (!h1_->resumePipelined()) {
      codecFailed();
    } else {
      afterInput();
    }
  }

  // The exchange is over for us: freed once the current callbacks have returned.
  void retire(Exchange& ex) noexcept {
    if (current_ == &ex) {
      current_ = nullptr;
    }
    auto it = exchanges_.find(ex.id);
    if (it != exchanges_.end()) {
      loop_.deferDelete(std::move(it->second));
      exchanges_.erase(it);
    }
  }

  void startTunnel(Exchange& ex, HttpResponse&& r, TunnelHandler&& t) noexcept {
    r.headers.remove(Wk::kContentLength);
    r.headers.remove(Wk::kTransferEncoding);
    if (!r.headers.has(Wk::kConnection)) {
      r.headers.add("Connection", "Upgrade");
    }
    http::ResponseHead head;
    head.status = 101;
    std::swap(head.headers, r.headers);
    tunnel_handler_ = std::move(t);
    opening_tunnel_ = true;
    ex.encoder->encodeHeaders(head, false);  // bytes that followed the request land in early_
    opening_tunnel_ = false;
    if (closed_ || closeIfSecureFailed()) {
      return;
    }
    tunnel_ = true;
    ex.encoder = nullptr;
    current_ = nullptr;  // (the exchange stays: the codec hands it the tunnel's bytes)
    timer_.stop();
    if (tunnel_handler_.on_open) {
      tunnel_handler_.on_open(*this);
    }
    std::string early;
    early.swap(early_);
    if (!closed_ && !early.empty() && tunnel_handler_.on_data) {
      tunnel_handler_.on_data(*this, early);
    }
    if (!closed_ && peer_eof_) {
      closeWhenDrained();
    }
  }

  // ---- input ----

  // Bytes of the HTTP stream (as read, or decrypted).
  void onBytes(const char* data, size_t len) noexcept {
    if (tunnel_) {
      if (tunnel_handler_.on_data) {
        tunnel_handler_.on_data(*this, std::string_view(data, len));
      }
      return;
    }
    if (finishing_ && !h2_) {
      return;  // closing: what the peer still sends is dropped
    }
    if (!receiving_ && current_ == nullptr && !h2_) {
      receiving_ = true;
      request_start_ms_ = last_activity_ms_;
      if (options_.request_timeout_ms > 0) {
        armTimer();
      }
    }
    if (codec_ == nullptr && !chooseCodec(data, len)) {
      return;
    }
    if (closed_ || len == 0) {
      afterInput();
      return;
    }
    if (!codec_->dispatch(data, len)) {
      codecFailed();
      return;
    }
    afterInput();
  }

  // After the codec took input: a half-closed HTTP/1 peer may leave nothing more to answer.
  void afterInput() noexcept {
    if (h2_ && !closed_) {
      h2_->flush();
      return;
    }
    if (h1_ && !closed_ && !finishing_ && !tunnel_ && current_ == nullptr &&
        h1_->closeRequested()) {
      finish();
    }
  }

  // The peer sends nothing more (EOF, or the end of its secure session).
  void onPeerEnded() noexcept {
    if (tunnel_ || finishing_ || !h1_) {
      // HTTP/2 (or nothing chosen yet): what is open cannot be answered usefully any more.
      closeWhenDrained();
      return;
    }
    switch (h1_->onEof()) {
      case http1::ServerConnection::EofAction::kAbort:
      case http1::ServerConnection::EofAction::kClose:
        finish();
        return;
      case http1::ServerConnection::EofAction::kFinish:
        afterInput();  // the answer in progress is written, then the connection closes
        return;
    }
  }

  // The codec refused the input. HTTP/2 has queued its GOAWAY: flush and close. HTTP/1 answers
  // what failed: 431, 501 for a method llhttp cannot parse (named, with the reason header the
  // proxy's listeners use), else 400.
  void codecFailed() noexcept {
    spdlog::debug("http server: bad request from {}: {}", peer_.toString(), codec_->errorDetail());
    if (h2_) {
      refused(400);
      h2_->flush();
      finish();
      return;
    }
    switch (h1_->error()) {
      case http::CodecError::kHeadersTooLarge:
        refused(431);
        reject(HttpResponse(431, std::string(h1_->errorDetail()) + "\n"));
        return;
      case http::CodecError::kUnknownMethod: {
        refused(501);
        std::string_view method = std::string_view(h1_->partialHead().method).substr(0, 64);
        HttpResponse r(501, "method-not-implemented: " + std::string(method) + "\n");
        r.headers.add("x-remora-reason", "method-not-implemented");
        reject(std::move(r));
        return;
      }
      default:
        refused(400);
        reject(HttpResponse(400, std::string(h1_->errorDetail()) + "\n"));
        return;
    }
  }

  // HTTP/1: answers a request that will not reach the handler, then closes: too slow (408),
  // unparsable (400, 431, 501).
  void reject(HttpResponse response) noexcept {
    if (current_ != nullptr && (current_->dispatched || h1_->responseStarted())) {
      closeNow(false);  // cannot happen: such an exchange is the handler's
      return;
    }
    Exchange* ex = current_;
    if (ex == nullptr) {
      ex = &static_cast<Exchange&>(newStream(h1_->beginErrorExchange()));
    }
    rejectExchange(*ex, std::move(response));
  }

  void rejectExchange(Exchange& ex, HttpResponse response) noexcept {
    ex.dispatched = true;
    ex.answered = true;
    if (h1_) {
      ex.encoder->closeAfterResponse();
    }
    ex.response = std::move(response);
    startResponse(ex);
  }

  // A request body over max_body_bytes: 413 (HTTP/1 then closes; HTTP/2 resets the rest of
  // the stream once the answer is out).
  void rejectBody(Exchange& ex) noexcept {
    refused(413);
    rejectExchange(ex, HttpResponse(413, "request body too large\n"));
  }

  void refused(int status) noexcept {
    if (server_ != nullptr) {
      server_->refused(status);
    }
  }

  // ---- timers ----

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
      refused(HttpServer::kRefusedHandshakeTimeout);
      closeNow(false);
      return;
    }
    if (requestLate(now)) {
      spdlog::debug("http server: no complete request from {} within {} ms; closing",
                    peer_.toString(), options_.request_timeout_ms);
      receiving_ = false;
      refused(408);
      if (codec_ == nullptr) {
        makeHttp1Codec();  // (what was held of a preface is dropped with the connection)
      }
      if (h1_) {
        reject(HttpResponse(408, "request timeout\n"));
      }
      return;
    }
    // Waiting for the handler is not idleness; waiting for the peer (to send, or to read what
    // we queued) is.
    if (options_.idle_timeout_ms > 0 && !waitingForHandler() &&
        now - last_activity_ms_ >= options_.idle_timeout_ms) {
      spdlog::debug("http server: closing idle connection from {}", peer_.toString());
      closeNow(false);
      return;
    }
    armTimer();
  }

  bool waitingForHandler() const noexcept {
    if (tcp_.pendingBytes() != 0) {
      return false;
    }
    for (const auto& [id, ex] : exchanges_) {
      if (ex->dispatched && ex->encoder != nullptr) {
        return true;
      }
    }
    return false;
  }

  // The request being received (or the first one awaited) is over request_timeout_ms.
  bool requestLate(uint64_t now) const noexcept {
    return options_.request_timeout_ms > 0 && receiving_ && !finishing_ &&
           (current_ == nullptr || !current_->dispatched) &&
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
      consider(waitingForHandler() || idle_for >= options_.idle_timeout_ms
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

  // ---- the end ----

  // No more requests: flush, send FIN, and give the peer a moment to close first.
  void finish() noexcept {
    if (finishing_ || closed_) {
      return;
    }
    finishing_ = true;
    if (h1_) {
      h1_->setDiscarding();  // reading goes on (to see the peer's FIN), input is dropped
    }
    if (codec_ != nullptr) {
      codec_->flush();
    }
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
  }

  void startLinger() noexcept {
    lingering_ = true;
    timer_.start(options_.linger_ms);
  }

  void closeWhenDrained() noexcept {
    if (closed_) {
      return;
    }
    if (codec_ != nullptr) {
      codec_->flush();
    }
    if (tcp_.pendingBytes() == 0) {
      closeNow(false);
    } else {
      close_when_drained_ = true;
    }
  }

  // ---- the security layer ----

  // TcpConnection::WriteFilter: application bytes become records.
  void encode(std::string_view plain, std::string& wire) noexcept override {
    if (!plain.empty() && !secure_->send(plain, wire)) {
      secure_send_failed_ = true;
    }
  }

  // Only a failed layer refuses bytes (answers need an open session): nothing more can reach
  // the peer. True when it closed the connection for that.
  bool closeIfSecureFailed() noexcept {
    if (!secure_send_failed_ || closed_) {
      return false;
    }
    spdlog::debug("http server: secure session with {} failed: {}", peer_.toString(),
                  secure_->failure());
    closeNow(false);
    return true;
  }

  void flushWire() noexcept {
    if (!wire_.empty()) {
      tcp_.writeRaw(wire_);
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
      tcp_.writeRaw(kPlainHttpHead);
      tcp_.writeRaw(kPlainHttpBody);
    }
    finishing_ = true;  // (no close_notify: the layer sends nothing any more)
    if (h1_) {
      h1_->setDiscarding();
    }
    if (peer_eof_) {
      closeWhenDrained();
      return;
    }
    tcp_.shutdownAfterFlush();
    if (tcp_.pendingBytes() == 0) {
      startLinger();
    }
  }

  HttpServer* server_;
  EventLoop& loop_;
  HttpServer::Options options_;
  TcpConnection tcp_;
  std::unique_ptr<SecureChannel> secure_;  // null: plain HTTP
  std::string wire_;                       // the layer's own bytes on their way to the socket
  Timer timer_;
  SocketAddress peer_;
  // The codec, on tcp_, once the first bytes chose it (codec_ is the one of the two in use).
  http2::PrefaceSniffer sniffer_;  // the first bytes while they may still be an HTTP/2 preface
  std::shared_ptr<HttpServer::Http2Shared> h2_shared_;
  std::unique_ptr<http1::ServerConnection> h1_;
  std::unique_ptr<http2::ServerConnection> h2_;
  http::ServerConnection* codec_ = nullptr;
  std::map<uint64_t, std::unique_ptr<Exchange>> exchanges_;  // not yet answered whole
  Exchange* current_ = nullptr;                              // HTTP/1: the exchange in progress
  uint64_t next_exchange_ = 0;
  // After an upgrade.
  TunnelHandler tunnel_handler_;
  std::string early_;  // bytes that followed the upgrade request, for on_data after on_open
  bool opening_tunnel_ = false;
  bool tunnel_ = false;
  std::string scratch_;
  uint64_t requests_ = 0;
  uint64_t last_activity_ms_ = 0;
  uint64_t request_start_ms_ = 0;  // first byte of the request being received (or the accept)
  uint64_t accepted_ms_ = 0;
  bool receiving_ = false;  // a request has begun (or the first one is awaited)
  bool finishing_ = false;  // no more answers: FIN after the flush
  bool lingering_ = false;  // FIN sent: waiting (linger_ms) for the peer to close
  bool peer_eof_ = false;
  bool close_when_drained_ = false;
  bool secure_send_failed_ = false;
  bool closed_ = false;
};

void Exchange::decodeHeaders(http::RequestHead& head, bool end_stream) noexcept {
  conn.onRequestHead(*this, head, end_stream);
}

void Exchange::decodeData(std::string_view data, bool end_stream) noexcept {
  conn.onRequestData(*this, data, end_stream);
}

void Exchange::decodeTrailers(http::HeaderMap&) noexcept {
  conn.onRequestEnd(*this);
}

void Exchange::onResetStream(http::StreamResetReason) noexcept {
  conn.onExchangeReset(*this);
}

void Exchange::onBelowWriteBufferLowWatermark() noexcept {
  conn.onExchangeUnblocked(*this);
}

Responder::State::~State() {
  if (!done) {
    HttpServerConnection::answer(this, Answer::kRespond,
                                 HttpResponse(500, "the handler dropped the request\n"),
                                 TunnelHandler());
  }
}

void Responder::respond(HttpResponse response) noexcept {
  HttpServerConnection::answer(state_.get(), Answer::kRespond, std::move(response),
                               TunnelHandler());
}

void Responder::respond(int status, std::string body, std::string_view content_type) noexcept {
  respond(HttpResponse(status, std::move(body), content_type));
}

void Responder::close() noexcept {
  HttpServerConnection::answer(state_.get(), Answer::kClose, HttpResponse(), TunnelHandler());
}

void Responder::reset() noexcept {
  HttpServerConnection::answer(state_.get(), Answer::kReset, HttpResponse(), TunnelHandler());
}

void Responder::upgrade(HttpResponse response, TunnelHandler handler) noexcept {
  HttpServerConnection::answer(state_.get(), Answer::kUpgrade, std::move(response),
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

std::shared_ptr<HttpServer::Http2Shared> HttpServer::http2Shared() {
  if (!h2_) {
    h2_ = std::make_shared<Http2Shared>(options_);
  }
  return h2_;
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
