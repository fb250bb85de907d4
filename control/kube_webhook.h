#pragma once
// The admission webhook in Kubernetes mode (docs/kubernetes.md "Injection webhook"): one
// certificate shared by every replica, its CA bundle kept in the MutatingWebhookConfiguration,
// and namespace labels for the injection decision.
//
// Certificate: replicas that generate their own certificates would each need their own CA in
// the caBundle. Instead the first replica to start generates one and stores it in a Secret
// (type kubernetes.io/tls, with ca.crt) in its namespace; the others (and later restarts) load
// it from there. A create that loses the race (409) reads the winner's.
//
// caBundle: every replica checks the MutatingWebhookConfiguration every `interval_ms` and
// patches each webhook whose clientConfig.caBundle is not the shared CA (a `kubectl apply` of
// the install manifests, which carry an empty caBundle, is repaired within one interval). All
// replicas patch to the same value, so they never fight.

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/admission_review.h"
#include "control/kube_client.h"
#include "control/webhook_certs.h"

namespace remora::control {

// Loads the shared certificate from Secret `ns`/`name`, or generates one for `sans` and
// creates the Secret. Errors (kUnavailable) say which call failed and how.
common::Result<WebhookCertificate> sharedWebhookCertificate(KubeClient& client,
                                                            const std::string& ns,
                                                            const std::string& name,
                                                            const std::vector<std::string>& sans);

// Keeps the caBundle of a MutatingWebhookConfiguration equal to a CA, on its own thread.
class CaBundlePatcher {
 public:
  CaBundlePatcher(KubeConfig config, std::string config_name, std::string ca_pem,
                  uint64_t interval_ms = 10000);
  ~CaBundlePatcher();
  void start();
  // Patches done so far (for tests and logs).
  uint64_t patches() const noexcept { return patches_; }

 private:
  void run();
  // One check: false when the configuration could not be read or patched.
  bool syncOnce();

  KubeClient client_;
  std::string name_;
  std::string bundle_b64_;
  uint64_t interval_ms_;
  std::atomic<uint64_t> patches_{0};
  bool missing_logged_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Namespace labels from the API server (GET /api/v1/namespaces/NAME), for reviewAdmission.
// Blocking: used on a helper thread, never on the loop.
class KubeNamespaceLabels : public NamespaceLabels {
 public:
  explicit KubeNamespaceLabels(KubeClient& client) : client_(client) {}
  common::Result<std::map<std::string, std::string>> labels(const std::string& name) override;

 private:
  KubeClient& client_;
};

}  // namespace remora::control
