#include "test/apps/echo/grpc_echo_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "test/apps/echo/echo_service.h"

namespace remora::echo {

namespace {

constexpr std::string_view kServicePrefix = "/remora.echo.v1.Echo/";
// ServerStream: the most replies one request may ask for.
constexpr uint32_t kMaxCount = 100000;
// Bidi: requests queued for their reply before reading stops.
constexpr size_t kMaxQueued = 64;

// Metadata that is part of the protocol, not of the application: not echoed as x-echo-md-*.
bool isCustomMetadata(std::string_view name) {
  return !name.starts_with("grpc-") && !name.starts_with("x-echo-") && name != "content-type" &&
         name != "content-length" && name != "host" && name != "te" && name != "user-agent";
}

}  // namespace

GrpcEchoCall::GrpcEchoCall(GrpcEchoContext& context, http::ResponseEncoder& encoder,
                           std::function<void(GrpcEchoCall&)> on_done)
    : ctx_(context),
      encoder_(encoder),
      on_done_(std::move(on_done)),
      reader_(context.max_message_bytes) {}

GrpcEchoCall::~GrpcEchoCall() = default;

void GrpcEchoCall::decodeHeaders(http::RequestHead& head, bool end_stream) noexcept {
  path_ = head.path;
  head.headers.forEach(
      [&](std::string_view name, std::string_view value) { metadata_.emplace_back(name, value); });
  if (!head.isGrpc()) {
    answerHttp(415, "remora-echo --grpc: content-type must be application/grpc\n");
  } else if (head.method != "POST") {
    finish(static_cast<uint32_t>(grpc::Status::kUnimplemented), "gRPC calls are POST requests");
  } else {
    std::string_view name = std::string_view(path_);
    if (name.starts_with(kServicePrefix)) {
      name.remove_prefix(kServicePrefix.size());
      method_ = name == "Unary"          ? Method::kUnary
                : name == "ServerStream" ? Method::kServerStream
                : name == "ClientStream" ? Method::kClientStream
                : name == "Bidi"         ? Method::kBidi
                                         : Method::kUnknown;
    }
    double fail_rate = ctx_.fail_rate;
    if (method_ == Method::kUnknown) {
      finish(static_cast<uint32_t>(grpc::Status::kUnimplemented), "unknown method " + path_);
    } else if (head.headers.has("x-echo-fail-rate") &&
               !parseRate(head.headers.get("x-echo-fail-rate"), fail_rate)) {
      finish(static_cast<uint32_t>(grpc::Status::kInvalidArgument),
             "x-echo-fail-rate: not a number in 0..1");
    } else if (fail_rate > 0 &&
               std::uniform_real_distribution<double>(0, 1)(ctx_.rng) < fail_rate) {
      finish(ctx_.fail_status, "remora-echo " + ctx_.id + ": injected failure");
    } else if (head.headers.has("grpc-timeout")) {
      std::optional<uint64_t> timeout = grpc::parseTimeoutMs(head.headers.get("grpc-timeout"));
      if (!timeout) {
        finish(static_cast<uint32_t>(grpc::Status::kInternal),
               "malformed grpc-timeout '" + std::string(head.headers.get("grpc-timeout")) + "'");
      } else {
        deadline_ms_ = *timeout;
        deadline_timer_ = std::make_unique<common::Timer>(ctx_.loop.uv(), [this] {
          finish(static_cast<uint32_t>(grpc::Status::kDeadlineExceeded),
                 "deadline of " + std::to_string(deadline_ms_) + " ms exceeded");
        });
        deadline_timer_->start(deadline_ms_);
      }
    }
  }
  if (end_stream) {
    onRequestEnd();
  }
}

void GrpcEchoCall::decodeData(std::string_view data, bool end_stream) noexcept {
  if (!out_done_) {
    MessageReader::Error e =
        reader_.feed(data, [this](std::string_view payload) { return onMessage(payload); });
    if (e == MessageReader::Error::kCompressed) {
      finish(static_cast<uint32_t>(grpc::Status::kInternal),
             "compressed message without a negotiated grpc-encoding");
    } else if (e == MessageReader::Error::kTooLarge) {
      finish(static_cast<uint32_t>(grpc::Status::kResourceExhausted),
             "message of " + std::to_string(reader_.refusedLength()) + " bytes is over the " +
                 std::to_string(ctx_.max_message_bytes) + "-byte limit");
    }
  }
  if (end_stream) {
    onRequestEnd();
  }
}

void GrpcEchoCall::decodeTrailers(http::HeaderMap& /*trailers*/) noexcept {
  onRequestEnd();
}

bool GrpcEchoCall::onMessage(std::string_view payload) {
  v1::EchoRequest request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    finish(static_cast<uint32_t>(grpc::Status::kInternal), "message is not an EchoRequest");
    return false;
  }
  if (request.status_code() > grpc::kMaxStatus) {
    finish(static_cast<uint32_t>(grpc::Status::kInvalidArgument),
           "status_code " + std::to_string(request.status_code()) + " is not a gRPC status");
    return false;
  }
  ++received_;
  received_bytes_ += payload.size();
  bool unary_request = method_ == Method::kUnary || method_ == Method::kServerStream;
  if (unary_request && received_ > 1) {
    finish(static_cast<uint32_t>(grpc::Status::kInternal),
           "more than one request message for a unary-request method");
    return false;
  }
  if (method_ == Method::kBidi) {
    queue_.push_back(std::move(request));
    if (queue_.size() >= kMaxQueued && !read_disabled_) {
      read_disabled_ = true;
      encoder_.readDisable(true);
    }
    pumpBidi();
    return !out_done_;
  }
  if (received_ == 1) {
    first_ = std::move(request);
    last_message_ = first_.message();
  } else {
    last_message_ = request.message();
  }
  return true;
}

