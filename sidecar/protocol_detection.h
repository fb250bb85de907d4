#pragma once
// Protocol detection on DETECT listeners: do a connection's first bytes begin an HTTP/1 request?
//
// HTTP/1 is decided for anything that is, or may still become, a request line (RFC 9112 §3):
// optional leading line breaks (CR and LF bytes: RFC 9112 §2.2 says a server should ignore
// empty lines before a request line, and llhttp skips them), then a method that is any token
// (RFC 9110 §5.6.2 tchars: PROPFIND, PURGE, FOO... not only the methods the proxy knows), then
// SP. Because the app behind the proxy may parse leniently as RFC 9112 §3 allows (Tomcat takes
// HTAB for SP; Python's http.server and Netty skip leading blanks), HTAB counts as SP and
// leading SP/HTAB as leading line breaks: such bytes reach the HTTP connection (which answers
// 400) instead of the app. (VT and FF, which the RFC also allows, are left out: "0\x0c" begins
// an LDAP bind.) Opaque TCP is decided only for
//  - a client that sends nothing within the detection timeout (server-speaks-first protocols);
//  - bytes that cannot begin a request line: a byte that is not a tchar before the SP (TLS's
//    0x16, "PING\r\n", binary protocols), a SP with no method before it.
// The exact HTTP/2 prior-knowledge preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") is HTTP too
// (reason kHttp2Preface): the HTTP connection speaks h2c. Any other "PRI " request line is
// HTTP/1.
// Bytes that may still become a request line are waited for, bounded twice: by the detection
// timeout (then HTTP: the HTTP connection's header timeout bounds the rest of the head) and by
// kDetectMaxBytes (then HTTP as well). Both bounds err towards HTTP on purpose: handing HTTP to
// the app as bytes skips every policy for that request and every request pipelined after it,
// which is worse than a 400 for an exotic protocol whose first word is followed by a space
// (memcached's text protocol, "get k": its port belongs in opaque_ports).
//
// Pure functions: the same bytes give the same decision however they were split into reads
// (a decision on a prefix never differs from the decision on the whole).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace remora::sidecar {

// kMaybe: the bytes so far may still become a request line; wait for more.
enum class Detect : uint8_t { kHttp, kOpaque, kMaybe };

// Why a connection was decided one way: the `reason` label of
// remora_protocol_detect_total{listener,protocol,reason} (names: detectReasonName).
enum class DetectReason : uint8_t {
  kRequestLine,       // http: [line breaks] token SP (or HTAB)
  kPartialAtTimeout,  // http: the timeout fired after bytes that may still be a request line
  kSizeBound,         // http: kDetectMaxBytes bytes, still only line breaks and tchars
  kSilent,            // tcp: no byte within the detection timeout (server-speaks-first)
  kNotRequestLine,    // tcp: a byte that cannot be there in a request line
  kHttp2Preface,      // http2: the HTTP/2 connection preface (h2c with prior knowledge)
};
inline constexpr size_t kDetectReasonCount = 6;

struct Detection {
  Detect decision = Detect::kMaybe;
  DetectReason reason = DetectReason::kRequestLine;  // meaningful unless decision is kMaybe
};

// Only this many first bytes are looked at; with no decision within them, HTTP (kSizeBound).
// Room for leading line breaks and the longest registered methods (UPDATEREDIRECTREF, 17).
inline constexpr size_t kDetectMaxBytes = 64;

// The decision on the bytes read so far (kMaybe: read more, unless the timeout fired).
Detection detectHttp(std::string_view first_bytes) noexcept;
// The decision when the detection timeout fires with `first_bytes` read so far: opaque when
// nothing came (kSilent), else what detectHttp says, HTTP (kPartialAtTimeout) instead of kMaybe.
Detection detectAtTimeout(std::string_view first_bytes) noexcept;

// "http", "http2" or "tcp": the `protocol` label.
std::string_view detectProtocolName(DetectReason reason) noexcept;
// "request-line", "partial-at-timeout", "size-bound", "silent", "not-request-line",
// "http2-preface": the `reason` label.
std::string_view detectReasonName(DetectReason reason) noexcept;

}  // namespace remora::sidecar
