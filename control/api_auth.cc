#include "control/api_auth.h"

#include <fstream>

#include "common/header_map.h"
#include "control/registry.h"

namespace remora::control {

bool constantTimeEquals(std::string_view secret, std::string_view given) noexcept {
  if (secret.empty()) {
    return false;
  }
  // Every byte of `given` is compared (against the secret repeated), and the lengths too, with
  // no early exit.
  unsigned diff = secret.size() == given.size() ? 0u : 1u;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(secret[i % secret.size()]) ^
            static_cast<unsigned char>(given[i]);
  }
  return diff == 0;
}

WriteAccess authorizeWrite(std::string_view token, bool api_on_loopback,
                           std::string_view authorization) noexcept {
  if (token.empty()) {
    return api_on_loopback ? WriteAccess::kAllowed : WriteAccess::kNoTokenConfigured;
  }
  // RFC 6750 §2.1: "Bearer" (any case), one or more spaces, the token.
  if (authorization.size() < 7 ||
      !common::equalsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return WriteAccess::kMissingToken;
  }
  std::string_view given = authorization.substr(7);
  while (!given.empty() && given.front() == ' ') {
    given.remove_prefix(1);
  }
  while (!given.empty() && (given.back() == ' ' || given.back() == '\t')) {
    given.remove_suffix(1);
  }
  if (given.empty()) {
    return WriteAccess::kMissingToken;
  }
  return constantTimeEquals(token, given) ? WriteAccess::kAllowed : WriteAccess::kWrongToken;
}

std::string writeAccessReason(WriteAccess access, const std::string& api_address) {
  switch (access) {
    case WriteAccess::kAllowed:
      return "";
    case WriteAccess::kNoTokenConfigured:
      return "write endpoints are disabled: the API listens on " + api_address +
             " (beyond loopback) and remora-control was started without --api-token-file";
    case WriteAccess::kMissingToken:
      return "this endpoint needs 'Authorization: Bearer <token>' (the token of --api-token-file)";
    case WriteAccess::kWrongToken:
      return "the bearer token is not the one of --api-token-file";
  }
  return "refused";
}

bool isLoopbackAddress(const common::SocketAddress& address) {
  return classifyAddress(address.host()) == AddressScope::kLoopback;
}

common::Result<std::string> readTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return common::Status::invalid("--api-token-file " + path + ": cannot be read");
  }
  std::string line;
  std::getline(in, line);
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t b = 0;
  size_t e = line.size();
  while (b < e && space(line[b])) {
    ++b;
  }
  while (e > b && space(line[e - 1])) {
    --e;
  }
  std::string token = line.substr(b, e - b);
  if (token.size() < kMinTokenBytes) {
    return common::Status::invalid("--api-token-file " + path +
                                   ": the token (first line) must be at least " +
                                   std::to_string(kMinTokenBytes) + " characters");
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return common::Status::invalid("--api-token-file " + path +
                                     ": the token may only hold printable ASCII without spaces");
    }
  }
  return token;
}

}  // namespace remora::control
