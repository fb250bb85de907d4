// The admission webhook's transport, for real: remora-control --webhook 127.0.0.1:0 with a
// generated (or given) certificate, driven by curl with the CA bundle the control plane wrote
// (--webhook-ca-out) and by raw sockets that misbehave. What a review answers is the default
// handler's (admitted unchanged); the mutation has its own tests.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "support/mesh.h"
#include "support/sockets.h"

namespace remora::test {
namespace {

using namespace std::chrono_literals;

const char kReview[] =
    R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":)"
    R"({"uid":"3f1d-uid","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",)"
    R"("namespace":"shop","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},)"
    R"("spec":{"containers":[{"name":"app","image":"example/app:1"}]}}}})";

// The number on the line `series value` of a Prometheus text; -1 when absent.
long long counterValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atoll(metrics.c_str() + at + series.size() + 2);
}

class WebhookTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    curl_ = programPath("curl");
    ASSERT_FALSE(curl_.empty()) << "curl is not installed (scripts/setup.sh installs it)";
    manifests_ = dir_.path() + "/manifests";
    ASSERT_EQ(::mkdir(manifests_.c_str(), 0755), 0);
    review_file_ = dir_.write("review.json", kReview);
  }

  // Starts remora-control with the webhook on 127.0.0.1:0 and `extra` flags; sets webhook_.
  void startControl(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--webhook", "127.0.0.1:0"});
    cp_ = ControlPlane::start(dir_, "cp", manifests_, extra);
    ASSERT_FALSE(cp_.xds.empty()) << readFile(cp_.stderr_file);
    webhook_ = jsonStrings(readFile(dir_.file("cp.ready")))["webhook"];
    ASSERT_FALSE(webhook_.empty()) << "the ready file names no webhook address";
  }

  // Starts it with a generated certificate for 127.0.0.1 and its CA bundle in ca_file_.
  void startGenerated(std::vector<std::string> extra = {}) {
    ca_file_ = dir_.file("webhook-ca.pem");
    extra.insert(extra.end(), {"--webhook-san", "127.0.0.1", "--webhook-ca-out", ca_file_});
    startControl(extra);
  }

  // Runs curl with `args`; the last line of `out` is the HTTP status (-w).
  RunResult curl(std::vector<std::string> args) {
    args.insert(args.begin(), {curl_, "-sS", "--max-time", "10", "-w", "\n%{http_code}"});
    return runToExit(dir_, "curl" + std::to_string(++curls_), args, 15000ms);
  }

  // POSTs the review file to /inject with the CA bundle; returns curl's result.
  RunResult postReview(const std::string& body_file) {
    return curl({"--cacert", ca_file_, "-H", "Content-Type: application/json", "--data-binary",
                 "@" + body_file, "https://" + webhook_ + "/inject"});
  }

  static std::string status(const RunResult& r) {
    const size_t nl = r.out.rfind('\n');
    return nl == std::string::npos ? r.out : r.out.substr(nl + 1);
  }
  static std::string body(const RunResult& r) {
    const size_t nl = r.out.rfind('\n');
    return nl == std::string::npos ? "" : r.out.substr(0, nl);
  }

  long long webhookCounter(const std::string& labels) {
    return counterValue(cp_.get("/metrics"), labels);
  }

  TempDir dir_;
  std::string curl_;
  std::string manifests_;
  std::string review_file_;
  std::string ca_file_;
  ControlPlane cp_;
  std::string webhook_;
  int curls_ = 0;
};

TEST_F(WebhookTransportTest, CurlTrustingTheWrittenCaBundleGetsTheReviewAnswered) {
  startGenerated();
  const RunResult r = postReview(review_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status(r), "200");
  // The control plane's review: a pod in file mode without the inject annotation is admitted
  // unchanged (no patch), in the request's version, with its uid.
  EXPECT_NE(body(r).find(R"("apiVersion":"admission.k8s.io/v1")"), std::string::npos) << body(r);
  EXPECT_NE(body(r).find(R"("uid":"3f1d-uid")"), std::string::npos) << body(r);
  EXPECT_NE(body(r).find(R"("allowed":true)"), std::string::npos) << body(r);
  EXPECT_EQ(body(r).find("patch"), std::string::npos) << body(r);

  // The default names verify too (the way the API server reaches the Service).
  const std::string port = std::to_string(portOf(webhook_));
  const RunResult by_name = curl({"--cacert", ca_file_, "--resolve",
                                  "remora-control.remora-system.svc:" + port + ":127.0.0.1",
                                  "https://remora-control.remora-system.svc:" + port + "/healthz"});
  ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_EQ(body(by_name), "ok\n");

  // Without the bundle the certificate is not trusted: curl's exit 60.
  const RunResult untrusted = curl({"https://" + webhook_ + "/healthz"});
  EXPECT_EQ(untrusted.exit_code, 60) << untrusted.err;

  // Wrong method, path, media type: refused and counted, the connection kept working.
  EXPECT_EQ(status(curl({"--cacert", ca_file_, "https://" + webhook_ + "/inject"})), "405");
  EXPECT_EQ(status(curl({"--cacert", ca_file_, "https://" + webhook_ + "/mutate"})), "404");
  EXPECT_EQ(status(curl({"--cacert", ca_file_, "--data-binary", "@" + review_file_,
                         "https://" + webhook_ + "/inject"})),
            "415");
  const std::string metrics = cp_.get("/metrics");
  EXPECT_EQ(counterValue(metrics, R"(remora_webhook_requests_total{result="not_selected"})"), 1);
  EXPECT_EQ(counterValue(metrics, R"(remora_webhook_requests_total{result="method_not_allowed"})"),
            1);
  EXPECT_EQ(counterValue(metrics, R"(remora_webhook_requests_total{result="not_found"})"), 1);
  EXPECT_EQ(
      counterValue(metrics, R"(remora_webhook_requests_total{result="unsupported_media_type"})"),
      1);
  EXPECT_EQ(counterValue(metrics, R"(remora_webhook_review_duration_ms_count)"), 1);
  // curl without the CA aborts the handshake with an alert: counted.
  EXPECT_EQ(counterValue(metrics,
                         R"(remora_webhook_connections_refused_total{reason="handshake_failed"})"),
            1);
}