void GrpcEchoCall::onRequestEnd() {
  if (remote_end_) {
    return;
  }
  remote_end_ = true;
  if (out_done_) {
    maybeDone();
    return;
  }
  if (reader_.midMessage()) {
    finish(static_cast<uint32_t>(grpc::Status::kInternal), "request ended inside a message");
    return;
  }
  spdlog::debug("grpc {}: request complete ({} messages)", path_, received_);
  switch (method_) {
    case Method::kUnary:
    case Method::kServerStream:
      if (received_ != 1) {
        finish(static_cast<uint32_t>(grpc::Status::kInternal), "missing request message");
      } else if (method_ == Method::kUnary) {
        answerOnce();
      } else {
        streamReplies();
      }
      return;
    case Method::kClientStream:
      answerOnce();
      return;
    case Method::kBidi:
      pumpBidi();
      return;
    case Method::kUnknown:
      return;
  }
}

void GrpcEchoCall::after(uint64_t delay_ms, std::function<void()> fn) {
  step_ = std::move(fn);
  if (!step_timer_) {
    step_timer_ = std::make_unique<common::Timer>(ctx_.loop.uv(), [this] {
      std::function<void()> step = std::move(step_);
      step();
    });
  }
  step_timer_->start(delay_ms);
}

uint64_t GrpcEchoCall::delayOf(const v1::EchoRequest& request) const noexcept {
  return request.delay_ms() != 0 ? request.delay_ms() : ctx_.default_delay_ms;
}

void GrpcEchoCall::answerOnce() {
  uint64_t delay = delayOf(first_);
  if (delay > 0 && !delay_done_) {
    delay_done_ = true;
    after(delay, [this] { answerOnce(); });
    return;
  }
  if (first_.status_code() != 0) {
    finish(first_.status_code(), first_.status_message());
    return;
  }
  sendReply(makeReply(last_message_, sent_++));
  finish(static_cast<uint32_t>(grpc::Status::kOk), "");
}

void GrpcEchoCall::streamReplies() {
  if (step_timer_ && step_timer_->armed()) {
    return;  // the timer goes on
  }
  uint32_t count = std::min(first_.count(), kMaxCount);
  uint64_t delay = delayOf(first_);
  // With no reply to send, the delay goes before the status.
  while (!out_done_ && !above_high_ && (sent_ < count || (count == 0 && !delay_done_))) {
    if (delay > 0 && !delay_done_) {
      delay_done_ = true;
      after(delay, [this] { streamReplies(); });
      return;
    }
    if (sent_ < count) {
      delay_done_ = false;
      sendReply(makeReply(first_.message(), sent_++));
    } else {
      delay_done_ = true;
    }
  }
  if (!out_done_ && sent_ == count && (count > 0 || delay_done_)) {
    finish(first_.status_code(), first_.status_message());
  }
}

