#pragma once
// Who may call the control plane API's write endpoints (docs/control-plane.md "Limits on peers").
//
// Reads (GET) are open. Writes (the registration POSTs) are decided by authorizeWrite():
//  - with a token (--api-token-file), a write needs `Authorization: Bearer <token>`, wherever
//    the API listens;
//  - without a token, writes are open only while the API listens on a loopback address (then
//    only processes on the host can reach it); on any other address they are refused, since
//    anyone who can reach the port could otherwise point a Service's traffic anywhere.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/socket_address.h"
#include "common/status.h"

namespace remora::control {

enum class WriteAccess : uint8_t {
  kAllowed,
  kNoTokenConfigured,  // 403: the API listens beyond loopback and no token file was given
  kMissingToken,       // 401: no `Authorization: Bearer ...` header
  kWrongToken,         // 401: a bearer token that does not match
};

// `token`: the configured token, empty when none. `api_on_loopback`: the API's bound address is
// a loopback one. `authorization`: the request's Authorization header ("" when absent).
WriteAccess authorizeWrite(std::string_view token, bool api_on_loopback,
                           std::string_view authorization) noexcept;

// The reason given with a refusal (one line, no secret in it); "" for kAllowed.
std::string writeAccessReason(WriteAccess access, const std::string& api_address);

// True when `given` equals `secret`, in a time that depends only on the length of `given`
// (never on where the first difference is, nor on the secret's length).
bool constantTimeEquals(std::string_view secret, std::string_view given) noexcept;

// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
bool isLoopbackAddress(const common::SocketAddress& address);

// Reads a token file: the first line, surrounding whitespace removed. Errors (one line): the
// file cannot be read, is empty, or the token is shorter than kMinTokenBytes or holds bytes
// other than printable ASCII.
inline constexpr size_t kMinTokenBytes = 16;
common::Result<std::string> readTokenFile(const std::string& path);

}  // namespace remora::control
