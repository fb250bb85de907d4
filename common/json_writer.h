#pragma once
// JsonWriter: builds compact JSON text (admin API, ready files). Commas and escaping are handled;
// the caller keeps begin/end balanced. The output is always valid UTF-8, whatever bytes the
// strings hold (they often come from peers: Host, x-request-id, paths): see appendJsonString.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remora::common {

class JsonWriter {
 public:
  void beginObject();
  void endObject();
  void beginArray();
  void endArray();
  void key(std::string_view k);
  void value(std::string_view v);
  void value(const char* v) { value(std::string_view(v)); }
  void value(int64_t v);
  void value(uint64_t v) { value(static_cast<int64_t>(v)); }
  void value(int v) { value(static_cast<int64_t>(v)); }
  void value(double v);
  void value(bool v);
  void null();
  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  std::string take() { return std::move(out_); }
  const std::string& str() const { return out_; }

 private:
  void sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// Appends `s` to `out` as a JSON string, quotes included: `"` and `\` escaped, control bytes as
// \n, \r, \t or \u00XX, and every ill-formed UTF-8 subpart (stray or truncated sequences,
// overlong forms, surrogates, code points above U+10FFFF) replaced by U+FFFD as WHATWG decoders
// do, so a strict parser always accepts the text.
void appendJsonString(std::string& out, std::string_view s);

// `"..."` with JSON escaping (appendJsonString into a new string).
std::string jsonQuote(std::string_view s);

}  // namespace remora::common
