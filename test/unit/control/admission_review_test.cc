// The admission webhook's review function (control/admission_review.h): AdmissionReview v1 and
// v1beta1 in, the response out, with a fake namespace-label lookup.

#include "control/admission_review.h"

#include "common/base64.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "control/json_patch.h"

namespace remora::control {
namespace {

using google::protobuf::Value;

class FakeNamespaces : public NamespaceLabels {
 public:
  common::Result<std::map<std::string, std::string>> labels(const std::string& name) override {
    ++calls;
    asked = name;
    if (!error.isOk()) {
      return error;
    }
    auto it = namespaces.find(name);
    if (it == namespaces.end()) {
      return common::Status::notFound("namespace " + name + " not found");
    }
    return it->second;
  }

  std::map<std::string, std::map<std::string, std::string>> namespaces = {
      {"shop", {{"remora.dev/inject", "enabled"}}},
      {"plain", {{"team", "a"}}},
  };
  common::Status error;
  int calls = 0;
  std::string asked;
};

Value json(const std::string& text) {
  Value v;
  auto st = google::protobuf::util::JsonStringToMessage(text, &v);
  EXPECT_TRUE(st.ok()) << st.message() << ": " << text;
  return v;
}

const Value* get(const Value& v, const std::string& key) {
  if (!v.has_struct_value()) {
    return nullptr;
  }
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

std::string text(const Value* v) {
  return v != nullptr && v->has_string_value() ? v->string_value() : "<none>";
}

const char* kPod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-5f7-",
  "namespace":"shop","labels":{"app":"web","pod-template-hash":"5f7"}%ANNOTATIONS%},
  "spec":{"containers":[{"name":"app","image":"web:1","ports":[{"containerPort":8080}]}]}})";

std::string pod(const std::string& annotations = "") {
  std::string p = kPod;
  p.replace(p.find("%ANNOTATIONS%"), 13,
            annotations.empty() ? "" : ",\"annotations\":{" + annotations + "}");
  return p;
}

std::string review(const std::string& object, const std::string& ns = "shop",
                   const std::string& api = "admission.k8s.io/v1",
                   const std::string& operation = "CREATE") {
  return R"({"apiVersion":")" + api + R"(","kind":"AdmissionReview","request":{"uid":"u-1",)" +
         R"("kind":{"group":"","version":"v1","kind":"Pod"},)" +
         R"("resource":{"group":"","version":"v1","resource":"pods"},"namespace":")" + ns +
         R"(","operation":")" + operation + R"(","object":)" + object + "}}";
}

struct Answer {
  AdmissionResult result;
  Value body;
  Value response;
  std::string patch;  // decoded JSON Patch text, "" when none
};

Answer ask(const std::string& request, FakeNamespaces& ns, const InjectionOptions& o = {}) {
  Answer a;
  a.result = reviewAdmission(request, ns, o);
  if (a.result.http_status == 200) {
    a.body = json(a.result.body);
    if (const Value* r = get(a.body, "response")) {
      a.response = *r;
    }
    const Value* p = get(a.response, "patch");
    if (p != nullptr) {
      EXPECT_TRUE(common::decodeBase64(p->string_value(), &a.patch));
    }
  }
  return a;
}

std::vector<std::string> warnings(const Answer& a) {
  std::vector<std::string> out;
  const Value* w = get(a.response, "warnings");
  if (w != nullptr) {
    for (const Value& s : w->list_value().values()) {
      out.push_back(s.string_value());
    }
  }
  return out;
}

TEST(AdmissionReviewTest, PodInLabelledNamespaceGetsAPatchThatMakesTheInjectedPod) {
  FakeNamespaces ns;
  Answer a = ask(review(pod()), ns);
  ASSERT_EQ(a.result.http_status, 200) << a.result.body;
  EXPECT_EQ(a.result.reason, AdmissionReason::kInjected);
  EXPECT_EQ(text(get(a.body, "apiVersion")), "admission.k8s.io/v1");
  EXPECT_EQ(text(get(a.body, "kind")), "AdmissionReview");
  EXPECT_EQ(text(get(a.response, "uid")), "u-1");
  EXPECT_TRUE(get(a.response, "allowed")->bool_value());
  EXPECT_EQ(text(get(a.response, "patchType")), "JSONPatch");
  EXPECT_EQ(ns.asked, "shop");
  EXPECT_NE(a.result.message.find("shop/web-5f7-*: injected (service web)"), std::string::npos)
      << a.result.message;

  // Applying the patch as the API server does gives exactly what injectObject makes.
  Value patched = json(pod());
  Value patch = json(a.patch);
  ASSERT_TRUE(applyJsonPatch(patch.list_value(), &patched).isOk());
  Value expected = json(pod());
  InjectionReport report;
  ASSERT_TRUE(injectObject(&expected, NamespaceSelection::kEnabled, {}, &report).isOk());
  EXPECT_TRUE(jsonEqual(patched, expected));
  // Inserted, not rewritten: the proxy goes in front, the app container is untouched.
  std::vector<std::string> ops;
  for (const Value& op : patch.list_value().values()) {
    ops.push_back(text(get(op, "op")) + " " + text(get(op, "path")));
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"add /metadata/annotations", "add /spec/containers/0",
                                           "add /spec/initContainers"}))
      << a.patch;
}

