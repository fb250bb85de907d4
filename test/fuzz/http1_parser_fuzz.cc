// libFuzzer target: the HTTP/1 request and response parsers on arbitrary bytes, fed whole and
// split at a fuzzer-chosen offset; the events must match and nothing may crash or leak.
// Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/http1_parser.h"

namespace {

using remora::common::HeadAction;
using remora::common::Http1Parser;
using remora::common::MessageHead;

class Recorder final : public Http1Parser::Callbacks {
 public:
  HeadAction onHeaders(MessageHead& h) noexcept override {
    events += h.method + h.url + std::to_string(h.status) + std::to_string(h.headers.size());
    h.headers.forEach([&](std::string_view n, std::string_view v) {
      events.append(n);
      events.append(v);
    });
    return HeadAction::kContinue;
  }
  void onBody(std::string_view d) noexcept override { events.append(d); }
  bool onMessageComplete() noexcept override {
    parser->trailers().forEach([&](std::string_view n, std::string_view v) {
      events.append(n);
      events.append(v);
    });
    events += "|";
    return false;
  }
  std::string events;
  const Http1Parser* parser = nullptr;
};

std::string run(Http1Parser::Kind kind, std::string_view a, std::string_view b, bool* error) {
  Recorder rec;
  Http1Parser p(kind, rec);
  rec.parser = &p;
  auto r = p.feed(a);
  if (r.status == Http1Parser::Status::kOk) {
    r = p.feed(b);
  }
  *error = r.status == Http1Parser::Status::kError;
  if (*error) {
    // What an answer would name (a 501 names the method) must not depend on the split.
    return std::to_string(static_cast<int>(p.error())) + p.head().method + p.head().url;
  }
  if (r.status != Http1Parser::Status::kOk) {
    // Stopped (error, upgrade): compare only what was delivered before.
    return rec.events + "#" + std::to_string(static_cast<int>(r.status));
  }
  return rec.events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  auto kind = (data[0] & 1) ? Http1Parser::Kind::kResponse : Http1Parser::Kind::kRequest;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t cut = in.empty() ? 0 : (data[0] >> 1) % (in.size() + 1);
  bool whole_error = false;
  bool split_error = false;
  std::string whole = run(kind, in, {}, &whole_error);
  std::string split = run(kind, in.substr(0, cut), in.substr(cut), &split_error);
  if (whole_error != split_error) {
    __builtin_trap();  // the verdict must not depend on where the bytes were split
  }
  // (A header-size verdict may come before or after llhttp's own when a field is split, so
  // only a 501's verdict and what it names are compared.)
  bool unknown_method = whole.substr(0, 1) == "3" || split.substr(0, 1) == "3";  // kUnknownMethod
  if ((!whole_error || unknown_method) && whole != split) {
    __builtin_trap();
  }
  return 0;
}
