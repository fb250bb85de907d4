#include "control/admission_review.h"

#include <google/protobuf/util/json_util.h>

#include "common/base64.h"
#include "control/json_patch.h"

namespace remora::control {

using google::protobuf::ListValue;
using google::protobuf::Value;

namespace {

std::string text(const Value* v) {
  return v != nullptr && v->has_string_value() ? v->string_value() : std::string();
}

AdmissionResult failure(int status, AdmissionReason reason, std::string message) {
  AdmissionResult r;
  r.http_status = status;
  r.reason = reason;
  r.body = message + "\n";
  r.message = std::move(message);
  return r;
}

AdmissionReason fromOutcome(InjectOutcome o) {
  switch (o) {
    case InjectOutcome::kInjected:
      return AdmissionReason::kInjected;
    case InjectOutcome::kAlreadyInjected:
      return AdmissionReason::kAlreadyInjected;
    case InjectOutcome::kDisabledByAnnotation:
      return AdmissionReason::kDisabledByAnnotation;
    case InjectOutcome::kHostNetwork:
      return AdmissionReason::kHostNetwork;
    case InjectOutcome::kNotSelected:
      break;
  }
  return AdmissionReason::kNotSelected;
}

class Review {
 public:
  Review(std::string api_version, std::string uid)
      : api_version_(std::move(api_version)), uid_(std::move(uid)) {}

  void warn(std::string w) { warnings_.push_back(std::move(w)); }

  // The 200 answer; `patch` null for none.
  AdmissionResult answer(AdmissionReason reason, std::string message, const ListValue* patch) {
    Value review;
    auto* top = review.mutable_struct_value()->mutable_fields();
    (*top)["apiVersion"].set_string_value(api_version_);
    (*top)["kind"].set_string_value("AdmissionReview");
    auto* response = (*top)["response"].mutable_struct_value()->mutable_fields();
    (*response)["uid"].set_string_value(uid_);
    (*response)["allowed"].set_bool_value(true);
    if (patch != nullptr) {
      Value patch_value;
      *patch_value.mutable_list_value() = *patch;
      std::string json;
      (void)google::protobuf::util::MessageToJsonString(patch_value, &json);
      (*response)["patchType"].set_string_value("JSONPatch");
      (*response)["patch"].set_string_value(common::encodeBase64(json));
    }
    if (!warnings_.empty()) {
      auto* w = (*response)["warnings"].mutable_list_value();
      for (const std::string& s : warnings_) {
        w->add_values()->set_string_value(s);
      }
    }
    AdmissionResult r;
    r.reason = reason;
    r.message = std::move(message);
    if (!google::protobuf::util::MessageToJsonString(review, &r.body).ok()) {
      return failure(400, AdmissionReason::kMalformed, "cannot print the AdmissionReview response");
    }
    return r;
  }

