#include "fake_upstream.h"

#include <uv.h>

#include <future>

#include "codec_parts.h"
#include "common/http/codec.h"
#include "common/http1/server_connection.h"
#include "common/http2/http2_stats.h"
#include "common/http2/preface.h"
#include "common/http2/server_connection.h"
#include "common/http2/settings.h"
#include "common/stats.h"
#include "common/tcp_connection.h"
#include "common/tcp_listener.h"
#include "common/timer.h"

namespace remora::test {

Reply Reply::ok(std::string body) {
  Reply r;
  r.body.push_back(std::move(body));
  return r;
}

Reply Reply::withStatus(int status) {
  Reply r;
  r.status = status;
  r.body.push_back("status " + std::to_string(status) + "\n");
  return r;
}

Reply Reply::resetBeforeHead(End how) {
  Reply r;
  r.send_head = false;
  r.end = how;
  return r;
}

// One accepted connection: the codec its first bytes chose, and its exchanges.
class FakeUpstream::Connection final : public common::Deletable,
                                       public common::TcpConnection::Handler,
                                       private http::ServerConnectionCallbacks {
 public:
  Connection(FakeUpstream& owner, uint64_t id) : owner_(owner), id_(id), tcp_(owner.loop_, *this) {}
  ~Connection() override;

  int start(uv_stream_t* listener) {
    int rc = tcp_.accept(listener);
    if (rc == 0) {
      tcp_.readStart();
    }
    return rc;
  }

  // Closes at once; the object is freed by the owner after the current callbacks.
  void closeNow() noexcept;
  // FIN once what is queued has left; the peer's EOF (or an error) then closes.
  void closeGracefully() noexcept {
    if (codec_ != nullptr) {
      codec_->flush();
    }
    closing_ = true;
    tcp_.shutdownAfterFlush();
  }
  void flush() noexcept {
    if (codec_ != nullptr && !closed_) {
      codec_->flush();
    }
  }
  // An HTTP/1 response is complete: close when the wire requires it, else take the next request.
  void responseDone() noexcept {
    if (h1_ == nullptr || closed_) {
      return;
    }
    if (h1_->aborted() || h1_->closeRequested()) {
      closeGracefully();
    } else if (!h1_->resumePipelined()) {
      closeNow();
    }
  }
  http::Protocol protocol() const noexcept {
    return h2_ != nullptr ? http::Protocol::kHttp2 : http::Protocol::kHttp11;
  }
  bool http2() const noexcept { return h2_ != nullptr; }
  uint64_t id() const noexcept { return id_; }
  FakeUpstream& owner() noexcept { return owner_; }
  bool closed() const noexcept { return closed_; }
  void forget(Exchange* ex) noexcept;

  // TcpConnection::Handler
  void onData(const char* data, size_t len) noexcept override;
  void onEof() noexcept override {
    if (h1_ != nullptr && !closing_ &&
        h1_->onEof() == http1::ServerConnection::EofAction::kFinish) {
      return;  // the answer in progress is written, then responseDone() closes
    }
    closeNow();
  }
  void onError(int) noexcept override { closeNow(); }
  void onHighWatermark() noexcept override {
    if (codec_ != nullptr) {
      codec_->onUnderlyingAboveHighWatermark();
    }
  }
  void onLowWatermark() noexcept override {
    if (codec_ != nullptr) {
      codec_->onUnderlyingBelowLowWatermark();
    }
  }

 private:
  http::RequestDecoder& newStream(http::ResponseEncoder& encoder) noexcept override;

  FakeUpstream& owner_;
  const uint64_t id_;
  common::TcpConnection tcp_;
  http2::PrefaceSniffer sniffer_;
  std::unique_ptr<Http2Counters> h2_counters_;
  std::unique_ptr<http1::ServerConnection> h1_;
  std::unique_ptr<http2::ServerConnection> h2_;
  http::Connection* codec_ = nullptr;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
  bool closing_ = false;
  bool closed_ = false;
};

// One request and its scripted answer.
class FakeUpstream::Exchange final : public common::Deletable,
                                     public CollectingDecoder<http::RequestDecoder>,
                                     public http::StreamCallbacks {
 public:
  Exchange(Connection& conn, http::ResponseEncoder& encoder)
      : conn_(conn), encoder_(&encoder), timer_(conn.owner().loop_.uv(), [this] { step(); }) {
    encoder.setCallbacks(*this);
    request_.protocol = conn.protocol();
    request_.connection = conn.id();
  }

  // http::RequestDecoder
  void decodeHeaders(http::RequestHead& head, bool end_stream) noexcept override {
    request_.protocol = head.protocol;
    request_.method = head.method;
    request_.path = head.path;
    request_.authority = std::string(head.headers.get(common::Wk::kHost));
    request_.headers = head.headers;
    if (!end_stream && common::equalsIgnoreCase(head.headers.get("expect"), "100-continue")) {
      http::ResponseHead cont;
      cont.status = 100;
      encoder_->encode1xxHeaders(cont);
    }
    if (end_stream) {
      requestComplete();
    }
  }
  std::string& body() noexcept override { return request_.body; }
  http::HeaderMap& trailers() noexcept override { return request_.trailers; }
  void messageEnd() noexcept override { requestComplete(); }
  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason) noexcept override { finish(); }
  void onAboveWriteBufferHighWatermark() noexcept override {}
  void onBelowWriteBufferLowWatermark() noexcept override {}

