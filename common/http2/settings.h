#pragma once
// The limits of one HTTP/2 connection (server or client side). Defaults follow common practice
// (nghttp2, Envoy); every flood limit counts events per `flood_window_ms` of loop time and ends
// the connection with GOAWAY ENHANCE_YOUR_CALM when one is passed.

#include <cstddef>
#include <cstdint>

namespace remora::http2 {

struct Settings {
  // Advertised to the peer (SETTINGS_MAX_CONCURRENT_STREAMS). Server side: streams opened past
  // it are refused; client side: ignored (the peer's value limits us).
  uint32_t max_concurrent_streams = 100;
  // SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 per field (RFC 9113 6.5.2). A server answers
  // a larger request head with 431; a client resets the stream (kOverflow).
  uint32_t max_header_list_size = 60 * 1024;
  // A header block that decodes to more than this many times the limit is an HPACK bomb:
  // GOAWAY ENHANCE_YOUR_CALM.
  uint32_t hpack_bomb_factor = 4;
  // SETTINGS_INITIAL_WINDOW_SIZE (per stream) and the connection window we open at start.
  uint32_t initial_stream_window = 256 * 1024;
  uint32_t initial_connection_window = 1024 * 1024;
  // SETTINGS_MAX_FRAME_SIZE (16384..16777215): larger frames are FRAME_SIZE_ERROR.
  uint32_t max_frame_size = 16384;
  // Bytes a stream buffers from encodeData before its callbacks hear "above high watermark";
  // "below low watermark" when it drains to the low one.
  size_t stream_high_watermark = 256 * 1024;
  size_t stream_low_watermark = 64 * 1024;

  // Flood limits, each per flood_window_ms.
  uint64_t flood_window_ms = 1000;
  // Streams reset by the peer before they completed, plus streams we reset for the peer's
  // errors (rapid reset, CVE-2023-44487).
  uint32_t max_resets_per_window = 200;
  uint32_t max_pings_per_window = 100;
  uint32_t max_settings_per_window = 100;
  // DATA frames without payload that do not end their stream.
  uint32_t max_empty_data_per_window = 100;
  // PRIORITY, WINDOW_UPDATE and unknown frames (cost work, carry nothing).
  uint32_t max_control_frames_per_window = 1000;
  // WINDOW_UPDATE answers what we send: each HEADERS or DATA frame we sent in the window allows
  // this many more (like Envoy's max_inbound_window_update_frames_per_data_frame_sent).
  uint32_t window_updates_per_frame_sent = 4;
  // nghttp2's own limits: SETTINGS entries per frame, CONTINUATION frames per header block,
  // SETTINGS/PING acks we queued but could not send yet.
  size_t max_settings_entries = 32;
  size_t max_continuations = 8;
  size_t max_outbound_acks = 1000;
  // Bytes queued on the socket (TcpConnection::pendingBytes) past which a peer that does not
  // read is flooding us with frames that need an answer.
  size_t max_outbound_pending = 8 * 1024 * 1024;

  // Server drain: the final GOAWAY follows the graceful one when the PING sent with it comes
  // back, or after this long.
  uint64_t drain_timeout_ms = 1000;
};

}  // namespace remora::http2