 private:
  std::string api_version_;
  std::string uid_;
  std::vector<std::string> warnings_;
};

}  // namespace

const char* admissionReasonName(AdmissionReason reason) {
  switch (reason) {
    case AdmissionReason::kInjected:
      return "injected";
    case AdmissionReason::kAlreadyInjected:
      return "already-injected";
    case AdmissionReason::kDisabledByAnnotation:
      return "disabled-by-annotation";
    case AdmissionReason::kNotSelected:
      return "not-selected";
    case AdmissionReason::kHostNetwork:
      return "host-network";
    case AdmissionReason::kNotAPod:
      return "not-a-pod";
    case AdmissionReason::kNotCreate:
      return "not-create";
    case AdmissionReason::kInjectionFailed:
      return "injection-failed";
    case AdmissionReason::kNamespaceLookupFailed:
      return "namespace-lookup-failed";
    case AdmissionReason::kMalformed:
      return "malformed";
    case AdmissionReason::kTooLarge:
      return "too-large";
  }
  return "unknown";
}

AdmissionResult reviewAdmission(std::string_view body, NamespaceLabels& namespaces,
                                const InjectionOptions& options) {
  if (body.size() > kMaxAdmissionReviewBytes) {
    return failure(413, AdmissionReason::kTooLarge,
                   "AdmissionReview body of " + std::to_string(body.size()) +
                       " bytes is over the limit of " + std::to_string(kMaxAdmissionReviewBytes));
  }
  Value review;
  google::protobuf::util::JsonParseOptions parse_options;
  if (auto st = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(body.data(), body.size()), &review, parse_options);
      !st.ok()) {
    return failure(400, AdmissionReason::kMalformed,
                   "AdmissionReview body is not JSON: " + std::string(st.message()));
  }
  const std::string api_version = text(jsonMember(&review, "apiVersion"));
  if (text(jsonMember(&review, "kind")) != "AdmissionReview" ||
      (api_version != "admission.k8s.io/v1" && api_version != "admission.k8s.io/v1beta1")) {
    return failure(400, AdmissionReason::kMalformed,
                   "not an AdmissionReview of admission.k8s.io/v1 or v1beta1 (apiVersion '" +
                       api_version + "', kind '" + text(jsonMember(&review, "kind")) + "')");
  }
  const Value* request = jsonMember(&review, "request");
  const std::string uid = text(jsonMember(request, "uid"));
  if (uid.empty()) {
    return failure(400, AdmissionReason::kMalformed, "AdmissionReview has no request.uid");
  }
  Review answer(api_version, uid);
  const Value* object = jsonMember(request, "object");
  const Value* kind = jsonMember(request, "kind");
  std::string ns = text(jsonMember(request, "namespace"));
  if (ns.empty()) {
    ns = text(jsonMember(jsonMember(object, "metadata"), "namespace"));
  }
  std::string pod_name = text(jsonMember(jsonMember(object, "metadata"), "name"));
  if (pod_name.empty()) {
    pod_name = text(jsonMember(jsonMember(object, "metadata"), "generateName")) + "*";
  }
  const std::string who = ns + "/" + pod_name;
  if (text(jsonMember(kind, "group")) != "" || text(jsonMember(kind, "kind")) != "Pod" ||
      object == nullptr || !object->has_struct_value() ||
      (jsonMember(object, "kind") != nullptr && text(jsonMember(object, "kind")) != "Pod")) {
    return answer.answer(AdmissionReason::kNotAPod,
                         "request " + uid + " is not for a Pod object: allowed unchanged", nullptr);
  }
  const std::string operation = text(jsonMember(request, "operation"));
  if (operation != "CREATE") {
    return answer.answer(AdmissionReason::kNotCreate,
                         who + ": operation '" + operation + "' is not CREATE: allowed unchanged",
                         nullptr);
  }

  // The pod as injectObject sees it: its kind may be left out of a review's object.
  Value before = *object;
  (*before.mutable_struct_value()->mutable_fields())["kind"].set_string_value("Pod");
  const std::string inject_annotation = text(
      jsonMember(jsonMember(jsonMember(&before, "metadata"), "annotations"), kInjectAnnotation));
  NamespaceSelection selection = NamespaceSelection::kNotEnabled;
  if (inject_annotation != "true" && inject_annotation != "false") {
    auto labels = namespaces.labels(ns);
    if (!labels.isOk() && labels.status().code() != common::StatusCode::kNotFound) {
      const std::string m = "cannot read the labels of namespace '" + ns +
                            "': " + labels.status().message() + "; the pod is not injected";
      answer.warn("remora: " + m);
      return answer.answer(AdmissionReason::kNamespaceLookupFailed, who + ": " + m, nullptr);
    }
    if (labels.isOk()) {
      auto it = labels.value().find(kNamespaceInjectLabel);
      if (it != labels.value().end() && it->second == kNamespaceInjectEnabled) {
        selection = NamespaceSelection::kEnabled;
      }
    }
  }
  Value after = before;
  InjectionReport report;
  if (common::Status s = injectObject(&after, selection, options, &report); !s.isOk()) {
    answer.warn("remora: sidecar not injected: " + s.message());
    return answer.answer(AdmissionReason::kInjectionFailed, who + ": not injected: " + s.message(),
                         nullptr);
  }
  for (const std::string& w : report.warnings) {
    answer.warn("remora: " + w);
  }
  const AdmissionReason reason = fromOutcome(report.outcome);
  if (reason != AdmissionReason::kInjected) {
    return answer.answer(reason, who + ": " + outcomeName(report.outcome), nullptr);
  }
  const ListValue patch = diffJson(before, after);
  return answer.answer(reason, who + ": injected (service " + report.service + ")", &patch);
}

}  // namespace remora::control