  // Sends nothing more (the response is over, or the connection went away under it).
  void stopSending() noexcept {
    stage_ = Stage::kDone;
    encoder_ = nullptr;
    timer_.stop();
  }

 private:
  enum class Stage : uint8_t { kHead, kBody, kEnd, kDone };

  void requestComplete() noexcept {
    reply_ = conn_.owner().replyFor(request_);
    conn_.owner().record(request_);
    stage_ = reply_.send_head ? Stage::kHead : Stage::kEnd;
    if (reply_.head_delay_ms > 0) {
      timer_.start(reply_.head_delay_ms);
    } else {
      step();
    }
  }

  // Sends what is due now, until a pause or the end.
  void step() noexcept {
    while (encoder_ != nullptr && stage_ != Stage::kDone) {
      switch (stage_) {
        case Stage::kHead:
          sendHead();
          break;
        case Stage::kBody:
          if (next_piece_ > 0 && reply_.piece_delay_ms > 0 && !waited_) {
            waited_ = true;
            conn_.flush();
            timer_.start(reply_.piece_delay_ms);
            return;
          }
          waited_ = false;
          sendPiece();
          break;
        case Stage::kEnd:
          if (reply_.end != Reply::End::kComplete && next_piece_ > 0 && reply_.piece_delay_ms > 0 &&
              !waited_) {
            waited_ = true;  // the pieces leave before the reset or close
            conn_.flush();
            timer_.start(reply_.piece_delay_ms);
            return;
          }
          sendEnd();
          break;
        case Stage::kDone:
          break;
      }
    }
    conn_.flush();
  }

  bool lastPieceEnds() const noexcept {
    return reply_.trailers.empty() && reply_.end == Reply::End::kComplete;
  }

  void sendHead() noexcept {
    http::ResponseHead head;
    head.status = static_cast<uint16_t>(reply_.status);
    head.protocol = request_.protocol;
    for (const auto& [name, value] : reply_.headers) {
      head.headers.add(name, value);
    }
    size_t total = 0;
    for (const std::string& piece : reply_.body) {
      total += piece.size();
    }
    if (reply_.content_length) {
      head.content_length = static_cast<int64_t>(total);
      head.headers.set("content-length", std::to_string(total));
    }
    const bool end = reply_.body.empty() && lastPieceEnds();
    stage_ = reply_.body.empty() ? Stage::kEnd : Stage::kBody;
    encoder_->encodeHeaders(head, end);
    if (end) {
      done();
    }
  }

  void sendPiece() noexcept {
    const bool last = next_piece_ + 1 == reply_.body.size();
    const bool end = last && lastPieceEnds();
    const std::string& piece = reply_.body[next_piece_++];
    if (last) {
      stage_ = Stage::kEnd;
    }
    encoder_->encodeData(piece, end);
    if (end) {
      done();
    }
  }

  void sendEnd() noexcept {
    switch (reply_.end) {
      case Reply::End::kComplete: {
        common::HeaderMap fields;
        for (const auto& [name, value] : reply_.trailers) {
          fields.add(name, value);
        }
        encoder_->encodeTrailers(fields);
        done();
        return;
      }
      case Reply::End::kReset:
        if (conn_.http2()) {
          http::ResponseEncoder* encoder = encoder_;
          finish();  // (no onResetStream follows a reset of our own)
          encoder->resetStream(http::StreamResetReason::kLocalReset);
          conn_.flush();
          return;
        }
        [[fallthrough]];  // HTTP/1 has no stream to reset without its connection
      case Reply::End::kClose:
        // The codec still knows the stream: the exchange lives until the close resets it.
        stopSending();
        conn_.closeGracefully();
        return;
    }
  }

  // The response left whole.
  void done() noexcept {
    finish();
    conn_.responseDone();
  }

  // Nothing more is sent for this exchange and the codec is done with its stream: it is freed
  // after the current callbacks.
  void finish() noexcept {
    stopSending();
    conn_.forget(this);
  }

  Connection& conn_;
  http::ResponseEncoder* encoder_;
  common::Timer timer_;
  ReceivedRequest request_;
  Reply reply_;
  Stage stage_ = Stage::kHead;
  size_t next_piece_ = 0;
  bool waited_ = false;
};

FakeUpstream::Connection::~Connection() {
  h1_.reset();
  h2_.reset();
}

