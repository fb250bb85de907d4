#pragma once
// GrpcEchoCall: one call of remora-echo's gRPC service (echo.proto, remora.echo.v1.Echo) on one
// HTTP/2 stream. It is the stream's RequestDecoder and StreamCallbacks.
//
// Every response carries `x-echo-id` and, as `x-echo-md-NAME`, each custom request metadata
// field NAME (all but grpc-*, x-echo-*, content-type, content-length, host, te, user-agent).
// Replies (EchoReply) carry every request field. A call that ends before any reply was sent
// is a trailers-only response (one HEADERS frame: :status 200, content-type, grpc-status).
//
// Errors: content-type not application/grpc -> HTTP 415; a method other than POST or a path
// other than the four methods -> 12 UNIMPLEMENTED; a malformed grpc-timeout, a compressed or
// truncated message, a payload that is not an EchoRequest, or a unary-request method with not
// exactly one message -> 13 INTERNAL; a message over the limit -> 8 RESOURCE_EXHAUSTED (refused
// from its prefix, never buffered); a status_code over 16 or a bad x-echo-fail-rate -> 3
// INVALID_ARGUMENT.
//
// Failures on purpose: with probability `x-echo-fail-rate` (default the context's fail rate) the
// call is answered at once with the context's fail status (14 UNAVAILABLE unless set). Delays
// run on timers; `grpc-timeout` arms a deadline that ends the call with 4 DEADLINE_EXCEEDED
// when the replies are not done by then. A stream the client resets drops its timers at once.
//
// Memory: one message buffered while it arrives (up to the limit); Bidi stops reading (flow
// control) while replies wait in its queue; replies stop while the stream's send buffer is
// above its high watermark.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/grpc/grpc_status.h"
#include "common/http/codec.h"
#include "common/timer.h"
#include "echo.pb.h"
#include "test/apps/echo/grpc_framing.h"

namespace remora::echo {

// What every call of one server shares.
struct GrpcEchoContext {
  common::EventLoop& loop;
  std::string id;                 // x-echo-id and EchoReply.instance_id
  uint64_t default_delay_ms = 0;  // used when a request's delay_ms is 0
  double fail_rate = 0;           // default of x-echo-fail-rate
  uint32_t fail_status = static_cast<uint32_t>(grpc::Status::kUnavailable);
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  std::mt19937_64 rng;
  // Calls ended, per grpc-status (HTTP 415 answers count under 415, resets under -1).
  std::map<int64_t, uint64_t> ended;
};

class GrpcEchoCall final : public http::RequestDecoder,
                           public http::StreamCallbacks,
                           public common::Deletable {
 public:
  // `on_done` runs once, when the stream is over for this call (its reply complete and the
  // request read to its end, or the stream reset); the owner then hands the call to
  // EventLoop::deferDelete. The encoder is not used after that.
  GrpcEchoCall(GrpcEchoContext& context, http::ResponseEncoder& encoder,
               std::function<void(GrpcEchoCall&)> on_done);
  ~GrpcEchoCall() override;

  void decodeHeaders(http::RequestHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view data, bool end_stream) noexcept override;
  void decodeTrailers(http::HeaderMap& trailers) noexcept override;

  void onResetStream(http::StreamResetReason reason) noexcept override;
  void onAboveWriteBufferHighWatermark() noexcept override { above_high_ = true; }
  void onBelowWriteBufferLowWatermark() noexcept override;

 private:
  enum class Method : uint8_t { kUnknown, kUnary, kServerStream, kClientStream, kBidi };

  bool onMessage(std::string_view payload);
  void onRequestEnd();
  // Runs `fn` after `delay_ms` on the call's step timer (at once when 0 is not wanted: callers
  // only arm it for a positive delay).
  void after(uint64_t delay_ms, std::function<void()> fn);
  uint64_t delayOf(const v1::EchoRequest& request) const noexcept;
  // Unary and ClientStream: the one reply (or the request's status) after the first request's
  // delay.
  void answerOnce();
  // ServerStream: the replies left, each after its delay, then the request's status.
  void streamReplies();
  // Bidi: one reply per queued request, in order.
  void pumpBidi();
  v1::EchoReply makeReply(const std::string& message, uint32_t index) const;
  void sendReply(const v1::EchoReply& reply);
  void sendHeaders(bool end_stream, const common::HeaderMap* status_fields);
  // Ends the call with grpc-status `status` (trailers, or trailers-only before any reply).
  void finish(uint32_t status, std::string_view message);
  void answerHttp(uint16_t status, std::string_view body);
  void stopTimers() noexcept;
  void maybeDone();

  GrpcEchoContext& ctx_;
  http::ResponseEncoder& encoder_;
  std::function<void(GrpcEchoCall&)> on_done_;
  Method method_ = Method::kUnknown;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  MessageReader reader_;
  std::unique_ptr<common::Timer> step_timer_;
  std::function<void()> step_;
  std::unique_ptr<common::Timer> deadline_timer_;
  uint64_t deadline_ms_ = 0;

  v1::EchoRequest first_;              // Unary, ServerStream, ClientStream: the first request
  std::string last_message_;           // ClientStream: the last request's message
  std::deque<v1::EchoRequest> queue_;  // Bidi: requests waiting for their reply
  uint32_t received_ = 0;
  uint64_t received_bytes_ = 0;
  uint32_t sent_ = 0;        // replies sent
  bool delay_done_ = false;  // the delay before the next step has passed

  bool headers_sent_ = false;
  bool out_done_ = false;    // the response is complete (or the stream is gone)
  bool remote_end_ = false;  // the request is complete
  bool read_disabled_ = false;
  bool above_high_ = false;
  bool done_ = false;
};

}  // namespace remora::echo
