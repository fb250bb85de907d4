#pragma once
// The HTTP/2 codec's metrics: handles registered once in a StatsStore (main thread), then
// bumped on a worker's shard by every connection of that worker.

#include <array>
#include <cstdint>
#include <string_view>

#include "common/stats.h"

namespace remora::http2 {

// Why we sent a final GOAWAY (its error code). The graceful notice of a drain is not counted.
enum class GoAwayReason : uint8_t {
  kNoError,  // drain
  kProtocolError,
  kFlowControlError,
  kStreamClosed,
  kFrameSizeError,
  kCompressionError,
  kEnhanceYourCalm,
  kOther,
  kCount,
};
GoAwayReason goAwayReasonFromCode(uint32_t error_code) noexcept;
std::string_view goAwayReasonName(GoAwayReason r) noexcept;

// Floods (each ends the connection with GOAWAY ENHANCE_YOUR_CALM) and per-stream limits.
enum class FloodKind : uint8_t {
  kRapidReset,
  kPing,
  kSettings,
  kEmptyData,
  kControlFrames,
  kContinuation,
  kHpackBomb,
  kOutboundQueue,
  kCount,
};
std::string_view floodKindName(FloodKind k) noexcept;

enum class LimitKind : uint8_t {
  kHeaderListTooLarge,  // stream answered 431 (server) or reset (client)
  kRefusedStream,       // past max_concurrent_streams
  kCount,
};
std::string_view limitKindName(LimitKind k) noexcept;

struct Http2Stats {
  // Registers (or finds again) every series: remora_http2_streams_active,
  // remora_http2_rx_reset_total, remora_http2_goaway_sent_total{reason},
  // remora_http2_flood_total{kind}, remora_http2_limit_total{kind}.
  static Http2Stats registerIn(common::StatsStore& store);

  common::Gauge streams_active;
  common::Counter rx_reset;
  std::array<common::Counter, static_cast<size_t>(GoAwayReason::kCount)> goaway_sent;
  std::array<common::Counter, static_cast<size_t>(FloodKind::kCount)> flood;
  std::array<common::Counter, static_cast<size_t>(LimitKind::kCount)> limit;
};

}  // namespace remora::http2
