#include "common/http2/headers.h"

#include <charconv>
#include <cstring>

#include "common/http1_parser.h"

namespace remora::http2 {

namespace {

// The one connection-specific field common::classifyHeader does not know.
constexpr std::string_view kHttp2Settings = "http2-settings";

// `wk`: common::classifyHeader(name).
bool connectionSpecific(common::Wk wk, std::string_view name) noexcept {
  switch (wk) {
    case common::Wk::kConnection:
    case common::Wk::kKeepAlive:
    case common::Wk::kProxyConnection:
    case common::Wk::kTransferEncoding:
    case common::Wk::kUpgrade:
    case common::Wk::kTe:
      return true;
    default:
      return name.size() == kHttp2Settings.size() && common::equalsIgnoreCase(name, kHttp2Settings);
  }
}

// Fields whose value is new on every request: indexed, each would take a place in the peer's
// HPACK dynamic table, push out fields that do repeat (user-agent, accept...) and cost the
// encoder a search through the entries of the same name. Sent as literals never indexed
// (RFC 7541 6.2.3), which is also what they are: per-request identifiers.
uint8_t indexingFor(common::Wk wk) noexcept {
  return wk == common::Wk::kXRequestId || wk == common::Wk::kTraceparent ? NGHTTP2_NV_FLAG_NO_INDEX
                                                                         : NGHTTP2_NV_FLAG_NONE;
}

void addEndToEnd(const common::HeaderMap& headers, NvList& out) {
  headers.forEach([&](std::string_view n, std::string_view v) {
    if (n.empty() || n[0] == ':') {
      return;
    }
    common::Wk wk = common::classifyHeader(n);
    if (wk == common::Wk::kHost || connectionSpecific(wk, n)) {
      return;
    }
    out.add(n, v, indexingFor(wk));
  });
}

}  // namespace

NvList& NvList::reused() noexcept {
  thread_local NvList list;
  list.clear();
  return list;
}

void NvList::clear() noexcept {
  storage_.clear();
  spans_.clear();
}

void NvList::add(std::string_view name, std::string_view value, uint8_t flags) {
  size_t at = storage_.size();
  storage_.resize(at + name.size() + value.size());
  char* p = storage_.data() + at;
  // Names go in as they are: nghttp2 lowercases every name it copies at submit (no
  // NGHTTP2_NV_FLAG_NO_COPY_NAME here), so lowering them here too would do it twice.
  if (!name.empty()) {
    std::memcpy(p, name.data(), name.size());
  }
  if (!value.empty()) {
    std::memcpy(p + name.size(), value.data(), value.size());
  }
  spans_.push_back(Span{at, name.size(), at + name.size(), value.size(), flags});
}

const nghttp2_nv* NvList::data() noexcept {
  nv_.resize(spans_.size());
  auto* base = reinterpret_cast<uint8_t*>(storage_.data());
  for (size_t i = 0; i < spans_.size(); ++i) {
    const Span& s = spans_[i];
    nv_[i] = nghttp2_nv{base + s.name_off, base + s.value_off, s.name_len, s.value_len, s.flags};
  }
  return nv_.data();
}

bool isConnectionSpecific(std::string_view name) noexcept {
  return connectionSpecific(common::classifyHeader(name), name);
}

void encodeRequestHead(const http::RequestHead& head, NvList& out) {
  out.add(":method", head.method);
  std::string_view authority = head.headers.get(common::Wk::kHost);
  if (head.method == "CONNECT") {
    out.add(":authority", authority);
  } else {
    out.add(":scheme", head.scheme.empty() ? std::string_view("http") : head.scheme);
    out.add(":path", head.path.empty() ? std::string_view("/") : head.path);
    if (head.headers.has(common::Wk::kHost)) {
      out.add(":authority", authority);
    }
  }
  addEndToEnd(head.headers, out);
  if (head.te_trailers) {
    out.add("te", "trailers");
  }
}

void encodeResponseHead(const http::ResponseHead& head, NvList& out) {
  char status[4] = {static_cast<char>('0' + head.status / 100 % 10),
                    static_cast<char>('0' + head.status / 10 % 10),
                    static_cast<char>('0' + head.status % 10), 0};
  out.add(":status", std::string_view(status, 3));
  addEndToEnd(head.headers, out);
}

void encodeTrailers(const common::HeaderMap& trailers, NvList& out) {
  trailers.forEach([&](std::string_view n, std::string_view v) {
    if (!n.empty() && n[0] != ':' && !common::isForbiddenTrailer(n)) {
      out.add(n, v);
    }
  });
}

void HeadDecoder::addRegular(common::HeaderMap& headers, int64_t* content_length,
                             std::string_view name, std::string_view value) {
  if (name == "cookie") {
    if (has_cookie_) {
      cookie_.append("; ");
    }
    cookie_.append(value);
    has_cookie_ = true;
    return;
  }
  if (name == "host" && authority_) {
    return;  // RFC 9113 8.3.1: :authority wins
  }
  if (name == "content-length" && content_length != nullptr) {
    int64_t n = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), n);
    if (r.ec == std::errc() && r.ptr == value.data() + value.size()) {
      *content_length = n;
    }
  }
  headers.add(name, value);
}

void HeadDecoder::addRequestField(http::RequestHead& head, std::string_view name,
                                  std::string_view value) {
  head.protocol = http::Protocol::kHttp2;
  if (!name.empty() && name[0] == ':') {
    if (name == ":method") {
      head.method.assign(value);
    } else if (name == ":scheme") {
      head.scheme.assign(value);
    } else if (name == ":path") {
      head.path.assign(value);
    } else if (name == ":authority") {
      authority_ = true;
      head.headers.set("host", value);
    }
    return;
  }
  if (name == "te") {
    head.te_trailers = true;  // nghttp2 lets only `te: trailers` through
    return;
  }
  addRegular(head.headers, &head.content_length, name, value);
}

bool HeadDecoder::addResponseField(http::ResponseHead& head, std::string_view name,
                                   std::string_view value) {
  head.protocol = http::Protocol::kHttp2;
  if (name == ":status") {
    unsigned status = 0;
    auto r = std::from_chars(value.data(), value.data() + value.size(), status);
    if (value.size() != 3 || r.ec != std::errc() || r.ptr != value.data() + 3) {
      return false;
    }
    head.status = static_cast<uint16_t>(status);
    return true;
  }
  if (!name.empty() && name[0] == ':') {
    return true;
  }
  addRegular(head.headers, &head.content_length, name, value);
  return true;
}

void HeadDecoder::finish(common::HeaderMap& headers) {
  if (has_cookie_) {
    headers.add("cookie", cookie_);
  }
  cookie_.clear();
  has_cookie_ = false;
  authority_ = false;
}

}  // namespace remora::http2
