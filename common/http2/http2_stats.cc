#include "common/http2/http2_stats.h"

#include <nghttp2/nghttp2.h>

namespace remora::http2 {

GoAwayReason goAwayReasonFromCode(uint32_t error_code) noexcept {
  switch (error_code) {
    case NGHTTP2_NO_ERROR:
      return GoAwayReason::kNoError;
    case NGHTTP2_PROTOCOL_ERROR:
      return GoAwayReason::kProtocolError;
    case NGHTTP2_FLOW_CONTROL_ERROR:
      return GoAwayReason::kFlowControlError;
    case NGHTTP2_STREAM_CLOSED:
      return GoAwayReason::kStreamClosed;
    case NGHTTP2_FRAME_SIZE_ERROR:
      return GoAwayReason::kFrameSizeError;
    case NGHTTP2_COMPRESSION_ERROR:
      return GoAwayReason::kCompressionError;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return GoAwayReason::kEnhanceYourCalm;
    default:
      return GoAwayReason::kOther;
  }
}

std::string_view goAwayReasonName(GoAwayReason r) noexcept {
  switch (r) {
    case GoAwayReason::kNoError:
      return "no_error";
    case GoAwayReason::kProtocolError:
      return "protocol_error";
    case GoAwayReason::kFlowControlError:
      return "flow_control_error";
    case GoAwayReason::kStreamClosed:
      return "stream_closed";
    case GoAwayReason::kFrameSizeError:
      return "frame_size_error";
    case GoAwayReason::kCompressionError:
      return "compression_error";
    case GoAwayReason::kEnhanceYourCalm:
      return "enhance_your_calm";
    case GoAwayReason::kOther:
    case GoAwayReason::kCount:
      break;
  }
  return "other";
}

std::string_view floodKindName(FloodKind k) noexcept {
  switch (k) {
    case FloodKind::kRapidReset:
      return "rapid_reset";
    case FloodKind::kPing:
      return "ping";
    case FloodKind::kSettings:
      return "settings";
    case FloodKind::kEmptyData:
      return "empty_data";
    case FloodKind::kControlFrames:
      return "control_frames";
    case FloodKind::kContinuation:
      return "continuation";
    case FloodKind::kHpackBomb:
      return "hpack_bomb";
    case FloodKind::kOutboundQueue:
      return "outbound_queue";
    case FloodKind::kCount:
      break;
  }
  return "unknown";
}

std::string_view limitKindName(LimitKind k) noexcept {
  switch (k) {
    case LimitKind::kHeaderListTooLarge:
      return "header_list_too_large";
    case LimitKind::kRefusedStream:
      return "refused_stream";
    case LimitKind::kCount:
      break;
  }
  return "unknown";
}

Http2Stats Http2Stats::registerIn(common::StatsStore& store) {
  Http2Stats s;
  s.streams_active = store.gauge("remora_http2_streams_active");
  s.rx_reset = store.counter("remora_http2_rx_reset_total");
  for (size_t i = 0; i < s.goaway_sent.size(); ++i) {
    s.goaway_sent[i] =
        store.counter("remora_http2_goaway_sent_total",
                      {{"reason", std::string(goAwayReasonName(static_cast<GoAwayReason>(i)))}});
  }
  for (size_t i = 0; i < s.flood.size(); ++i) {
    s.flood[i] = store.counter("remora_http2_flood_total",
                               {{"kind", std::string(floodKindName(static_cast<FloodKind>(i)))}});
  }
  for (size_t i = 0; i < s.limit.size(); ++i) {
    s.limit[i] = store.counter("remora_http2_limit_total",
                               {{"kind", std::string(limitKindName(static_cast<LimitKind>(i)))}});
  }
  return s;
}

}  // namespace remora::http2
