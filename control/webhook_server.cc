#include "control/webhook_server.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_map>

#include "common/header_map.h"
#include "common/json_writer.h"
#include "common/tls_context.h"
#include "common/tls_session.h"

namespace remora::control {

using common::HttpServer;
using common::Status;

namespace {

constexpr size_t kMaxResultLabels = 48;
constexpr size_t kMaxResultLength = 32;
constexpr uint64_t kWarnIntervalMs = 10 * 1000;

// Transport results, registered up front so that /metrics shows them from the start.
constexpr const char* kTransportResults[] = {
    "allowed",   "bad_review", "too_large",          "bad_request",
    "timeout",   "not_found",  "method_not_allowed", "unsupported_media_type",
    "no_answer", "other"};

uint64_t steadyMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool validResultLabel(std::string_view label) noexcept {
  if (label.empty() || label.size() > kMaxResultLength) {
    return false;
  }
  for (char c : label) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) {
      return false;
    }
  }
  return true;
}

// "application/json", any case, with or without parameters ("; charset=utf-8").
bool isJsonContentType(std::string_view value) noexcept {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  return common::equalsIgnoreCase(value, "application/json");
}

std::string errorJson(std::string_view message) {
  common::JsonWriter w;
  w.beginObject();
  w.field("error", message);
  w.endObject();
  return w.take();
}

}  // namespace

// Counters and the rate-limited warning, shared with the WebhookRespond closures (which may
// outlive the server). Loop thread only.
struct WebhookCounters {
  explicit WebhookCounters(common::StatsStore& s) : stats(s) {
    for (const char* result : kTransportResults) {
      results.emplace(result, stats.counter("remora_webhook_requests_total", {{"result", result}}));
    }
    for (const char* reason : {"handshake_failed", "handshake_timeout", "connection_limit"}) {
      refusals.emplace(
          reason, stats.counter("remora_webhook_connections_refused_total", {{"reason", reason}}));
    }
    duration = stats.histogram("remora_webhook_review_duration_ms");
  }

  void count(std::string_view result) {
    std::string label(validResultLabel(result) ? result : "other");
    auto it = results.find(label);
    if (it == results.end()) {
      if (results.size() >= kMaxResultLabels) {
        it = results.find("other");
      } else {
        it =
            results
                .emplace(label, stats.counter("remora_webhook_requests_total", {{"result", label}}))
                .first;
      }
    }
    stats.shard(0).add(it->second);
  }

  void refused(const char* reason) { stats.shard(0).add(refusals.at(reason)); }

  common::StatsStore& stats;
  std::unordered_map<std::string, common::Counter> results;
  std::unordered_map<std::string, common::Counter> refusals;
  common::Histogram duration;
  uint64_t last_warning_ms = 0;
  uint64_t unwarned = 0;  // handshake failures since the last warning
};

namespace {

// One review in progress: answers 500 (counted no_answer) if the handler drops it.
struct Review {
  std::shared_ptr<WebhookCounters> counters;
  common::Responder responder;
  uint64_t start_us = 0;
  bool done = false;

  ~Review() {
    if (!done) {
      counters->count("no_answer");
      responder.respond(500, "the webhook handler dropped the review\n");
    }
  }
};

}  // namespace

WebhookHandler syncWebhookHandler(std::function<WebhookReply(std::string_view body)> review) {
  return [review = std::move(review)](std::string body, WebhookRespond respond) {
    respond(review(body));
  };
}

WebhookReply admitUnchanged(std::string_view body) {
  google::protobuf::Struct review;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &review, options);
  WebhookReply bad;
  bad.status = 400;
  bad.result = "bad_review";
  if (!parsed.ok()) {
    bad.body = errorJson("not a JSON object: " + parsed.message().as_string());
    return bad;
  }
  const auto& fields = review.fields();
  const auto version = fields.find("apiVersion");
  const auto kind = fields.find("kind");
  const auto request = fields.find("request");
  if (version == fields.end() || (version->second.string_value() != "admission.k8s.io/v1" &&
                                  version->second.string_value() != "admission.k8s.io/v1beta1")) {
    bad.body = errorJson("apiVersion must be admission.k8s.io/v1 or admission.k8s.io/v1beta1");
    return bad;
  }
  if (kind == fields.end() || kind->second.string_value() != "AdmissionReview") {
    bad.body = errorJson("kind must be AdmissionReview");
    return bad;
  }
  const google::protobuf::Value* uid = nullptr;
  if (request != fields.end() && request->second.has_struct_value()) {
    const auto& request_fields = request->second.struct_value().fields();
    const auto it = request_fields.find("uid");
    if (it != request_fields.end() && !it->second.string_value().empty()) {
      uid = &it->second;
    }
  }
  if (uid == nullptr) {
    bad.body = errorJson("request.uid is missing");
    return bad;
  }
  common::JsonWriter w;
  w.beginObject();
  w.field("apiVersion", version->second.string_value());
  w.field("kind", "AdmissionReview");
  w.key("response");
  w.beginObject();
  w.field("uid", uid->string_value());
  w.field("allowed", true);
  w.endObject();
  w.endObject();
  WebhookReply ok;
  ok.body = w.take();
  return ok;
}

