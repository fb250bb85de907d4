// Workload CSRs: made by the sidecar's side, parsed by the CA's, and every malformed or weak
// request refused with a reason.
#include "common/tls_csr.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "common/tls_x509.h"

namespace remora::common {
namespace {

SpiffeId frontend() {
  return makeSpiffeId("cluster.local", "shop", "frontend").value();
}

TEST(TlsCsr, ARequestCarriesItsKeyAndIdentity) {
  auto key = newP256Key();
  ASSERT_TRUE(key.isOk());
  auto csr = makeCsr(key.value().get(), frontend());
  ASSERT_TRUE(csr.isOk()) << csr.status().message();
  EXPECT_NE(csr.value().find("BEGIN CERTIFICATE REQUEST"), std::string::npos);
  auto parsed = parseCsr(csr.value());
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  ASSERT_EQ(parsed.value().uri_sans.size(), 1u);
  EXPECT_EQ(parsed.value().uri_sans[0], "spiffe://cluster.local/ns/shop/sa/frontend");
  EXPECT_EQ(EVP_PKEY_eq(parsed.value().public_key.get(), key.value().get()), 1);
}

TEST(TlsCsr, MalformedTamperedOversizedAndWeakRequestsAreRefused) {
  auto key = newP256Key();
  ASSERT_TRUE(key.isOk());
  std::string csr = makeCsr(key.value().get(), frontend()).value();

  EXPECT_FALSE(parseCsr("").isOk());
  EXPECT_FALSE(parseCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                        "REQUEST-----\n")
                   .isOk());
  auto big = parseCsr(csr + std::string(kMaxCsrPemBytes, '\n'));
  ASSERT_FALSE(big.isOk());
  EXPECT_NE(big.status().message().find("16 KiB"), std::string::npos);

  // One base64 character changed inside the body: a signature that no longer verifies, or a
  // structure that no longer parses; either way refused.
  std::string tampered = csr;
  const size_t at = tampered.find('\n') + 120;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(parseCsr(tampered).isOk());

  // A 1024-bit RSA key is too weak.
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
  ASSERT_TRUE(rsa);
  auto weak = parseCsr(makeCsr(rsa.get(), frontend()).value());
  ASSERT_FALSE(weak.isOk());
  EXPECT_NE(weak.status().message().find("1024 bits"), std::string::npos);
  // A curve other than P-256 / P-384.
  EvpPkeyPtr p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  ASSERT_TRUE(p521);
  auto odd = parseCsr(makeCsr(p521.get(), frontend()).value());
  ASSERT_FALSE(odd.isOk());
  EXPECT_NE(odd.status().message().find("curve"), std::string::npos);
}

}  // namespace
}  // namespace remora::common
