#pragma once
// The admission webhook's decision, without the server: an AdmissionReview request body in, the
// AdmissionReview response body (or an HTTP error) out. The HTTPS server that serves
// `remora-control --webhook` calls reviewAdmission for each POST to /inject, logs `message` and
// counts `reason`. Nothing here does I/O except through NamespaceLabels.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "control/injection.h"

namespace remora::control {

// Bodies beyond this size are refused (413) before parsing. The API server sends at most a few
// MiB (an object is at most 1.5 MiB in etcd; a review holds the object once for CREATE), so a
// server should stop reading a request body at this size and call reviewAdmission with what it
// has (or answer 413 itself).
inline constexpr size_t kMaxAdmissionReviewBytes = 4 * 1024 * 1024;

// Why a review ended the way it did; one counter per value.
enum class AdmissionReason {
  kInjected,               // 200, allowed, with the JSONPatch
  kAlreadyInjected,        // 200, allowed unchanged
  kDisabledByAnnotation,   // 200, allowed unchanged
  kNotSelected,            // 200, allowed unchanged
  kHostNetwork,            // 200, allowed unchanged
  kNotAPod,                // 200, allowed unchanged: the request is for another resource
  kNotCreate,              // 200, allowed unchanged: an operation other than CREATE
  kInjectionFailed,        // 200, allowed unchanged, with a warning: e.g. a bad annotation value
  kNamespaceLookupFailed,  // 200, allowed unchanged, with a warning: the labels were unknown
  kMalformed,              // 400: not JSON, not an AdmissionReview v1/v1beta1, no request.uid
  kTooLarge,               // 413: the body is longer than kMaxAdmissionReviewBytes
};

// "injected", "already-injected", "disabled-by-annotation", "not-selected", "host-network",
// "not-a-pod", "not-create", "injection-failed", "namespace-lookup-failed", "malformed",
// "too-large": stable names for metric labels.
const char* admissionReasonName(AdmissionReason reason);

// The labels of a namespace, as the webhook needs them: the AdmissionReview carries the pod but
// not its namespace's labels. The control plane backs this with its Kubernetes client (a watch
// cache or a GET); tests use a fake.
class NamespaceLabels {
 public:
  virtual ~NamespaceLabels() = default;
  // The labels of namespace `name`. kNotFound when there is no such namespace (treated as no
  // labels); any other error makes the review answer kNamespaceLookupFailed (allowed unchanged).
  // Called from the thread that calls reviewAdmission, at most once per review, and only when
  // the pod's own remora.dev/inject annotation does not decide alone.
  virtual common::Result<std::map<std::string, std::string>> labels(const std::string& name) = 0;
};

struct AdmissionResult {
  int http_status = 200;  // 200, 400 or 413
  // 200: the AdmissionReview response (JSON, Content-Type application/json). 400/413: a one-line
  // plain-text error for the response body.
  std::string body;
  AdmissionReason reason = AdmissionReason::kMalformed;
  std::string message;  // one line for the log: the namespace/pod and what was decided
};

// Reviews one AdmissionReview request body (`admission.k8s.io/v1` or `v1beta1`). The response
// has the request's apiVersion, kind AdmissionReview, response.uid echoed, allowed: true always
// (this webhook never blocks a pod), and for kInjected patchType JSONPatch with a base64 RFC 6902
// patch turning request.object into what injectObject makes of it (so the API server's pod
// equals `remoractl inject` of the same pod). The namespace is request.namespace (else the
// object's metadata.namespace). Warnings (a Job without native mode, a bad annotation) go in
// response.warnings, which kubectl shows. Never throws.
AdmissionResult reviewAdmission(std::string_view body, NamespaceLabels& namespaces,
                                const InjectionOptions& options);

}  // namespace remora::control
