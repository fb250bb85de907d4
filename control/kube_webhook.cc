#include "control/kube_webhook.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/base64.h"
#include "control/kube_watch.h"

namespace remora::control {

namespace pb = google::protobuf;
using common::Result;
using common::Status;

namespace {

// The certificate in a Secret's data (base64 values); nullopt-like failure when incomplete.
Result<WebhookCertificate> fromSecret(const pb::Value& secret) {
  WebhookCertificate c;
  const pb::Value* data = jsonAt(secret, "data");
  if (data == nullptr || !data->has_struct_value()) {
    return Status::invalid("the Secret has no data");
  }
  const auto& f = data->struct_value().fields();
  for (auto [key, out] : {std::pair{"tls.crt", &c.chain_pem}, std::pair{"tls.key", &c.key_pem},
                          std::pair{"ca.crt", &c.ca_bundle_pem}}) {
    auto it = f.find(key);
    if (it == f.end() || !common::decodeBase64(it->second.string_value(), out) || out->empty()) {
      return Status::invalid(std::string("the Secret has no valid ") + key);
    }
  }
  c.generated = true;
  return c;
}

std::string secretBody(const std::string& ns, const std::string& name,
                       const WebhookCertificate& c) {
  pb::Value s;
  auto* f = s.mutable_struct_value()->mutable_fields();
  (*f)["apiVersion"].set_string_value("v1");
  (*f)["kind"].set_string_value("Secret");
  (*f)["type"].set_string_value("kubernetes.io/tls");
  auto* meta = (*f)["metadata"].mutable_struct_value()->mutable_fields();
  (*meta)["name"].set_string_value(name);
  (*meta)["namespace"].set_string_value(ns);
  (*(*meta)["labels"].mutable_struct_value()->mutable_fields())["app.kubernetes.io/part-of"]
      .set_string_value("remora");
  auto* data = (*f)["data"].mutable_struct_value()->mutable_fields();
  (*data)["tls.crt"].set_string_value(common::encodeBase64(c.chain_pem));
  (*data)["tls.key"].set_string_value(common::encodeBase64(c.key_pem));
  (*data)["ca.crt"].set_string_value(common::encodeBase64(c.ca_bundle_pem));
  return printJsonValue(s);
}

}  // namespace

Result<WebhookCertificate> sharedWebhookCertificate(KubeClient& client, const std::string& ns,
                                                    const std::string& name,
                                                    const std::vector<std::string>& sans) {
  const std::string path = "/api/v1/namespaces/" + ns + "/secrets";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = client.call("GET", path + "/" + name);
    if (!got.isOk()) {
      return Status::unavailable("webhook certificate Secret " + ns + "/" + name + ": " +
                                 got.status().message());
    }
    if (got.value().status == 200) {
      auto secret = parseJson(got.value().body);
      if (!secret.isOk()) {
        return secret.status();
      }
      auto cert = fromSecret(secret.value());
      if (!cert.isOk()) {
        return Status::invalid("Secret " + ns + "/" + name + ": " + cert.status().message() +
                               " (delete it to have a new certificate generated)");
      }
      return cert;
    }
    if (got.value().status != 404) {
      return Status::unavailable("GET Secret " + ns + "/" + name + ": HTTP " +
                                 std::to_string(got.value().status) + " " +
                                 got.value().body.substr(0, 200));
    }
    auto generated = generateWebhookCertificate(sans);
    if (!generated.isOk()) {
      return generated.status();
    }
    auto created = client.call("POST", path, secretBody(ns, name, generated.value()));
    if (!created.isOk()) {
      return Status::unavailable("create Secret " + ns + "/" + name + ": " +
                                 created.status().message());
    }
    if (created.value().status == 201) {
      spdlog::info("webhook: generated a certificate and stored it in Secret {}/{}", ns, name);
      return generated;
    }
    if (created.value().status != 409) {
      return Status::unavailable("create Secret " + ns + "/" + name + ": HTTP " +
                                 std::to_string(created.value().status) + " " +
                                 created.value().body.substr(0, 200));
    }
    // Another replica created it first: read theirs.
  }
  return Status::unavailable("Secret " + ns + "/" + name + ": created and gone again");
}