TEST_F(WebhookTransportTest, PlainHttpOnTheTlsPortGetsAPlainTextRefusalAndClose) {
  startGenerated();
  const RunResult r = curl({"http://" + webhook_ + "/inject"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status(r), "400");
  EXPECT_EQ(body(r), "this port speaks HTTPS; use https:// to reach it\n");
  EXPECT_TRUE(eventually(
      [&] {
        return webhookCounter(
                   R"(remora_webhook_connections_refused_total{reason="handshake_failed"})") == 1;
      },
      2000ms));
  // The server is fine afterwards.
  EXPECT_EQ(status(postReview(review_file_)), "200");
}

TEST_F(WebhookTransportTest, BodyOverFourMibGets413AndIsCounted) {
  startGenerated();
  const std::string huge = dir_.write("huge.json", std::string(5 * 1024 * 1024, ' '));
  const RunResult r = postReview(huge);
  EXPECT_EQ(status(r), "413") << r.err;
  EXPECT_EQ(webhookCounter(R"(remora_webhook_requests_total{result="too_large"})"), 1);
  // Just under the limit is read whole and answered: the limit is 4 MiB, not less.
  std::string padded = kReview;
  padded.insert(padded.size() - 1, std::string(4 * 1024 * 1024 - sizeof(kReview) - 64, ' '));
  const RunResult under = postReview(dir_.write("under.json", padded));
  EXPECT_EQ(status(under), "200") << under.err;
  EXPECT_NE(body(under).find(R"("uid":"3f1d-uid")"), std::string::npos)
      << body(under).substr(0, 200);
}

TEST_F(WebhookTransportTest, StalledHandshakesAreClosedAtTheDeadlineWhileEverythingElseServes) {
  startGenerated({"--webhook-handshake-timeout", "600ms"});
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<common::HttpClient>> stalled;
  for (int i = 0; i < 6; ++i) {
    auto c = std::make_unique<common::HttpClient>(webhook_, 5000ms);
    ASSERT_TRUE(c->connect().isOk());
    if (i % 2 == 1) {
      // A TLS handshake record header and the start of a ClientHello, then nothing.
      ASSERT_TRUE(
          c->sendRaw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)).isOk());
    }
    stalled.push_back(std::move(c));
  }
  // Meanwhile the webhook answers reviews and the API its requests.
  EXPECT_EQ(status(postReview(review_file_)), "200");
  EXPECT_FALSE(cp_.get("/v1/status").empty());
  for (auto& c : stalled) {
    EXPECT_TRUE(c->waitForClose(5000ms));
  }
  const long long took = msSince(t0);
  EXPECT_GE(took, 500);
  EXPECT_LT(took, 4000);
  EXPECT_EQ(
      webhookCounter(R"(remora_webhook_connections_refused_total{reason="handshake_timeout"})"), 6);
  EXPECT_FALSE(cp_.get("/v1/status").empty());
  EXPECT_EQ(status(postReview(review_file_)), "200");
}

TEST_F(WebhookTransportTest, GivenCertificateFilesAreServed) {
  const std::string openssl = programPath("openssl");
  ASSERT_FALSE(openssl.empty()) << "openssl is not installed (scripts/setup.sh installs it)";
  const std::string crt = dir_.file("given.crt");
  const std::string key = dir_.file("given.key");
  const RunResult made =
      runToExit(dir_, "openssl",
                {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                 "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", crt},
                15000ms);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ca_file_ = dir_.file("given-ca-out.pem");
  startControl({"--webhook-cert", crt, "--webhook-key", key, "--webhook-ca", crt,
                "--webhook-ca-out", ca_file_});
  EXPECT_EQ(readFile(ca_file_), readFile(crt));
  const RunResult r = postReview(review_file_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status(r), "200");
}

TEST_F(WebhookTransportTest, BadCertificateOrFlagsExitWithTheReason) {
  const auto generated = [this](std::vector<std::string> flags) {
    std::vector<std::string> argv = {controlBin(),  "--manifests", manifests_,   "--xds",
                                     "127.0.0.1:0", "--http",      "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return runToExit(dir_, "bad" + std::to_string(++curls_), argv, 10000ms);
  };
  const std::string text = dir_.write("not-a-key.pem", "hello\n");
  RunResult r =
      generated({"--webhook", "127.0.0.1:0", "--webhook-cert", text, "--webhook-key", text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("certificate file " + text + ": no PEM certificate"), std::string::npos)
      << r.err;
  r = generated({"--webhook-cert", text, "--webhook-key", text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--webhook-cert needs --webhook ADDR"), std::string::npos) << r.err;
  r = generated({"--webhook", "127.0.0.1:0", "--webhook-cert", text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--webhook-cert and --webhook-key go together"), std::string::npos) << r.err;
  r = generated({"--webhook", "127.0.0.1:0", "--webhook-san", "no such name"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'no such name' is neither an IP address nor a DNS name"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace remora::test
