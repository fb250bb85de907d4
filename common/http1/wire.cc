#include "common/http1/wire.h"

#include <charconv>

#include "common/http1_parser.h"

namespace remora::http1 {

using common::Wk;

bool stripHopByHop(common::HeaderMap& h, bool keep_upgrade) {
  if (h.has(Wk::kConnection)) {
    // (remove() only marks entries: the value being read stays in place.)
    for (const common::HeaderMap::Entry& e : h.entries()) {
      if (e.removed || e.wk != Wk::kConnection) {
        continue;
      }
      common::forEachListElement(h.valueOf(e), [&](std::string_view tok) {
        if (!common::equalsIgnoreCase(tok, "close") &&
            !common::equalsIgnoreCase(tok, "keep-alive") &&
            !common::equalsIgnoreCase(tok, "upgrade") && common::classifyHeader(tok) == Wk::kNone) {
          h.remove(tok);
        }
      });
    }
    h.remove(Wk::kConnection);
  }
  bool te_trailers = false;
  if (h.has(Wk::kTe)) {
    common::forEachListElement(h.get(Wk::kTe), [&](std::string_view tok) {
      te_trailers = te_trailers || common::equalsIgnoreCase(tok, "trailers");
    });
    h.remove(Wk::kTe);
  }
  h.remove(Wk::kKeepAlive);
  h.remove(Wk::kProxyConnection);
  h.remove(Wk::kTrailer);
  h.remove(Wk::kTransferEncoding);
  if (!keep_upgrade) {
    h.remove(Wk::kUpgrade);
  }
  return te_trailers;
}

void appendRequestStart(const http::RequestHead& head, std::string& out) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.path);
  out.append(" HTTP/1.1\r\n");
  head.headers.appendWire(out);
}

void appendResponseStart(const http::ResponseHead& head, std::string& out) {
  out.append("HTTP/1.1 ");
  char num[8];
  auto r = std::to_chars(num, num + sizeof(num), head.status);
  out.append(num, r.ptr);
  out.push_back(' ');
  out.append(head.reason.empty() ? common::reasonPhrase(head.status)
                                 : std::string_view(head.reason));
  out.append("\r\n");
  head.headers.appendWire(out);
}

void appendChunkHeader(std::string& out, size_t n) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), n, 16);
  out.append(buf, r.ptr);
  out.append("\r\n");
}

void tellWatermark(http::StreamCallbacks* stream, bool above) noexcept {
  if (stream == nullptr) {
    return;
  }
  if (above) {
    stream->onAboveWriteBufferHighWatermark();
  } else {
    stream->onBelowWriteBufferLowWatermark();
  }
}

}  // namespace remora::http1
