#pragma once
// ActiveStream: one request on a downstream connection, whatever its protocol: it pins the
// config snapshot, matches the route, runs the route's filters, hands the request to its Router
// and sends the response (the upstream's or the proxy's own) back through the codec's encoder.
// It keeps the request's StreamInfo (decision trail, access log, /requests).
//
// A fresh object per request: nothing is reset by hand between requests. It ends when its
// response is complete (the codec deals with what the request still sends), when it is reset
// (the client went away), or, for an upgrade, when both directions of the tunnel have ended;
// it then tells its ConnectionManager, which deletes it after the current loop iteration.

#include <memory>
#include <string>
#include <string_view>

#include "common/http/codec.h"
#include "common/recycled.h"
#include "common/timer.h"
#include "filters/api/filter_chain.h"
#include "filters/api/http_filter.h"
#include "filters/api/stream_info.h"
#include "sidecar/http/router.h"
#include "sidecar/snapshot.h"

namespace remora::sidecar {

class ConnectionManager;
class Worker;

// Set by a sidecar that carries an HTTP/1 request to another sidecar over HTTP/2 (the endpoint
// has_sidecar): the far side takes the header off and treats the request as HTTP/1 for
// USE_DOWNSTREAM clusters (its local app speaks HTTP/1), as linkerd's l5d-orig-proto does.
inline constexpr std::string_view kOrigProtoHeader = "x-remora-orig-proto";

class ActiveStream final : public common::Recycled<ActiveStream>,
                           public http::RequestDecoder,
                           public http::StreamCallbacks,
                           public filters::StreamCtx,
                           public common::Deletable {
 public:
  ActiveStream(ConnectionManager& cm, http::ResponseEncoder& encoder);
  ~ActiveStream() override;

  // http::RequestDecoder
  void decodeHeaders(http::RequestHead& head, bool end_stream) noexcept override;
  void decodeData(std::string_view data, bool end_stream) noexcept override;
  void decodeTrailers(common::HeaderMap& trailers) noexcept override;

  // http::StreamCallbacks (the downstream encoder)
  void onResetStream(http::StreamResetReason reason) noexcept override;
  void onAboveWriteBufferHighWatermark() noexcept override;
  void onBelowWriteBufferLowWatermark() noexcept override;

  // filters::StreamCtx
  void sendLocalReply(filters::Reason reason, std::string_view detail = {},
                      uint16_t status = 0) noexcept override;
  void sendLocalReply(const filters::LocalReply& reply) noexcept override;
  void resume() noexcept override;
  filters::StreamInfo& info() noexcept override { return *info_; }
  std::unique_ptr<common::Timer> createTimer(std::function<void()> cb) override;
  common::StatsShard& stats() noexcept override;
  uint64_t random() noexcept override;
  std::string_view downstreamHost() noexcept override;

  // ---- for the connection manager ----
  // A downstream read is about to be parsed: what it produces for the upstream stays corked
  // until onDispatchEnd (nothing of a request that turns out malformed may leave).
  void onDispatchBegin() noexcept;
  // The read that carried this stream's bytes has been parsed: what it produced for the
  // upstream leaves now (see Router::onDispatchEnd).
  void onDispatchEnd() noexcept;
  // The request could not be parsed (400 / 431 / 501). For a stream the codec opened
  // only to answer (no head), `partial` is what arrived of the request line.
  void replyCodecError(http::CodecError error, std::string_view detail,
                       const common::MessageHead* partial) noexcept;
  // Shutdown: answer 503 if nothing of the response left yet; then the connection closes.
  void closeNow() noexcept;
  bool responseStarted() const noexcept { return response_head_sent_; }
  bool tunnel() const noexcept { return tunnel_; }
  // A gRPC request (HTTP/2, content-type application/grpc...): the proxy's own answers are
  // trailers-only responses, and the grpc-status is counted.
  bool grpc() const noexcept { return grpc_; }
  // The client spoke HTTP/2 and the request was not an HTTP/1 one carried by another sidecar.
  bool downstreamSpeaksHttp2() const noexcept {
    return protocol_ == http::Protocol::kHttp2 && !carried_http1_;
  }
  // Both directions of the tunnel have ended.
  bool tunnelEnded() const noexcept { return tunnel_ && tunnel_down_done_ && tunnel_up_done_; }
  // The tunnel's upstream socket has bytes still queued.
  size_t upstreamPendingBytes() const noexcept { return router_.upstreamPendingBytes(); }

  // ---- for the router ----
  Worker& worker() noexcept;
  ConnectionManager& connection() noexcept { return cm_; }
  const Snapshot& snapshot() const noexcept { return *snapshot_; }
  const ListenerConfig& listener() const noexcept { return *listener_; }
  bool requestComplete() const noexcept { return request_complete_; }
  bool requestHasBody() const noexcept { return request_has_body_; }
  bool responseComplete() const noexcept { return response_complete_; }
  // The downstream cannot take more response bytes for now.
  bool downstreamBlocked() const noexcept { return downstream_blocked_; }
  // Stop / go on reading the request body because the upstream cannot take more.
  void setUpstreamBlocked(bool blocked) noexcept;
  // Loop time of the last request bytes (or of a read resumed after a pause of ours).
  uint64_t lastInputMs() const noexcept { return last_input_ms_; }
  // The downstream socket is being read (a stalled body is the client's doing only then).
  bool downstreamReading() const noexcept;
  // We are not reading (backpressure): the body-read clock starts again from now.
  void restartInputClock() noexcept;
  // The response from the upstream, in order.
  void encode1xx(const http::ResponseHead& head) noexcept;
  void encodeUpstreamHeaders(http::ResponseHead& head, bool end_stream) noexcept;
  void encodeUpstreamData(std::string_view data, bool end_stream) noexcept;
  void encodeUpstreamTrailers(common::HeaderMap& trailers) noexcept;
  // Every event of one upstream read has been delivered.
  void flushDownstream() noexcept;
  // The upstream's tunnel socket has written everything.
  void onUpstreamDrained() noexcept;
  // Answers from the proxy (status from the reason unless given).
  void replyLocally(filters::Reason reason, std::string_view detail = {},
                    uint16_t status = 0) noexcept;
  void replyLocally(const filters::LocalReply& reply) noexcept;
  // The stream failed: a local reply if nothing of the response left, else the connection
  // ends (the client sees the response cut short).
  void failStream(filters::Reason reason) noexcept;
  // The response cannot be completed and the client must see it: reset the stream.
  void abort() noexcept;

 private:
  // Authority checks, request id, route match, then the route's filters.
  void routeRequest(http::RequestHead& head) noexcept;
  // After the filters: inbound headers, then the router.
  void forwardRequest() noexcept;
  void updateReadDisable() noexcept;
  // ---- the filters' body and trailers hooks, and a response a filter holds ----
  // Runs the request / response body hooks on `data` (replaced by what they pass on) when a
  // filter of the chain asked for them; false when nothing is to be passed on (a filter
  // stopped, or dropped a piece that does not end the body).
  bool filterRequestData(std::string_view& data, bool end_stream) noexcept;
  bool filterResponseData(std::string_view& data, bool end_stream) noexcept;
  // The same for trailers: false when a filter stopped them.
  bool filterRequestTrailers(common::HeaderMap& trailers) noexcept;
  bool filterResponseTrailers(common::HeaderMap& trailers) noexcept;
  // A body or trailers hook returned kStop: the contract says it answered; if it did not, the
  // stream is reset.
  void filterStopped(const char* what) noexcept;
  // The response head after the filters: framing checks, then to the client.
  void sendResponseHeaders(http::ResponseHead& head, bool end_stream) noexcept;
  void resumeResponse() noexcept;
  // The response is complete (or the stream reset): stats, log, /requests. Done before the
  // last response bytes go to the encoder, so a client that has read the whole response finds
  // the request in /requests (and nothing touches an HTTP/2 encoder that is gone after it).
  void recordStream() noexcept;
  // The grpc-status of a trailers-only response or of the trailers, for the log and metrics.
  void noteGrpcStatus(const common::HeaderMap& fields) noexcept;
  void finish() noexcept;

  ConnectionManager& cm_;
  Worker& worker_;  // (the connection manager may be gone when the stream is deleted)
  http::ResponseEncoder& encoder_;
  std::shared_ptr<const Snapshot> snapshot_;  // pinned for the stream's life
  const ListenerConfig* listener_;
  http::RequestHead* head_ = nullptr;             // the codec's, valid for the stream's life
  const ClusterConfig* route_cluster_ = nullptr;  // where the route sends the request
  const RouteEntry* route_ = nullptr;
  // From the worker's pool (its strings and vectors keep their capacity from stream to stream).
  std::unique_ptr<filters::StreamInfo> info_;
  filters::FilterChain filters_;
  Router router_;
  std::string held_body_;  // request body that arrived while a filter held the request
  std::unique_ptr<common::HeaderMap> held_trailers_;
  // A response a filter holds (onResponseHeaders returned kStop without answering).
  struct HeldResponse {
    http::ResponseHead head;
    bool end_stream = false;  // the head ended the response
    std::string body;
    bool complete = false;  // the response ended while held
    std::unique_ptr<common::HeaderMap> trailers;
    bool paused = false;  // the upstream is not read (body over kMaxHeldBodyBytes)
  };
  std::unique_ptr<HeldResponse> held_response_;
  uint64_t last_input_ms_ = 0;
  bool request_complete_ = false;
  bool request_has_body_ = false;
  bool waiting_filters_ = false;  // a filter holds the request (it will resume() or answer)
  bool routed_ = false;           // the router has the request
  bool response_head_sent_ = false;
  bool response_complete_ = false;
  bool recorded_ = false;
  bool finished_ = false;
  bool tunnel_ = false;
  bool tunnel_down_done_ = false;  // the client ended its side of the tunnel
  bool tunnel_up_done_ = false;    // the upstream ended its side
  bool downstream_blocked_ = false;
  bool upstream_blocked_ = false;
  bool read_disabled_ = false;
  bool grpc_ = false;
  bool carried_http1_ = false;  // it came with kOrigProtoHeader
  http::Protocol protocol_;     // the downstream's (for the access log)
};

}  // namespace remora::sidecar
