#include "control/control_plane.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/atomic_file.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "control/api_handlers.h"
#include "control/file_source.h"
#include "control/kube_config.h"
#include "control/kube_source.h"
#include "control/translator.h"

namespace remora::control {

using common::Status;

namespace {
constexpr uint64_t kExpiryCheckMs = 250;

uint64_t steadyMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options)
    : options_(std::move(options)),
      registry_(options_.registry_allow_loopback),
      debouncer_(options_.debounce_ms, options_.debounce_max_ms) {
  pushes_total_ = stats_.counter("remora_control_pushes_total");
  push_latency_ = stats_.histogram("remora_control_push_duration_ms");
  config_errors_ = stats_.gauge("remora_control_config_errors");
  services_ = stats_.gauge("remora_control_services");
  registered_ = stats_.gauge("remora_control_registered_endpoints");
  unsent_sets_ = stats_.gauge("remora_control_unsent_resource_sets");
  problem_log_ = std::make_unique<ProblemLog>(
      [](ProblemLog::Level level, const std::string& line) {
        switch (level) {
          case ProblemLog::Level::kError:
            spdlog::error("{}", line);
            break;
          case ProblemLog::Level::kWarn:
            spdlog::warn("{}", line);
            break;
          case ProblemLog::Level::kInfo:
            spdlog::info("{}", line);
            break;
        }
      },
      options_.problem_log_interval_ms);
}

ControlPlane::~ControlPlane() = default;

void ControlPlane::changed() {
  debouncer_.onChange(loop_.nowMs());
  armDebounce();
}

void ControlPlane::registryChanged() {
  registry_last_change_ = common::nowRfc3339Utc();
  changed();
}

void ControlPlane::armDebounce() {
  auto deadline = debouncer_.deadline();
  if (!deadline) {
    return;
  }
  uint64_t now = loop_.nowMs();
  debounce_timer_->start(*deadline > now ? *deadline - now : 0);
}

void ControlPlane::rebuild() {
  if (translating_) {
    return;  // install() re-arms the debouncer, which is still due
  }
  if (source_ && !source_->loaded()) {
    return;  // the source's first load ends with changed()
  }
  translating_ = true;
  const uint64_t start_us = steadyMicros();
  const uint64_t waited_ms = debouncer_.fire(loop_.nowMs());
  auto manifests = source_ ? source_->snapshot() : std::make_shared<const MeshManifests>();
  auto next = std::make_shared<ConfigCache>();
  auto translated_us = std::make_shared<uint64_t>(0);
  offload(
      // In Kubernetes mode registrations reach the mesh as EndpointSlices, through the source.
      [manifests,
       registered =
           kubernetes_ != nullptr ? std::vector<RegisteredEndpoint>() : registry_.endpoints(),
       sidecars = kubernetes_ != nullptr ? kubernetes_->sidecarPods()
                                         : std::make_shared<const SidecarPods>(),
       next, translated_us] {
        auto config = translate(*manifests, registered, *sidecars);
        *translated_us = steadyMicros();
        next->update(std::move(config));
      },
      [this, next, waited_ms, start_us, translated_us] {
        install(next, waited_ms, start_us, *translated_us);
      });
}

void ControlPlane::install(std::shared_ptr<ConfigCache> next, uint64_t waited_ms, uint64_t start_us,
                           uint64_t translated_us) {
  translating_ = false;
  const uint64_t cached_us = steadyMicros();
  cache_ = std::move(*next);
  const std::shared_ptr<const MeshConfig>& config = cache_.config();
  const uint64_t bytes = xds_ ? xds_->pushAll() : 0;
  const uint64_t took_us = steadyMicros() - start_us;
  spdlog::debug("push {}: translate {} us, serialize {} us, install and send {} us", pushes_ + 1,
                translated_us - start_us, cached_us - translated_us,
                start_us + took_us - cached_us);
  ++pushes_;
  last_push_time_ = common::nowRfc3339Utc();
  last_push_duration_ms_ = static_cast<double>(waited_ms) + static_cast<double>(took_us) / 1000.0;
  push_problems_ = cache_.problems();

  std::vector<std::string> problems;
  if (source_) {
    problems = source_->errors();
  }
  problems.insert(problems.end(), config->allErrors().begin(), config->allErrors().end());
  problems.insert(problems.end(), push_problems_.begin(), push_problems_.end());
  problem_log_->update(problems, loop_.nowMs());

  common::StatsShard& shard = stats_.shard(0);
  shard.add(pushes_total_);
  shard.recordMicros(push_latency_, waited_ms * 1000 + took_us);
  int64_t errors = static_cast<int64_t>(config->errorCount() + push_problems_.size()) +
                   (source_ ? static_cast<int64_t>(source_->errors().size()) : 0);
  shard.add(config_errors_, errors - stats_.value(config_errors_));
  shard.add(unsent_sets_, static_cast<int64_t>(push_problems_.size()) - stats_.value(unsent_sets_));
  shard.add(services_, static_cast<int64_t>(config->services().size()) - stats_.value(services_));
  shard.add(registered_, static_cast<int64_t>(registry_.size()) - stats_.value(registered_));
  spdlog::info(
      "push {}: config {}, {} services, {} proxies, {} bytes, {} problem(s), {:.1f} ms "
      "after the change",
      pushes_, cache_.version(), config->services().size(), xds_ ? xds_->proxyCount() : 0, bytes,
      problems.size(), last_push_duration_ms_);
  if (serving_ && !ready_) {
    ready_ = true;
    writeReadyFile();
  }
  armDebounce();  // changes that came during the translation
}

void ControlPlane::offload(std::function<void()> work, std::function<void()> done) {
  // The thread object is joined (and dropped) by the completion posted back to the loop, so
  // finished threads do not pile up; shutdown() joins whatever is still running.
  auto slot = std::make_shared<std::thread*>(nullptr);
  helpers_.emplace_back([this, slot, work = std::move(work), done = std::move(done)]() mutable {
    work();
    loop_.post([this, slot, done = std::move(done)] {
      done();
      for (auto it = helpers_.begin(); it != helpers_.end(); ++it) {
        if (&*it == *slot) {
          it->join();
          helpers_.erase(it);
          break;
        }
      }
    });
  });
  *slot = &helpers_.back();
}

void ControlPlane::writeReadyFile() {
  if (options_.ready_file.empty()) {
    return;
  }
  common::JsonWriter w;
  w.beginObject();
  w.field("xds", xds_->boundAddress().toString());
  w.field("http", http_->boundAddress().toString());
  if (webhook_) {
    w.field("webhook", webhook_->boundAddress().toString());
  }
  w.endObject();
  if (Status s = common::writeFileAtomically(options_.ready_file, w.str() + "\n"); !s.isOk()) {
    spdlog::error("cannot write ready file: {}", s.message());
  }
}

void ControlPlane::setWebhookHandler(WebhookHandler handler) {
  webhook_handler_ = std::move(handler);
  if (webhook_) {
    webhook_->setHandler(webhook_handler_);
  }
}

int ControlPlane::prepareWebhook(const KubeConfig* kube) {
  const WebhookOptions& o = options_.webhook;
  if (o.cert_file.empty() && kube != nullptr) {
    // Kubernetes mode: one certificate for every replica, shared through a Secret.
    std::vector<std::string> sans = defaultWebhookSans();
    sans.insert(sans.end(), o.extra_sans.begin(), o.extra_sans.end());
    KubeClient client(*kube);
    auto shared = sharedWebhookCertificate(client, leaseNamespace(), options_.webhook_secret, sans);
    if (!shared.isOk()) {
      spdlog::error("--webhook: {}", shared.status().message());
      return 2;
    }
    webhook_cert_ = std::move(shared.value());
  } else if (!o.cert_file.empty()) {
    auto loaded = loadWebhookCertificate(o.cert_file, o.key_file, o.ca_file);
    if (!loaded.isOk()) {
      spdlog::error("--webhook-cert: {}", loaded.status().message());
      return 2;
    }
    webhook_cert_ = std::move(loaded.value());
  } else {
    std::vector<std::string> sans = defaultWebhookSans();
    sans.insert(sans.end(), o.extra_sans.begin(), o.extra_sans.end());
    auto generated = generateWebhookCertificate(sans);
    if (!generated.isOk()) {
      spdlog::error("--webhook: {}", generated.status().message());
      return 2;
    }
    webhook_cert_ = std::move(generated.value());
    spdlog::info(
        "webhook: generated a CA and a serving certificate for {} name(s); its CA bundle "
        "belongs in MutatingWebhookConfiguration {}",
        sans.size(), o.config_name);
  }
  if (!o.ca_out_file.empty()) {
    if (webhook_cert_.ca_bundle_pem.empty()) {
      spdlog::error("--webhook-ca-out: no CA bundle to write (give --webhook-ca)");
      return 2;
    }
    if (Status s = common::writeFileAtomically(o.ca_out_file, webhook_cert_.ca_bundle_pem);
        !s.isOk()) {
      spdlog::error("--webhook-ca-out: {}", s.message());
      return 2;
    }
  }
  return 0;
}

std::string ControlPlane::leaseNamespace() const {
  if (!options_.lease_namespace.empty()) {
    return options_.lease_namespace;
  }
  return kube_config_ && !kube_config_->namespace_.empty() ? kube_config_->namespace_
                                                           : "remora-system";
}

WebhookHandler ControlPlane::injectionHandler(const KubeConfig* kube) {
  std::optional<KubeConfig> config;
  if (kube != nullptr) {
    config = *kube;
  }
  InjectionOptions injection = options_.injection;
  return [this, config, injection](std::string body, WebhookRespond respond) {
    auto result = std::make_shared<AdmissionResult>();
    // Off the loop: the namespace lookup is a blocking call to the API server.
    offload(
        [result, config, injection, body = std::move(body)] {
          if (config) {
            KubeClient client(*config);
            KubeNamespaceLabels namespaces(client);
            *result = reviewAdmission(body, namespaces, injection);
          } else {
            // File mode: no namespaces to ask; only the pod's annotation selects it.
            struct NoLabels : NamespaceLabels {
              common::Result<std::map<std::string, std::string>> labels(
                  const std::string& name) override {
                return common::Status::notFound("no namespace " + name + " in file mode");
              }
            } namespaces;
            *result = reviewAdmission(body, namespaces, injection);
          }
        },
        [result, respond = std::move(respond)] {
          std::string label = admissionReasonName(result->reason);
          std::replace(label.begin(), label.end(), '-', '_');
          spdlog::info("webhook: {}", result->message);
          respond(WebhookReply{result->http_status, std::move(result->body), label});
        });
  };
}

int ControlPlane::run() {
  if (options_.kubernetes) {
    auto config = options_.kubeconfig.empty()
                      ? inClusterConfig([](const char* name) { return std::getenv(name); })
                      : loadKubeconfig(options_.kubeconfig, options_.kube_context);
    if (!config.isOk()) {
      spdlog::error("--kubernetes: {}", config.status().message());
      loop_.closeAll();
      return 2;
    }
    spdlog::info("kubernetes: API server {} ({})", config.value().server, config.value().origin);
    kube_config_ = std::move(config.value());
  }
  const KubeConfig* kube = kube_config_ ? &*kube_config_ : nullptr;
  if (options_.webhook.enabled()) {
    if (int rc = prepareWebhook(kube); rc != 0) {
      loop_.closeAll();
      return rc;
    }
    if (!webhook_handler_) {
      webhook_handler_ = injectionHandler(kube);
    }
    if (kube != nullptr && !webhook_cert_.ca_bundle_pem.empty()) {
      ca_patcher_ = std::make_unique<CaBundlePatcher>(*kube, options_.webhook.config_name,
                                                      webhook_cert_.ca_bundle_pem);
      ca_patcher_->start();
    }
  }
  debounce_timer_ = std::make_unique<common::Timer>(loop_.uv(), [this] {
    if (debouncer_.due(loop_.nowMs())) {
      rebuild();
    } else {
      armDebounce();
    }
  });
  if (!options_.manifests_dir.empty()) {
    auto fs = std::make_unique<FileSource>(loop_, options_.manifests_dir, options_.poll_ms,
                                           options_.manifest_limits);
    Status s = fs->start([this] { changed(); });
    if (!s.isOk()) {
      spdlog::error("--manifests: {}", s.message());
      loop_.closeAll();
      return 2;
    }
    source_ = std::move(fs);
  } else if (kube != nullptr) {
    KubernetesSource::Options ko;
    ko.namespaces = options_.watch_namespaces;
    ko.limits = options_.manifest_limits;
    ko.lease.namespace_ = leaseNamespace();
    ko.lease.lease_ms = options_.lease_ms;
    ko.lease.renew_ms = std::max<uint64_t>(options_.lease_ms / 3, 100);
    auto ks = std::make_unique<KubernetesSource>(loop_, stats_, *kube, ko);
    (void)ks->start([this] { changed(); });
    kubernetes_ = ks.get();
    source_ = std::move(ks);
  }
  xds_ = std::make_unique<XdsServer>(
      loop_, stats_,
      [this](const config::v1::Node& node) -> std::optional<ProxyResources> {
        if (!cache_.config()) {
          return std::nullopt;
        }
        return cache_.resourcesFor(node.namespace_(), node.service());
      },
      options_.xds);
  http_ = std::make_unique<common::HttpServer>(
      loop_,
      [this](common::HttpRequest& req, common::Responder r) {
        handleApiRequest(*this, req, std::move(r));
      },
      apiServerOptions());
  http_->onRefused([this](int status) { countApiRefusal(*this, status); });
  // The first config is built as soon as the source has loaded (at once without one); proxies
  // that connect before wait for it, so that their first response is complete.
  debouncer_.onChange(loop_.nowMs());
  armDebounce();
  Status s = xds_->listen(options_.xds_address);
  if (!s.isOk()) {
    spdlog::error("--xds {}: {}", options_.xds_address, s.message());
  } else {
    s = http_->listen(options_.http_address);
    if (!s.isOk()) {
      spdlog::error("--http {}: {}", options_.http_address, s.message());
    }
  }
  if (s.isOk() && options_.webhook.enabled()) {
    webhook_ = std::make_unique<WebhookServer>(loop_, stats_, options_.webhook);
    webhook_->setHandler(webhook_handler_);
    s = webhook_->listen(webhook_cert_);
    if (!s.isOk()) {
      spdlog::error("--webhook {}: {}", options_.webhook.address, s.message());
    } else {
      spdlog::info("webhook: HTTPS on {} (POST /inject)", webhook_->boundAddress().toString());
    }
  }
  if (!s.isOk()) {
    shutdown();
    return 1;
  }
  expiry_timer_ = std::make_unique<common::Timer>(loop_.uv(), [this] {
    std::vector<std::string> gone = registry_.expire(loop_.nowMs());
    for (const std::string& id : gone) {
      spdlog::info("registry: {} expired (no heartbeat within its TTL)", id);
    }
    if (!gone.empty()) {
      registryChanged();
    }
    problem_log_->tick(loop_.nowMs());
  });
  expiry_timer_->start(kExpiryCheckMs, kExpiryCheckMs);

  signals_ = std::make_unique<common::StopSignals>(loop_.uv(), [this](int signum) {
    spdlog::info("signal {}: stopping", signum);
    loop_.stop();
  });

  announceApi(*this);
  serving_ = true;
  spdlog::info("remora-control: xDS on {}, API on {}{}", xds_->boundAddress().toString(),
               http_->boundAddress().toString(),
               source_ ? ", manifests from " + source_->name() : "");
  loop_.run();
  shutdown();
  return 0;
}

void ControlPlane::shutdown() {
  for (std::thread& t : helpers_) {
    if (t.joinable()) {
      t.join();
    }
  }
  helpers_.clear();
  if (xds_) {
    xds_->onProxiesChanged(nullptr);
    xds_->close();
  }
  if (http_) {
    http_->close();
  }
  if (webhook_) {
    webhook_->close();
  }
  // Everything owning a libuv handle goes before closeAll(), which closes what is left.
  webhook_.reset();
  ca_patcher_.reset();
  http_.reset();
  xds_.reset();
  debounce_timer_.reset();
  expiry_timer_.reset();
  source_.reset();
  signals_.reset();
  loop_.closeAll();
}

}  // namespace remora::control
