#pragma once
// A blocking client for the Kubernetes API server over libcurl (HTTPS with the cluster's CA,
// bearer tokens or client certificates, chunked watch streams; HTTP/2 when the server offers
// it). One client per thread: calls block the calling thread, never the control plane's loop.
//
//   KubeClient c(config);
//   auto r = c.call("GET", "/api/v1/namespaces/shop/services");
//   if (r.isOk() && r.value().status == 200) { ... r.value().body ... }
//
// A watch is a stream of JSON lines: stream() hands each complete line to a callback as it
// arrives and returns when the server ends the stream, the callback says stop, stop() is
// called from another thread, or the connection fails.

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "control/kube_config.h"

namespace remora::control {

class KubeClient {
 public:
  struct Response {
    long status = 0;   // HTTP status
    std::string body;  // the whole body (call) or, for stream(), the body of a non-200 answer
  };
  struct Limits {
    long connect_timeout_ms = 5000;
    long call_timeout_ms = 15000;      // a whole call()
    size_t max_body_bytes = 64 << 20;  // call(): a list page; past it the call fails
    size_t max_line_bytes = 16 << 20;  // stream(): one watch event (one object)
  };

  explicit KubeClient(KubeConfig config) : KubeClient(std::move(config), Limits()) {}
  KubeClient(KubeConfig config, Limits limits);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request. `path` starts with "/" (query included). Errors (kUnavailable, "METHOD PATH:
  // what curl said") only for transport failures: any HTTP status is a Response.
  common::Result<Response> call(std::string_view method, const std::string& path,
                                std::string_view body = {},
                                std::string_view content_type = "application/json");

  // GET `path` as a stream: `on_line` gets every complete line of a 200 answer (without the
  // newline) and returns false to stop. Returns the Response (body only when not 200) when the
  // stream ends or is stopped; kUnavailable on a transport failure, a line over
  // max_line_bytes, or no byte at all for `idle_timeout_ms` (a dead connection: the server
  // sends bookmarks and ends watches well before that).
  common::Result<Response> stream(const std::string& path,
                                  const std::function<bool(std::string_view line)>& on_line,
                                  long idle_timeout_ms);

  // Makes a stream() in progress, and every later one, return at once (shutdown). Any thread.
  void stop();

  const KubeConfig& config() const noexcept { return config_; }

 private:
  // Applies the connection, TLS and auth options to `easy`; `headers` receives the header list
  // to free after the transfer.
  common::Status prepare(CURL* easy, const std::string& path, curl_slist** headers,
                         std::string_view content_type);
  static size_t onBody(char* data, size_t size, size_t n, void* self);
  static size_t onStream(char* data, size_t size, size_t n, void* self);

  KubeConfig config_;
  Limits limits_;
  CURL* easy_ = nullptr;    // reused by call(): keeps the connection alive
  CURLM* multi_ = nullptr;  // drives stream() so that wake() can interrupt its wait
  std::atomic<bool> stopping_{false};
  // State of the transfer in progress.
  std::string buffer_;
  bool too_large_ = false;
  bool stopped_ = false;
  const std::function<bool(std::string_view)>* on_line_ = nullptr;
  CURL* stream_easy_ = nullptr;
};

}  // namespace remora::control
