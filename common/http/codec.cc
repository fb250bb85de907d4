#include "common/http/codec.h"

namespace remora::http {

std::string_view resetReasonName(StreamResetReason r) noexcept {
  switch (r) {
    case StreamResetReason::kConnectionFailure:
      return "connection-failure";
    case StreamResetReason::kConnectionTermination:
      return "connection-termination";
    case StreamResetReason::kRemoteReset:
      return "remote-reset";
    case StreamResetReason::kRemoteRefused:
      return "remote-refused";
    case StreamResetReason::kLocalReset:
      return "local-reset";
    case StreamResetReason::kProtocolError:
      return "protocol-error";
    case StreamResetReason::kOverflow:
      return "overflow";
  }
  return "unknown";
}

}  // namespace remora::http
