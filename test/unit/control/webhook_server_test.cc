// The webhook's default review (admitUnchanged) and the sync handler adapter. The transport
// itself runs for real in test/integration/webhook_transport_test.cc.

#include "control/webhook_server.h"

#include <gtest/gtest.h>

#include <string>

namespace remora::control {
namespace {

TEST(WebhookReviewTest, DefaultAdmitsAV1ReviewUnchangedEchoingItsUid) {
  const WebhookReply r = admitUnchanged(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
      R"("request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"kind":"Pod"},)"
      R"("object":{"metadata":{"name":"p"}}}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.result, "allowed");
  EXPECT_EQ(r.body, R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",)"
                    R"("response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}})");
}

TEST(WebhookReviewTest, DefaultAnswersAV1beta1ReviewInV1beta1) {
  const WebhookReply r = admitUnchanged(
      R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u1"}})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview",)"
                    R"("response":{"uid":"u1","allowed":true}})");
}

TEST(WebhookReviewTest, DefaultRefusesWhatIsNotAReviewWithTheReason) {
  const struct {
    const char* body;
    const char* reason;
  } cases[] = {
      {"", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"u"}})", "apiVersion must"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}})",
       "kind must be AdmissionReview"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "request.uid"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":""}})",
       "request.uid"},
  };
  for (const auto& c : cases) {
    const WebhookReply r = admitUnchanged(c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_EQ(r.result, "bad_review") << c.body;
    EXPECT_EQ(r.body.rfind(R"({"error":")", 0), 0u) << r.body;
    EXPECT_NE(r.body.find(c.reason), std::string::npos) << c.body << " -> " << r.body;
  }
}

TEST(WebhookReviewTest, SyncHandlerAnswersBeforeReturningWithTheFunctionsReply) {
  std::string seen;
  WebhookHandler h = syncWebhookHandler([&seen](std::string_view body) {
    seen = std::string(body);
    WebhookReply r;
    r.body = "{}";
    r.result = "injected";
    return r;
  });
  int calls = 0;
  WebhookReply got;
  h("{\"x\":1}", [&](WebhookReply r) {
    ++calls;
    got = std::move(r);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, "{\"x\":1}");
  EXPECT_EQ(got.result, "injected");
  EXPECT_EQ(got.body, "{}");
}

}  // namespace
}  // namespace remora::control
