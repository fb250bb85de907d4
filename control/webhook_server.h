#pragma once
// WebhookServer: the HTTPS endpoint of the admission webhook (docs/control-plane.md "Admission
// webhook"), on the control plane's loop thread. It owns the transport only: TLS with the
// certificate it is given, POST /inject with a JSON body handed to a WebhookHandler, whose
// AdmissionReview answer it sends back; GET /healthz; counters in the control plane's
// StatsStore. What a review answers is the handler's business.
//
// Routes: POST /inject (Content-Type application/json, body at most max_body_bytes: more is
// answered 413 unread), other methods on /inject 405, GET /healthz 200 "ok", anything else 404.
//
// Counters: remora_webhook_requests_total{result} for every request but /healthz: the handler's
// result label, or one of too_large, bad_request, timeout, not_found, method_not_allowed,
// unsupported_media_type, no_answer (the handler dropped the request: 500);
// remora_webhook_connections_refused_total{reason}: handshake_failed, handshake_timeout,
// connection_limit; remora_webhook_review_duration_ms: from the request to the handler's answer.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/socket_address.h"
#include "common/stats.h"
#include "common/status.h"
#include "control/webhook_certs.h"

namespace remora::control {

struct WebhookCounters;

// The largest AdmissionReview body read. A review carries one object (twice for an UPDATE: the
// new and the old); the API server's own request limit is 3 MiB, so 4 MiB holds any real one.
inline constexpr size_t kWebhookMaxBodyBytes = 4 * 1024 * 1024;

// Everything --webhook* sets (docs/control-plane.md "Admission webhook").
struct WebhookOptions {
  std::string address;    // --webhook ADDR; empty: no webhook
  std::string cert_file;  // --webhook-cert / --webhook-key: a given certificate ...
  std::string key_file;
  std::string ca_file;  // --webhook-ca: the bundle clients trust (optional with a given one)
  // ... otherwise one is generated for defaultWebhookSans() plus these (--webhook-san).
  std::vector<std::string> extra_sans;
  // --webhook-config: the MutatingWebhookConfiguration whose caBundle gets a generated CA.
  std::string config_name = "remora-sidecar-injector";
  std::string ca_out_file;  // --webhook-ca-out: the CA bundle is written here at start
  uint64_t handshake_timeout_ms = 10 * 1000;  // --webhook-handshake-timeout
  uint64_t request_timeout_ms = 10 * 1000;    // the API server's own default webhook timeout
  // Longer than the API server's idle timeout for webhook connections (90 s), so that the
  // client, not the server, closes an idle connection: a request sent on a connection the
  // server is just closing would fail, and with failurePolicy Ignore a pod would go uninjected.
  uint64_t idle_timeout_ms = 120 * 1000;
  size_t max_connections = 256;
  size_t max_body_bytes = kWebhookMaxBodyBytes;

  bool enabled() const noexcept { return !address.empty(); }
};

// The answer to one AdmissionReview.
struct WebhookReply {
  int status = 200;  // outside 200..599 it is sent as 500
  std::string body;  // sent with Content-Type application/json
  // Counted as remora_webhook_requests_total{result=...}: a short word of [a-z_] (at most 32
  // characters; other labels, and new labels past 32 distinct ones, count as "other").
  std::string result = "allowed";
};

// Answers one review: call once, on the loop thread (later calls do nothing, and so does a call
// once the connection is gone). Dropping every copy unanswered answers 500 (result no_answer).
using WebhookRespond = std::function<void(WebhookReply reply)>;
// Handles POST /inject: `body` is the request body (Content-Type application/json, at most
// max_body_bytes). Called on the loop thread; it may answer before returning (a pure function:
// see syncWebhookHandler) or keep `respond` and answer later on the loop thread. Must not throw.
using WebhookHandler = std::function<void(std::string body, WebhookRespond respond)>;

// A WebhookHandler from a synchronous review function.
WebhookHandler syncWebhookHandler(std::function<WebhookReply(std::string_view body)> review);

// The default review, used until the control plane is given the mutation: every well-formed
// AdmissionReview (admission.k8s.io/v1 or v1beta1, with request.uid) is allowed unchanged
// (allowed: true, no patch), as failurePolicy Ignore would admit it anyway; result "allowed".
// A body that is not such a review gets 400 with {"error": "..."}; result "bad_review".
WebhookReply admitUnchanged(std::string_view body);

class WebhookServer {
 public:
  // `stats` must outlive the server and every WebhookRespond it handed out.
  WebhookServer(common::EventLoop& loop, common::StatsStore& stats, const WebhookOptions& options);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Replaces the handler (null: admitUnchanged). Loop thread, or before listen().
  void setHandler(WebhookHandler handler);
  // Serves HTTPS with `cert` on options.address. Errors: a certificate TLS refuses, a bad or
  // busy address.
  common::Status listen(const WebhookCertificate& cert);
  // Stops listening and closes every connection. Idempotent.
  void close() noexcept;
  const common::SocketAddress& boundAddress() const noexcept;

 private:
  void handle(common::HttpRequest& request, common::Responder responder);

  common::EventLoop& loop_;
  WebhookOptions options_;
  WebhookHandler handler_;
  std::shared_ptr<WebhookCounters> counters_;
  std::unique_ptr<common::HttpServer> http_;
};

}  // namespace remora::control
