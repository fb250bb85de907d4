// The webhook's certificates: generated chains verified with OpenSSL's own X509_verify_cert,
// names checked with X509_check_host / X509_check_ip_asc, and the errors of loading files.

#include "control/webhook_certs.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/tls_pem.h"

namespace remora::control {
namespace {

using common::X509Ptr;

X509Ptr firstCert(const std::string& pem) {
  auto certs = common::parsePemCertificates(pem);
  EXPECT_TRUE(certs.isOk()) << certs.status().message();
  return certs.isOk() ? std::move(certs.value().front()) : nullptr;
}

// X509_verify_cert of `leaf` against the CA certificates of `ca_pem`, for TLS server use.
// Returns the verification error (X509_V_OK when it verifies).
int verify(X509* leaf, const std::string& ca_pem) {
  auto cas = common::parsePemCertificates(ca_pem);
  EXPECT_TRUE(cas.isOk());
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& ca : cas.value()) {
    X509_STORE_add_cert(store, ca.get());
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  const int ok = X509_verify_cert(ctx);
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? X509_V_ERR_UNSPECIFIED : err);
}

class TempFiles {
 public:
  TempFiles() {
    char tmpl[] = "/tmp/remora-certs-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TempFiles() {
    for (const std::string& f : files_) {
      std::remove(f.c_str());
    }
    rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
};

TEST(WebhookCertsTest, GeneratedChainVerifiesForEveryNameWithAMatchingP256Key) {
  std::vector<std::string> sans = defaultWebhookSans();
  sans.push_back("127.0.0.1");
  sans.push_back("::1");
  auto generated = generateWebhookCertificate(sans);
  ASSERT_TRUE(generated.isOk()) << generated.status().message();
  const WebhookCertificate& cert = generated.value();
  EXPECT_TRUE(cert.generated);
  X509Ptr leaf = firstCert(cert.chain_pem);
  X509Ptr ca = firstCert(cert.ca_bundle_pem);
  ASSERT_TRUE(leaf && ca);

  EXPECT_EQ(verify(leaf.get(), cert.ca_bundle_pem), X509_V_OK);
  for (const std::string& dns : defaultWebhookSans()) {
    EXPECT_EQ(X509_check_host(leaf.get(), dns.c_str(), dns.size(), 0, nullptr), 1) << dns;
  }
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(leaf.get(), "evil.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(leaf.get(), "10.0.0.1", 0), 0);

  auto key = common::parsePemPrivateKey(cert.key_pem);
  ASSERT_TRUE(key.isOk()) << key.status().message();
  EXPECT_EQ(X509_check_private_key(leaf.get(), key.value().get()), 1);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(key.value().get(), group, sizeof(group), nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  // Valid now, for about the requested year.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(leaf.get())), 0);
  int days = 0;
  int secs = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf.get()), X509_get0_notAfter(leaf.get())),
      1);
  EXPECT_EQ(days, 365);
}

TEST(WebhookCertsTest, EveryGenerationHasItsOwnCa) {
  auto a = generateWebhookCertificate({"webhook.test"});
  auto b = generateWebhookCertificate({"webhook.test"});
  ASSERT_TRUE(a.isOk() && b.isOk());
  X509Ptr leaf_a = firstCert(a.value().chain_pem);
  EXPECT_EQ(verify(leaf_a.get(), a.value().ca_bundle_pem), X509_V_OK);
  EXPECT_NE(verify(leaf_a.get(), b.value().ca_bundle_pem), X509_V_OK);
  EXPECT_NE(a.value().key_pem, b.value().key_pem);
}

TEST(WebhookCertsTest, ANameThatIsNeitherDnsNorIpIsRefusedByName) {
  auto bad = generateWebhookCertificate({"webhook.test", "bad name!"});
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("'bad name!'"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(generateWebhookCertificate({}).isOk());
  EXPECT_FALSE(generateWebhookCertificate({"-leading-dash.test"}).isOk());
  EXPECT_FALSE(generateWebhookCertificate({"a..b"}).isOk());
  EXPECT_TRUE(generateWebhookCertificate({"*.remora-system.svc"}).isOk());
}

TEST(WebhookCertsTest, LoadsWhatWasGeneratedAndChecksItAgainstTheCa) {
  auto generated = generateWebhookCertificate({"webhook.test"});
  ASSERT_TRUE(generated.isOk());
  TempFiles files;
  const std::string cert = files.write("tls.crt", generated.value().chain_pem);
  const std::string key = files.write("tls.key", generated.value().key_pem);
  const std::string ca = files.write("ca.crt", generated.value().ca_bundle_pem);
  auto loaded = loadWebhookCertificate(cert, key, ca);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().message();
  EXPECT_FALSE(loaded.value().generated);
  EXPECT_EQ(loaded.value().chain_pem, generated.value().chain_pem);
  EXPECT_EQ(loaded.value().ca_bundle_pem, generated.value().ca_bundle_pem);
  auto without_ca = loadWebhookCertificate(cert, key, "");
  ASSERT_TRUE(without_ca.isOk()) << without_ca.status().message();
  EXPECT_TRUE(without_ca.value().ca_bundle_pem.empty());
}

TEST(WebhookCertsTest, LoadErrorsNameTheFileAndWhatIsWrong) {
  auto a = generateWebhookCertificate({"webhook.test"});
  auto b = generateWebhookCertificate({"webhook.test"});
  ASSERT_TRUE(a.isOk() && b.isOk());
  TempFiles files;
  const std::string cert = files.write("tls.crt", a.value().chain_pem);
  const std::string key = files.write("tls.key", a.value().key_pem);
  const std::string other_key = files.write("other.key", b.value().key_pem);
  const std::string other_ca = files.write("other-ca.crt", b.value().ca_bundle_pem);
  const std::string junk = files.write("junk.pem", "hello\n");
  const std::string encrypted =
      files.write("enc.key",
                  "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0B"
                  "BQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n");
  const std::string missing = files.path("missing.crt");

  struct Case {
    std::string cert, key, ca, want;
  } cases[] = {
      {missing, key, "", "certificate file " + missing + ": cannot open: No such file"},
      {junk, key, "", "certificate file " + junk + ": no PEM certificate"},
      {key, key, "", "certificate file " + key + ": no PEM certificate"},
      {cert, cert, "", "key file " + cert + ": no PEM private key"},
      {cert, encrypted, "", "key file " + encrypted + ": the private key is encrypted"},
      {cert, other_key, "", "key file " + other_key + ": does not match the (first) certificate"},
      {cert, key, other_ca, "does not verify against CA file " + other_ca},
      {cert, key, junk, "CA file " + junk + ": no PEM certificate"},
  };
  for (const Case& c : cases) {
    auto r = loadWebhookCertificate(c.cert, c.key, c.ca);
    ASSERT_FALSE(r.isOk()) << c.want;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << "got: " << r.status().message() << "\nwant: " << c.want;
  }
}

TEST(WebhookCertsTest, AFileOverOneMibIsRefusedUnparsed) {
  TempFiles files;
  const std::string big = files.write("big.pem", std::string(1024 * 1024 + 1, 'A'));
  auto r = loadWebhookCertificate(big, big, "");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("larger than 1 MiB"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace remora::control
