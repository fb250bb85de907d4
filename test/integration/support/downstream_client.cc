#include "downstream_client.h"

#include <memory>

#include "codec_parts.h"

#include "common/event_loop.h"
#include "common/http1/client_connection.h"
#include "common/http2/client_connection.h"
#include "common/http2/http2_stats.h"
#include "common/http2/settings.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/tcp_connection.h"
#include "common/timer.h"

namespace remora::test {

std::string DownstreamResponse::describe() const {
  std::string out = complete ? "complete" : reset ? "reset" : timed_out ? "timed out" : "failed";
  out +=
      " status " + std::to_string(status) + " after " + std::to_string(body.size()) + " body bytes";
  if (reset) {
    out += " (" + std::string(http::resetReasonName(reset_reason)) + ")";
  }
  return out;
}

namespace {

// One exchange on one connection, driven by the loop until it ends.
class Call final : public common::TcpConnection::Handler,
                   private http::ClientConnectionCallbacks,
                   private CollectingDecoder<http::ResponseDecoder>,
                   private http::StreamCallbacks {
 public:
  Call(http::Protocol protocol, const DownstreamRequest& request, DownstreamResponse& response)
      : protocol_(protocol),
        request_(request),
        response_(response),
        tcp_(loop_, *this),
        deadline_(loop_.uv(), [this] {
          response_.timed_out = true;
          stop();
        }) {}

  ~Call() {
    h1_.reset();
    h2_.reset();
    tcp_.close();
  }

  void run(const std::string& address, std::chrono::milliseconds timeout) {
    auto to = common::parseSocketAddress(address);
    if (!to.isOk() || tcp_.connect(to.value()) != 0) {
      return;
    }
    deadline_.start(static_cast<uint64_t>(timeout.count()));
    loop_.run();
  }

  // TcpConnection::Handler
  void onConnected(int status) noexcept override {
    if (status != 0) {
      stop();
      return;
    }
    response_.connected = true;
    tcp_.readStart();
    http::ClientConnectionCallbacks& callbacks = *this;
    if (protocol_ == http::Protocol::kHttp2) {
      h2_counters_ = std::make_unique<Http2Counters>();
      h2_ = std::make_unique<http2::ClientConnection>(tcp_, callbacks, http2::Settings(),
                                                      h2_counters_->stats, h2_counters_->shard());
      codec_ = h2_.get();
    } else {
      h1_ = std::make_unique<http1::ClientConnection>(tcp_, callbacks);
      codec_ = h1_.get();
    }
    encoder_ = &codec_->newStream(*this);
    encoder_->setCallbacks(*this);
    http::RequestHead head;
    head.method = request_.method;
    head.scheme = "http";
    head.path = request_.path;
    head.protocol = protocol_;
    head.headers.add("host", request_.authority);
    for (const auto& [name, value] : request_.headers) {
      head.headers.add(name, value);
    }
    if (request_.content_length && !request_.body.empty()) {
      size_t total = 0;
      for (const std::string& piece : request_.body) {
        total += piece.size();
      }
      head.content_length = static_cast<int64_t>(total);
      head.headers.add("content-length", std::to_string(total));
    }
    const bool end = request_.body.empty() && request_.trailers.empty();
    encoder_->encodeHeaders(head, end);
    if (!end && !request_.wait_for_continue) {
      sendBody();
    }
    codec_->flush();
  }

  void onData(const char* data, size_t len) noexcept override {
    if (!codec_->dispatch(data, len)) {
      failed(http::StreamResetReason::kProtocolError);
      return;
    }
    if (!done_) {
      codec_->flush();
    }
  }
  void onEof() noexcept override { closed(); }
  void onError(int) noexcept override { closed(); }
  void onHighWatermark() noexcept override { codec_->onUnderlyingAboveHighWatermark(); }
  void onLowWatermark() noexcept override { codec_->onUnderlyingBelowLowWatermark(); }

 private:
  // http::ClientConnectionCallbacks
  void onGoAway() noexcept override {}

  // http::ResponseDecoder
  void decode1xxHeaders(http::ResponseHead& head) noexcept override {
    response_.interim.push_back(head.status);
    if (request_.wait_for_continue && head.status == 100 && !body_sent_) {
      sendBody();
    }
  }
  void decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept override {
    response_.status = head.status;
    response_.headers = head.headers;
    if (end_stream) {
      completed();
    }
  }
  std::string& body() noexcept override { return response_.body; }
  http::HeaderMap& trailers() noexcept override { return response_.trailers; }
  void messageEnd() noexcept override { completed(); }

  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason reason) noexcept override { failed(reason); }
  void onAboveWriteBufferHighWatermark() noexcept override {}
  void onBelowWriteBufferLowWatermark() noexcept override {}

  void sendBody() noexcept {
    body_sent_ = true;
    const size_t pieces = request_.body.size();
    for (size_t i = 0; i < pieces && !done_; ++i) {
      encoder_->encodeData(request_.body[i], i + 1 == pieces && request_.trailers.empty());
    }
    if (!request_.trailers.empty() && !done_) {
      common::HeaderMap fields;
      for (const auto& [name, value] : request_.trailers) {
        fields.add(name, value);
      }
      encoder_->encodeTrailers(fields);
    }
    if (!done_) {
      codec_->flush();
    }
  }

  void closed() noexcept {
    if (codec_ != nullptr && !done_) {
      codec_->onConnectionClosed();  // completes a response delimited by the close
    }
    if (!done_) {
      failed(http::StreamResetReason::kConnectionTermination);
    }
  }

  void completed() noexcept {
    response_.complete = true;
    stop();
  }

  void failed(http::StreamResetReason reason) noexcept {
    if (done_) {
      return;
    }
    response_.reset = true;
    response_.reset_reason = reason;
    stop();
  }

  void stop() noexcept {
    done_ = true;
    deadline_.stop();
    uv_stop(loop_.uv());
  }

  const http::Protocol protocol_;
  const DownstreamRequest& request_;
  DownstreamResponse& response_;
  common::EventLoop loop_;
  common::TcpConnection tcp_;
  common::Timer deadline_;
  std::unique_ptr<Http2Counters> h2_counters_;
  std::unique_ptr<http1::ClientConnection> h1_;
  std::unique_ptr<http2::ClientConnection> h2_;
  http::ClientConnection* codec_ = nullptr;
  http::RequestEncoder* encoder_ = nullptr;
  bool body_sent_ = false;
  bool done_ = false;
};

}  // namespace

DownstreamResponse sendRequest(const std::string& address, http::Protocol protocol,
                               const DownstreamRequest& request,
                               std::chrono::milliseconds timeout) {
  DownstreamResponse response;
  {
    Call call(protocol, request, response);
    call.run(address, timeout);
  }
  return response;
}

}  // namespace remora::test