void GrpcEchoCall::pumpBidi() {
  while (!out_done_ && !above_high_ && !queue_.empty() && !(step_timer_ && step_timer_->armed())) {
    const v1::EchoRequest& request = queue_.front();
    uint64_t delay = delayOf(request);
    if (delay > 0 && !delay_done_) {
      delay_done_ = true;
      after(delay, [this] { pumpBidi(); });
      return;
    }
    delay_done_ = false;
    if (request.status_code() != 0) {
      finish(request.status_code(), request.status_message());
      return;
    }
    sendReply(makeReply(request.message(), sent_++));
    queue_.pop_front();
  }
  if (out_done_) {
    return;
  }
  if (read_disabled_ && queue_.size() < kMaxQueued / 2) {
    read_disabled_ = false;
    encoder_.readDisable(false);
  }
  if (remote_end_ && queue_.empty()) {
    finish(static_cast<uint32_t>(grpc::Status::kOk), "");
  }
}

v1::EchoReply GrpcEchoCall::makeReply(const std::string& message, uint32_t index) const {
  v1::EchoReply reply;
  reply.set_message(message);
  reply.set_instance_id(ctx_.id);
  reply.set_index(index);
  for (const auto& [name, value] : metadata_) {
    v1::Metadata* md = reply.add_metadata();
    md->set_name(name);
    md->set_value(value);
  }
  reply.set_received(received_);
  reply.set_received_bytes(received_bytes_);
  return reply;
}

void GrpcEchoCall::sendReply(const v1::EchoReply& reply) {
  if (!headers_sent_) {
    sendHeaders(false, nullptr);
  }
  if (out_done_) {
    return;  // reset while sending the head
  }
  std::string frame;
  appendMessage(reply.SerializeAsString(), frame);
  encoder_.encodeData(frame, false);
}

void GrpcEchoCall::sendHeaders(bool end_stream, const common::HeaderMap* status_fields) {
  headers_sent_ = true;
  http::ResponseHead head;
  head.status = 200;
  head.protocol = http::Protocol::kHttp2;
  head.headers.add("content-type", "application/grpc");
  head.headers.add("x-echo-id", ctx_.id);
  for (const auto& [name, value] : metadata_) {
    if (isCustomMetadata(name)) {
      head.headers.add("x-echo-md-" + name, value);
    }
  }
  if (status_fields != nullptr) {
    status_fields->forEach(
        [&](std::string_view name, std::string_view value) { head.headers.add(name, value); });
  }
  encoder_.encodeHeaders(head, end_stream);
}

void GrpcEchoCall::finish(uint32_t status, std::string_view message) {
  if (out_done_) {
    return;
  }
  stopTimers();
  queue_.clear();
  common::HeaderMap fields;
  grpc::addStatusFields(fields, status, message);
  bool trailers_only = !headers_sent_;
  out_done_ = true;
  ++ctx_.ended[status];
  spdlog::debug("grpc {} ended: grpc-status {} '{}' after {} replies", path_, status, message,
                sent_);
  if (trailers_only) {
    sendHeaders(true, &fields);
  } else {
    encoder_.encodeTrailers(fields);
  }
  // The rest of the request is read and dropped.
  if (read_disabled_ && !done_) {
    read_disabled_ = false;
    encoder_.readDisable(false);
  }
  maybeDone();
}

void GrpcEchoCall::answerHttp(uint16_t status, std::string_view body) {
  out_done_ = true;
  headers_sent_ = true;
  ++ctx_.ended[status];
  http::ResponseHead head;
  head.status = status;
  head.protocol = http::Protocol::kHttp2;
  head.headers.add("content-type", "text/plain");
  head.headers.add("x-echo-id", ctx_.id);
  encoder_.encodeHeaders(head, false);
  if (!done_) {
    encoder_.encodeData(body, true);
  }
}

void GrpcEchoCall::onResetStream(http::StreamResetReason reason) noexcept {
  spdlog::debug("grpc {} reset ({}) after {} replies: timers dropped", path_,
                http::resetReasonName(reason), sent_);
  if (!out_done_) {
    ++ctx_.ended[-1];
  }
  stopTimers();
  out_done_ = true;
  remote_end_ = true;
  maybeDone();
}

void GrpcEchoCall::onBelowWriteBufferLowWatermark() noexcept {
  above_high_ = false;
  if (out_done_) {
    return;
  }
  if (method_ == Method::kServerStream && remote_end_) {
    streamReplies();
  } else if (method_ == Method::kBidi) {
    pumpBidi();
  }
}

void GrpcEchoCall::stopTimers() noexcept {
  if (step_timer_) {
    step_timer_->stop();
  }
  if (deadline_timer_) {
    deadline_timer_->stop();
  }
  step_ = nullptr;
}

void GrpcEchoCall::maybeDone() {
  if (done_ || !out_done_ || !remote_end_) {
    return;
  }
  done_ = true;
  on_done_(*this);
}

}  // namespace remora::echo
