#pragma once
// FilterChain: runs one stream's filters in order (http_filter.h is the contract), remembering
// where a kStop on a headers hook left off so that StreamCtx::resume() continues with the next
// filter, and which optional hooks any filter asked for so that a stream whose filters want no
// body hooks never walks the chain per body chunk.

#include <memory>
#include <string>
#include <vector>

#include "filters/api/http_filter.h"

namespace remora::filters {

class FilterChain {
 public:
  // Creates the stream's filters from `factories` (empty: a chain that always continues) and
  // collects their hooks(). The factories must outlive the filters (a snapshot's do: its
  // streams pin it), since a filter may keep a reference to its factory's config.
  void start(const FilterFactories& factories);
  // Whether some filter asked for this optional hook: the caller skips the run* call when not.
  bool wants(Hook hook) const noexcept { return (hooks_ & hook) != 0; }

  // Each run* returns true when every filter continued (the event goes on), false when one
  // stopped or the stream ended (finish() ran) meanwhile.
  //
  // onRequestHeaders from the current position: from the first filter, or after a resume()
  // from the one after the filter that stopped.
  bool runRequestHeaders(http::RequestHead& head, StreamCtx& ctx);
  // On the filters that asked for the hook. `data` is replaced by what the filters passed on
  // (valid until the next call on this side).
  bool runRequestData(std::string_view& data, bool end_stream, StreamCtx& ctx);
  bool runRequestTrailers(common::HeaderMap& trailers, StreamCtx& ctx);
  // onResponseHeaders, resumable like the request's.
  bool runResponseHeaders(http::ResponseHead& head, bool end_stream, StreamCtx& ctx);
  bool runResponseData(std::string_view& data, bool end_stream, StreamCtx& ctx);
  bool runResponseTrailers(common::HeaderMap& trailers, StreamCtx& ctx);

  // The names the request API had before body hooks (kept for callers and tests).
  bool runRequest(http::RequestHead& head, StreamCtx& ctx) { return runRequestHeaders(head, ctx); }
  void runResponse(http::ResponseHead& head, StreamCtx& ctx) {
    runResponseHeaders(head, false, ctx);
  }

  // onDone on every filter. The filters themselves are destroyed by the next start() or with
  // the chain, never here: finish() may run inside a filter's own callback. Idempotent.
  void finish(const StreamInfo& info);
  bool empty() const noexcept { return filters_.empty(); }
  bool finished() const noexcept { return finished_; }

 private:
  struct Entry {
    HttpFilter* filter;  // shared or owned
    HookMask hooks;
  };
  std::vector<Entry> filters_;                      // in order
  std::vector<std::unique_ptr<HttpFilter>> owned_;  // the per-stream ones
  std::string request_storage_;                     // a replaced request body piece
  std::string response_storage_;                    // a replaced response body piece
  size_t next_request_ = 0;
  size_t next_response_ = 0;
  HookMask hooks_ = 0;
  bool finished_ = true;
};

}  // namespace remora::filters