void FakeUpstream::Connection::closeNow() noexcept {
  if (closed_) {
    return;
  }
  closed_ = true;
  tcp_.close();
  if (codec_ != nullptr) {
    codec_->onConnectionClosed();
  }
  for (auto& ex : exchanges_) {
    ex->stopSending();
    owner_.loop_.deferDelete(std::move(ex));
  }
  exchanges_.clear();
  owner_.release(this);
}

void FakeUpstream::Connection::forget(Exchange* ex) noexcept {
  for (auto it = exchanges_.begin(); it != exchanges_.end(); ++it) {
    if (it->get() == ex) {
      owner_.loop_.deferDelete(std::move(*it));
      exchanges_.erase(it);
      return;
    }
  }
}

void FakeUpstream::Connection::onData(const char* data, size_t len) noexcept {
  if (closed_) {
    return;
  }
  if (codec_ == nullptr) {
    auto verdict = sniffer_.feed(std::string_view(data, len));
    if (verdict == http2::PrefaceSniffer::Verdict::kUndecided) {
      return;
    }
    http::ServerConnectionCallbacks& callbacks = *this;
    if (verdict == http2::PrefaceSniffer::Verdict::kHttp2) {
      h2_counters_ = std::make_unique<Http2Counters>();
      h2_ = std::make_unique<http2::ServerConnection>(tcp_, callbacks, http2::Settings(),
                                                      h2_counters_->stats, h2_counters_->shard());
      codec_ = h2_.get();
    } else {
      h1_ = std::make_unique<http1::ServerConnection>(tcp_, callbacks, common::ParserLimits(),
                                                      64 * 1024);
      codec_ = h1_.get();
    }
    std::string held = sniffer_.takeHeld();
    if (!held.empty() && !codec_->dispatch(held.data(), held.size())) {
      closeNow();
      return;
    }
  }
  if (closed_ || (len > 0 && !codec_->dispatch(data, len))) {
    flush();
    closeNow();
    return;
  }
  flush();
}

http::RequestDecoder& FakeUpstream::Connection::newStream(http::ResponseEncoder& encoder) noexcept {
  exchanges_.push_back(std::make_unique<Exchange>(*this, encoder));
  return *exchanges_.back();
}

FakeUpstream::FakeUpstream() : handler_([](const ReceivedRequest&) { return Reply::ok("ok"); }) {}

FakeUpstream::~FakeUpstream() {
  if (!thread_.joinable()) {
    return;
  }
  loop_.post([this] {
    common::closeListener(listener_);
    std::vector<Connection*> open;
    for (auto& c : conns_) {
      open.push_back(c.get());
    }
    for (Connection* c : open) {
      c->closeNow();
    }
    loop_.stop();
  });
  thread_.join();
  for (int i = 0; i < 5; ++i) {  // close callbacks and deferred deletions
    uv_run(loop_.uv(), UV_RUN_NOWAIT);
  }
  loop_.closeAll();
}

bool FakeUpstream::start() {
  std::promise<std::string> bound;
  std::future<std::string> bound_future = bound.get_future();
  thread_ = std::thread([this, &bound] {
    common::SocketAddress addr;
    auto listener = common::listenTcp(loop_, "127.0.0.1:0", 128, onAccept, this, &addr);
    if (!listener.isOk()) {
      bound.set_value(std::string());
      return;
    }
    listener_ = listener.value();
    bound.set_value(addr.toString());
    loop_.run();
  });
  address_ = bound_future.get();
  if (address_.empty()) {
    thread_.join();
  }
  return !address_.empty();
}

void FakeUpstream::onAccept(uv_stream_t* listener, int status) {
  auto* self = static_cast<FakeUpstream*>(listener->data);
  if (status != 0) {
    return;
  }
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    id = ++self->accepted_;
  }
  auto conn = std::make_unique<Connection>(*self, id);
  if (conn->start(listener) != 0) {
    return;
  }
  self->conns_.push_back(std::move(conn));
}

void FakeUpstream::release(Connection* conn) {
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    if (it->get() == conn) {
      loop_.deferDelete(std::move(*it));
      conns_.erase(it);
      return;
    }
  }
}

void FakeUpstream::setHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void FakeUpstream::enqueue(Reply reply) {
  std::lock_guard<std::mutex> lock(mu_);
  queued_.push_back(std::move(reply));
}

Reply FakeUpstream::replyFor(const ReceivedRequest& request) {
  Handler handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queued_.empty()) {
      Reply r = std::move(queued_.front());
      queued_.pop_front();
      return r;
    }
    handler = handler_;
  }
  return handler(request);
}

void FakeUpstream::record(ReceivedRequest request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(request));
  }
  cv_.notify_all();
}

std::vector<ReceivedRequest> FakeUpstream::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool FakeUpstream::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

uint64_t FakeUpstream::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return accepted_;
}

}  // namespace remora::test