TEST(AdmissionReviewTest, PatchPathsEscapeSlashAndTildeInAnnotationKeys) {
  FakeNamespaces ns;
  Answer a = ask(review(pod(R"("a~b/c":"x")")), ns);
  ASSERT_EQ(a.result.reason, AdmissionReason::kInjected);
  EXPECT_NE(a.patch.find("/metadata/annotations/remora.dev~1status"), std::string::npos) << a.patch;
  Value patched = json(pod(R"("a~b/c":"x")"));
  ASSERT_TRUE(applyJsonPatch(json(a.patch).list_value(), &patched).isOk());
  EXPECT_EQ(text(get(*get(*get(patched, "metadata"), "annotations"), "a~b/c")), "x");
}

TEST(AdmissionReviewTest, V1beta1IsAnsweredInV1beta1) {
  FakeNamespaces ns;
  Answer a = ask(review(pod(), "shop", "admission.k8s.io/v1beta1"), ns);
  ASSERT_EQ(a.result.http_status, 200);
  EXPECT_EQ(text(get(a.body, "apiVersion")), "admission.k8s.io/v1beta1");
  EXPECT_EQ(a.result.reason, AdmissionReason::kInjected);
}

TEST(AdmissionReviewTest, SelectionUsesTheNamespaceLabelsOnlyWhenTheAnnotationDoesNotDecide) {
  struct Case {
    std::string ns;
    std::string annotation;
    AdmissionReason want;
    int lookups;
  };
  const Case cases[] = {
      {"plain", "", AdmissionReason::kNotSelected, 1},
      {"missing", "", AdmissionReason::kNotSelected, 1},
      {"plain", R"("remora.dev/inject":"true")", AdmissionReason::kInjected, 0},
      {"shop", R"("remora.dev/inject":"false")", AdmissionReason::kDisabledByAnnotation, 0},
      {"shop", R"("remora.dev/status":"injected")", AdmissionReason::kAlreadyInjected, 1},
  };
  for (const Case& c : cases) {
    FakeNamespaces ns;
    Answer a = ask(review(pod(c.annotation), c.ns), ns);
    ASSERT_EQ(a.result.http_status, 200);
    EXPECT_EQ(admissionReasonName(a.result.reason), std::string(admissionReasonName(c.want)))
        << c.ns << " " << c.annotation;
    EXPECT_EQ(ns.calls, c.lookups) << c.ns << " " << c.annotation;
    EXPECT_TRUE(get(a.response, "allowed")->bool_value());
    EXPECT_EQ(get(a.response, "patch") != nullptr, c.want == AdmissionReason::kInjected);
  }
}

TEST(AdmissionReviewTest, HostNetworkPodsAreAdmittedUnchanged) {
  FakeNamespaces ns;
  std::string p = pod();
  p.replace(p.find(R"("spec":{)") + 8, 0, R"("hostNetwork":true,)");
  Answer a = ask(review(p), ns);
  EXPECT_EQ(a.result.reason, AdmissionReason::kHostNetwork);
  EXPECT_EQ(get(a.response, "patch"), nullptr);
}

TEST(AdmissionReviewTest, ABadAnnotationAdmitsThePodUnchangedWithAWarning) {
  FakeNamespaces ns;
  Answer a = ask(review(pod(R"("remora.dev/exclude-inbound-ports":"http")")), ns);
  ASSERT_EQ(a.result.http_status, 200);
  EXPECT_EQ(a.result.reason, AdmissionReason::kInjectionFailed);
  EXPECT_EQ(get(a.response, "patch"), nullptr);
  EXPECT_TRUE(get(a.response, "allowed")->bool_value());
  ASSERT_EQ(warnings(a).size(), 1u);
  EXPECT_NE(warnings(a)[0].find("remora.dev/exclude-inbound-ports wants"), std::string::npos);
}