CaBundlePatcher::CaBundlePatcher(KubeConfig config, std::string config_name, std::string ca_pem,
                                 uint64_t interval_ms)
    : client_(std::move(config)),
      name_(std::move(config_name)),
      bundle_b64_(common::encodeBase64(ca_pem)),
      interval_ms_(interval_ms) {}

CaBundlePatcher::~CaBundlePatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void CaBundlePatcher::start() {
  thread_ = std::thread([this] { run(); });
}

bool CaBundlePatcher::syncOnce() {
  const std::string path =
      "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + name_;
  auto got = client_.call("GET", path);
  if (!got.isOk()) {
    spdlog::warn("webhook: {}: {}", name_, got.status().message());
    return false;
  }
  if (got.value().status == 404) {
    if (!missing_logged_) {
      spdlog::warn(
          "webhook: MutatingWebhookConfiguration {} does not exist (yet): pods are "
          "not sent for injection until it does",
          name_);
      missing_logged_ = true;
    }
    return true;
  }
  missing_logged_ = false;
  auto mwc = parseJson(got.value().body);
  if (got.value().status != 200 || !mwc.isOk()) {
    spdlog::warn("webhook: {}: HTTP {}", name_, got.value().status);
    return false;
  }
  // One JSON patch for every webhook whose bundle differs, guarded by the resourceVersion so
  // that an edit made meanwhile is never overwritten by a stale list.
  std::string ops = "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"" +
                    jsonString(mwc.value(), "metadata.resourceVersion") + "\"}";
  size_t changes = 0;
  const pb::Value* hooks = jsonAt(mwc.value(), "webhooks");
  if (hooks != nullptr && hooks->has_list_value()) {
    for (int i = 0; i < hooks->list_value().values_size(); ++i) {
      if (jsonString(hooks->list_value().values(i), "clientConfig.caBundle") != bundle_b64_) {
        ops += ",{\"op\":\"add\",\"path\":\"/webhooks/" + std::to_string(i) +
               "/clientConfig/caBundle\",\"value\":\"" + bundle_b64_ + "\"}";
        ++changes;
      }
    }
  }
  ops += "]";
  if (changes == 0) {
    return true;
  }
  auto patched = client_.call("PATCH", path, ops, "application/json-patch+json");
  if (!patched.isOk() || patched.value().status != 200) {
    spdlog::warn("webhook: patching the caBundle of {}: {}", name_,
                 patched.isOk() ? "HTTP " + std::to_string(patched.value().status) + " " +
                                      patched.value().body.substr(0, 200)
                                : patched.status().message());
    return false;
  }
  ++patches_;
  spdlog::info("webhook: set the CA bundle of {} ({} webhook(s))", name_, changes);
  return true;
}

void CaBundlePatcher::run() {
  while (true) {
    bool ok = syncOnce();
    std::unique_lock<std::mutex> lock(mutex_);
    // A failure (or a lost race on the resourceVersion) is tried again sooner.
    cv_.wait_for(lock, std::chrono::milliseconds(ok ? interval_ms_ : interval_ms_ / 5 + 100),
                 [this] { return stopping_; });
    if (stopping_) {
      return;
    }
  }
}

Result<std::map<std::string, std::string>> KubeNamespaceLabels::labels(const std::string& name) {
  auto got = client_.call("GET", "/api/v1/namespaces/" + name);
  if (!got.isOk()) {
    return got.status();
  }
  if (got.value().status == 404) {
    return Status::notFound("namespace " + name + " not found");
  }
  if (got.value().status != 200) {
    return Status::unavailable("GET namespace " + name + ": HTTP " +
                               std::to_string(got.value().status));
  }
  auto ns = parseJson(got.value().body);
  if (!ns.isOk()) {
    return ns.status();
  }
  std::map<std::string, std::string> out;
  if (const pb::Value* l = jsonAt(ns.value(), "metadata.labels");
      l != nullptr && l->has_struct_value()) {
    for (const auto& [k, v] : l->struct_value().fields()) {
      out[k] = v.string_value();
    }
  }
  return out;
}

}  // namespace remora::control