WebhookServer::WebhookServer(common::EventLoop& loop, common::StatsStore& stats,
                             const WebhookOptions& options)
    : loop_(loop),
      options_(options),
      handler_(syncWebhookHandler(admitUnchanged)),
      counters_(std::make_shared<WebhookCounters>(stats)) {}

WebhookServer::~WebhookServer() {
  close();
}

void WebhookServer::setHandler(WebhookHandler handler) {
  handler_ = handler ? std::move(handler) : syncWebhookHandler(admitUnchanged);
}

Status WebhookServer::listen(const WebhookCertificate& cert) {
  auto tls = common::TlsContext::server(cert.chain_pem, cert.key_pem);
  if (!tls.isOk()) {
    return Status::invalid("webhook TLS: " + tls.status().message());
  }
  HttpServer::Options o;
  o.max_body_bytes = options_.max_body_bytes;
  o.request_timeout_ms = options_.request_timeout_ms;
  o.idle_timeout_ms = options_.idle_timeout_ms;
  o.max_connections = options_.max_connections;
  o.handshake_timeout_ms = options_.handshake_timeout_ms;
  o.secure = common::tlsServerChannels(tls.value());
  http_ = std::make_unique<HttpServer>(
      loop_, [this](common::HttpRequest& req, common::Responder r) { handle(req, std::move(r)); },
      o);
  http_->onRefused([c = counters_](int status) {
    switch (status) {
      case HttpServer::kRefusedConnectionLimit:
        c->refused("connection_limit");
        break;
      case HttpServer::kRefusedHandshakeFailed:
        c->refused("handshake_failed");
        break;
      case HttpServer::kRefusedHandshakeTimeout:
        c->refused("handshake_timeout");
        break;
      case 408:
        c->count("timeout");
        break;
      case 413:
        c->count("too_large");
        break;
      default:  // 400, 431, 501
        c->count("bad_request");
        break;
    }
  });
  // A client that cannot finish the handshake is most often an API server that does not trust
  // the certificate: say so, once per interval, with the reason TLS gave.
  http_->onHandshakeFailure([this](const common::SocketAddress& peer, const std::string& reason) {
    WebhookCounters& c = *counters_;
    const uint64_t now = loop_.nowMs();
    if (c.last_warning_ms != 0 && now - c.last_warning_ms < kWarnIntervalMs) {
      ++c.unwarned;
      return;
    }
    spdlog::warn("webhook: TLS handshake with {} failed: {}{}", peer.toString(), reason,
                 c.unwarned > 0 ? fmt::format(" ({} more since the last warning)", c.unwarned)
                                : std::string());
    c.last_warning_ms = now;
    c.unwarned = 0;
  });
  Status s = http_->listen(options_.address);
  if (!s.isOk()) {
    http_.reset();
    return s;
  }
  return Status::ok();
}

void WebhookServer::close() noexcept {
  if (http_) {
    http_->close();
  }
}

const common::SocketAddress& WebhookServer::boundAddress() const noexcept {
  static const common::SocketAddress kNone;
  return http_ ? http_->boundAddress() : kNone;
}

void WebhookServer::handle(common::HttpRequest& req, common::Responder r) {
  if (req.path == "/healthz") {
    if (req.method_id == HTTP_GET || req.method_id == HTTP_HEAD) {
      r.respond(200, "ok\n");
    } else {
      r.respond(405, "GET /healthz\n");
    }
    return;
  }
  if (req.path != "/inject") {
    counters_->count("not_found");
    r.respond(404, "the webhook serves POST /inject\n");
    return;
  }
  if (req.method_id != HTTP_POST) {
    counters_->count("method_not_allowed");
    common::HttpResponse answer(405, "POST /inject with an AdmissionReview\n");
    answer.headers.add("Allow", "POST");
    r.respond(std::move(answer));
    return;
  }
  if (!isJsonContentType(req.header("Content-Type"))) {
    counters_->count("unsupported_media_type");
    r.respond(415, "an AdmissionReview is sent as Content-Type: application/json\n");
    return;
  }
  auto review = std::make_shared<Review>();
  review->counters = counters_;
  review->responder = std::move(r);
  review->start_us = steadyMicros();
  handler_(std::move(req.body), [review](WebhookReply reply) {
    if (review->done) {
      return;
    }
    review->done = true;
    WebhookCounters& c = *review->counters;
    c.count(reply.result);
    c.stats.shard(0).recordMicros(c.duration, steadyMicros() - review->start_us);
    // A status that is no HTTP status is the handler's bug: the API server still gets a valid
    // answer (and, with failurePolicy Ignore, admits the pod).
    const int status = reply.status >= 200 && reply.status <= 599 ? reply.status : 500;
    review->responder.respond(common::HttpResponse::json(status, std::move(reply.body)));
  });
}

}  // namespace remora::control