TEST(AdmissionReviewTest, ALookupFailureAdmitsUnchangedWithAWarning) {
  FakeNamespaces ns;
  ns.error = common::Status::unavailable("API server unreachable");
  Answer a = ask(review(pod()), ns);
  ASSERT_EQ(a.result.http_status, 200);
  EXPECT_EQ(a.result.reason, AdmissionReason::kNamespaceLookupFailed);
  EXPECT_EQ(get(a.response, "patch"), nullptr);
  ASSERT_EQ(warnings(a).size(), 1u);
  EXPECT_NE(warnings(a)[0].find("API server unreachable"), std::string::npos);
}

TEST(AdmissionReviewTest, JobPodsWithoutNativeModeAreInjectedWithAWarning) {
  FakeNamespaces ns;
  std::string p = pod();
  p.replace(p.find(R"("app":"web")"), 11, R"("app":"web","job-name":"nightly")");
  Answer a = ask(review(p), ns);
  EXPECT_EQ(a.result.reason, AdmissionReason::kInjected);
  ASSERT_EQ(warnings(a).size(), 1u);
  EXPECT_NE(warnings(a)[0].find("native-sidecar"), std::string::npos);
}

TEST(AdmissionReviewTest, OtherResourcesAndOperationsAreAdmittedUnchanged) {
  FakeNamespaces ns;
  std::string svc = review(R"({"kind":"Service","metadata":{"name":"s"}})");
  svc.replace(svc.find(R"("kind":"Pod")"), 12, R"("kind":"Service")");
  Answer a = ask(svc, ns);
  EXPECT_EQ(a.result.reason, AdmissionReason::kNotAPod);
  EXPECT_EQ(text(get(a.response, "uid")), "u-1");
  EXPECT_EQ(get(a.response, "patch"), nullptr);

  Answer u = ask(review(pod(), "shop", "admission.k8s.io/v1", "UPDATE"), ns);
  EXPECT_EQ(u.result.reason, AdmissionReason::kNotCreate);
  EXPECT_EQ(get(u.response, "patch"), nullptr);
  EXPECT_EQ(ns.calls, 0);
}

TEST(AdmissionReviewTest, MalformedBodiesAre400AndHugeOnes413WithAReason) {
  FakeNamespaces ns;
  const std::pair<std::string, std::string> bad[] = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[1,2]", "not an AdmissionReview"},
      {R"({"apiVersion":"v1","kind":"Pod"})", "not an AdmissionReview"},
      {R"({"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview"})",
       "not an AdmissionReview"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "no request.uid"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}})",
       "no request.uid"},
      {std::string(200, '[') + std::string(200, ']'), "not JSON"},
  };
  for (const auto& [body, want] : bad) {
    AdmissionResult r = reviewAdmission(body, ns, {});
    EXPECT_EQ(r.http_status, 400) << body;
    EXPECT_EQ(r.reason, AdmissionReason::kMalformed) << body;
    EXPECT_NE(r.body.find(want), std::string::npos) << body << " -> " << r.body;
  }
  std::string huge = review(pod());
  huge.insert(huge.size() - 2, ",\"pad\":\"" + std::string(kMaxAdmissionReviewBytes, 'x') + "\"");
  AdmissionResult r = reviewAdmission(huge, ns, {});
  EXPECT_EQ(r.http_status, 413);
  EXPECT_EQ(r.reason, AdmissionReason::kTooLarge);
  EXPECT_STREQ(admissionReasonName(r.reason), "too-large");
  EXPECT_EQ(ns.calls, 0);
}

TEST(AdmissionReviewTest, AnObjectThatIsNotAnObjectIsAdmittedUnchanged) {
  FakeNamespaces ns;
  Answer a = ask(review("\"not a pod\""), ns);
  ASSERT_EQ(a.result.http_status, 200);
  EXPECT_EQ(a.result.reason, AdmissionReason::kNotAPod);
  Answer b = ask(review(R"({"metadata":{"name":"p"},"spec":{"containers":"x"}})"), ns);
  ASSERT_EQ(b.result.http_status, 200);
  EXPECT_EQ(b.result.reason, AdmissionReason::kInjectionFailed);
}

}  // namespace
}  // namespace remora::control
