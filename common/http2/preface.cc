#include "common/http2/preface.h"

#include <algorithm>

namespace remora::http2 {

PrefaceSniffer::Verdict PrefaceSniffer::feed(std::string_view data) {
  const size_t had = held_.size();  // (a prefix of the preface)
  const size_t n = std::min(data.size(), kClientPreface.size() - had);
  const bool prefix = kClientPreface.substr(had, n) == data.substr(0, n);
  if (prefix && had + n < kClientPreface.size()) {
    held_.append(data);
    return Verdict::kUndecided;
  }
  return prefix ? Verdict::kHttp2 : Verdict::kOther;
}

}  // namespace remora::http2
