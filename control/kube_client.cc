#include "control/kube_client.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

namespace remora::control {

using common::Result;
using common::Status;

namespace {

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string bearerToken(const KubeConfig& c) {
  if (c.token_file.empty()) {
    return c.token;
  }
  // Read each time: projected service account tokens are rotated by the kubelet.
  std::ifstream in(c.token_file);
  std::ostringstream s;
  s << in.rdbuf();
  std::string t = s.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) {
    t.pop_back();
  }
  return t.empty() ? c.token : t;
}

curl_blob blobOf(const std::string& pem) {
  curl_blob b;
  b.data = const_cast<char*>(pem.data());
  b.len = pem.size();
  b.flags = CURL_BLOB_COPY;
  return b;
}

}  // namespace

KubeClient::KubeClient(KubeConfig config, Limits limits)
    : config_(std::move(config)), limits_(limits) {
  globalInit();
  easy_ = curl_easy_init();
  multi_ = curl_multi_init();
}

KubeClient::~KubeClient() {
  if (stream_easy_ != nullptr) {
    curl_multi_remove_handle(multi_, stream_easy_);
    curl_easy_cleanup(stream_easy_);
  }
  curl_multi_cleanup(multi_);
  curl_easy_cleanup(easy_);
}

void KubeClient::stop() {
  stopping_ = true;
  curl_multi_wakeup(multi_);
}

Status KubeClient::prepare(CURL* easy, const std::string& path, curl_slist** headers,
                           std::string_view content_type) {
  if (easy == nullptr) {
    return Status::internal("curl: no handle");
  }
  std::string url = config_.server + path;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, limits_.connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // gzip where the server offers it
  if (!config_.ca_pem.empty()) {
    curl_blob ca = blobOf(config_.ca_pem);
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config_.client_cert_pem.empty()) {
    curl_blob cert = blobOf(config_.client_cert_pem);
    curl_blob key = blobOf(config_.client_key_pem);
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
  curl_slist* h = curl_slist_append(nullptr, "Accept: application/json");
  std::string token = bearerToken(config_);
  if (!token.empty()) {
    h = curl_slist_append(h, ("Authorization: Bearer " + token).c_str());
  }
  if (!content_type.empty()) {
    h = curl_slist_append(h, ("Content-Type: " + std::string(content_type)).c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
  *headers = h;
  return Status::ok();
}

size_t KubeClient::onBody(char* data, size_t size, size_t n, void* self) {
  auto* c = static_cast<KubeClient*>(self);
  size_t len = size * n;
  if (c->buffer_.size() + len > c->limits_.max_body_bytes) {
    c->too_large_ = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  c->buffer_.append(data, len);
  return len;
}

size_t KubeClient::onStream(char* data, size_t size, size_t n, void* self) {
  auto* c = static_cast<KubeClient*>(self);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(c->stream_easy_, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    // An error answer (a Status object): keep it whole, bounded.
    return onBody(data, size, n, self);
  }
  std::string_view in(data, len);
  while (!in.empty()) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) {
      if (c->buffer_.size() + in.size() > c->limits_.max_line_bytes) {
        c->too_large_ = true;
        return 0;
      }
      c->buffer_.append(in);
      break;
    }
    std::string_view line = in.substr(0, nl);
    bool go_on;
    if (c->buffer_.empty()) {
      go_on = (*c->on_line_)(line);
    } else {
      c->buffer_.append(line);
      go_on = (*c->on_line_)(c->buffer_);
      c->buffer_.clear();
    }
    in.remove_prefix(nl + 1);
    if (!go_on) {
      c->stopped_ = true;
      return 0;
    }
  }
  return len;
}

Result<KubeClient::Response> KubeClient::call(std::string_view method, const std::string& path,
                                              std::string_view body,
                                              std::string_view content_type) {
  curl_easy_reset(easy_);
  curl_slist* headers = nullptr;
  if (Status s = prepare(easy_, path, &headers, body.empty() ? "" : content_type); !s.isOk()) {
    return s;
  }
  std::string m(method);
  curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str());
  if (!body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, limits_.call_timeout_ms);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &KubeClient::onBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  buffer_.clear();
  too_large_ = false;
  CURLcode rc = curl_easy_perform(easy_);
  curl_slist_free_all(headers);
  if (too_large_) {
    return Status::unavailable(m + " " + path + ": answer over " +
                               std::to_string(limits_.max_body_bytes) + " bytes");
  }
  if (rc != CURLE_OK) {
    return Status::unavailable(m + " " + path + ": " + curl_easy_strerror(rc));
  }
  Response r;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(buffer_);
  buffer_.clear();
  return r;
}

Result<KubeClient::Response> KubeClient::stream(
    const std::string& path, const std::function<bool(std::string_view)>& on_line,
    long idle_timeout_ms) {
  if (stopping_) {
    return Status::unavailable("GET " + path + ": stopping");
  }
  stream_easy_ = curl_easy_init();
  curl_slist* headers = nullptr;
  if (Status s = prepare(stream_easy_, path, &headers, ""); !s.isOk()) {
    return s;
  }
  curl_easy_setopt(stream_easy_, CURLOPT_WRITEFUNCTION, &KubeClient::onStream);
  curl_easy_setopt(stream_easy_, CURLOPT_WRITEDATA, this);
  // A connection that carries nothing for this long is dead (watches see bookmarks or end).
  curl_easy_setopt(stream_easy_, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(stream_easy_, CURLOPT_LOW_SPEED_TIME, std::max(1L, idle_timeout_ms / 1000));
  buffer_.clear();
  too_large_ = false;
  stopped_ = false;
  on_line_ = &on_line;
  curl_multi_add_handle(multi_, stream_easy_);
  CURLcode result = CURLE_OK;
  bool done = false;
  while (!done && !stopping_) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi_, &running);
    if (mc != CURLM_OK) {
      result = CURLE_RECV_ERROR;
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        result = msg->data.result;
        done = true;
      }
    }
    if (!done) {
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }
  Response r;
  curl_easy_getinfo(stream_easy_, CURLINFO_RESPONSE_CODE, &r.status);
  curl_multi_remove_handle(multi_, stream_easy_);
  curl_easy_cleanup(stream_easy_);
  stream_easy_ = nullptr;
  on_line_ = nullptr;
  curl_slist_free_all(headers);
  if (stopping_) {
    return Status::unavailable("GET " + path + ": stopping");
  }
  if (too_large_) {
    return Status::unavailable("GET " + path + ": a line over " +
                               std::to_string(limits_.max_line_bytes) + " bytes");
  }
  if (result != CURLE_OK && !(stopped_ && result == CURLE_WRITE_ERROR)) {
    return Status::unavailable("GET " + path + ": " + curl_easy_strerror(result));
  }
  if (r.status != 200) {
    r.body = std::move(buffer_);
  }
  buffer_.clear();
  return r;
}

}  // namespace remora::control
