#pragma once
// FilterChain: runs one stream's filters in order, remembering where a kStop left off so that
// StreamCtx::resume() continues with the next filter.

#include <memory>
#include <vector>

#include "filters/api/http_filter.h"

namespace remora::filters {

class FilterChain {
 public:
  // Creates the stream's filters from `factories` (empty: a chain that always continues).
  void start(const FilterFactories& factories);
  // Runs onRequestHeaders from the current position: from the first filter, or after a
  // resume() from the one after the filter that stopped. True: every filter continued.
  bool runRequest(http::RequestHead& head, StreamCtx& ctx);
  void runResponse(http::ResponseHead& head, StreamCtx& ctx);
  // onDone on every filter. The filters themselves are destroyed by the next start() or with
  // the chain, never here: finish() may run inside a filter's own callback. Idempotent.
  void finish(const StreamInfo& info);
  bool empty() const noexcept { return filters_.empty(); }

 private:
  std::vector<HttpFilter*> filters_;                // in order: shared or owned
  std::vector<std::unique_ptr<HttpFilter>> owned_;  // the per-stream ones
  size_t next_ = 0;
  bool finished_ = true;
};

}  // namespace remora::filters
