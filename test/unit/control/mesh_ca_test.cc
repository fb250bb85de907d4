// The mesh CA: workload certificates verified with OpenSSL for both TLS uses, the identity
// checks, lifetimes, a given intermediate, the --ca-dir files, and extra roots for rotation.
#include "control/mesh_ca.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/tls_csr.h"
#include "common/tls_x509.h"

namespace remora::control {
namespace {

using common::X509Ptr;

common::SpiffeId identity(const std::string& sa = "frontend",
                          const std::string& td = "cluster.local") {
  return common::makeSpiffeId(td, "shop", sa).value();
}

std::string csrFor(const common::SpiffeId& id) {
  auto key = common::newP256Key();
  EXPECT_TRUE(key.isOk());
  return common::makeCsr(key.value().get(), id).value();
}

std::vector<X509Ptr> certs(const std::string& pem) {
  auto c = common::parsePemCertificates(pem);
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return c.isOk() ? std::move(c.value()) : std::vector<X509Ptr>{};
}

std::vector<std::string> uriSans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_URI) {
      const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/remora-meshca-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const char* f : {"ca.crt", "ca.key", "roots.pem", "int.crt", "int.key"}) {
      std::remove((path + "/" + f).c_str());
    }
    rmdir(path.c_str());
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
  std::string path;
};

TEST(MeshCa, SignsAWorkloadCertificateBothTlsUsesVerify) {
  auto ca = MeshCa::generate("cluster.local");
  ASSERT_TRUE(ca.isOk()) << ca.status().message();
  auto issued = ca.value()->sign(csrFor(identity()), identity(), 24 * 3600);
  ASSERT_TRUE(issued.isOk()) << issued.status().message();
  std::vector<X509Ptr> chain = certs(issued.value().chain_pem);
  ASSERT_EQ(chain.size(), 1u);  // a generated root is not sent along
  std::vector<X509Ptr> roots = certs(ca.value()->trustBundlePem());
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_TRUE(common::verifyChain(chain, roots, common::CertificateUse::kTlsClient).isOk());
  EXPECT_TRUE(common::verifyChain(chain, roots, common::CertificateUse::kTlsServer).isOk());
  EXPECT_EQ(uriSans(chain[0].get()),
            std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/frontend"});
  EXPECT_EQ(X509_check_ca(chain[0].get()), 0);
  // 24 h from five minutes ago.
  EXPECT_EQ(issued.value().not_after - issued.value().not_before, 24 * 3600 + 300);
  EXPECT_NEAR(static_cast<double>(issued.value().not_before),
              static_cast<double>(time(nullptr) - 300), 5.0);
  // Another CA's root does not verify it.
  auto other = MeshCa::generate("cluster.local");
  ASSERT_TRUE(other.isOk());
  EXPECT_FALSE(common::verifyChain(chain, certs(other.value()->trustBundlePem()),
                                   common::CertificateUse::kTlsClient)
                   .isOk());
}

TEST(MeshCa, RefusesAnotherIdentityAnotherTrustDomainAndBadRequests) {
  auto ca = MeshCa::generate("cluster.local");
  ASSERT_TRUE(ca.isOk());
  auto other = ca.value()->sign(csrFor(identity("admin")), identity("frontend"));
  ASSERT_FALSE(other.isOk());
  EXPECT_NE(other.status().message().find("asks for spiffe://cluster.local/ns/shop/sa/admin"),
            std::string::npos)
      << other.status().message();
  auto foreign = ca.value()->sign(csrFor(identity("frontend", "example.org")),
                                  identity("frontend", "example.org"));
  ASSERT_FALSE(foreign.isOk());
  EXPECT_NE(foreign.status().message().find("not in trust domain cluster.local"),
            std::string::npos);
  EXPECT_FALSE(ca.value()->sign("not a CSR", identity()).isOk());
  EXPECT_FALSE(MeshCa::generate("Bad Domain").isOk());
}

TEST(MeshCa, LifetimeHasAFloorAndNeverOutlivesTheSigningCertificate) {
  auto ca = MeshCa::generate("cluster.local");
  ASSERT_TRUE(ca.isOk());
  auto short_ttl = ca.value()->sign(csrFor(identity()), identity(), 1);
  ASSERT_TRUE(short_ttl.isOk());
  EXPECT_EQ(short_ttl.value().not_after - short_ttl.value().not_before,
            MeshCa::kMinCertTtlSeconds + 300);

  // An intermediate with two hours left signs for at most two hours.
  TempDir dir;
  auto root_key = common::newP256Key().value();
  common::CertificateSpec root_spec;
  root_spec.ca = true;
  root_spec.common_name = "test root";
  root_spec.path_len = 1;
  auto root = common::issueCertificate(root_spec, root_key.get(), nullptr, root_key.get());
  ASSERT_TRUE(root.isOk());
  auto int_key = common::newP256Key().value();
  common::CertificateSpec int_spec;
  int_spec.ca = true;
  int_spec.common_name = "test intermediate";
  int_spec.valid_seconds = 2 * 3600;
  auto inter =
      common::issueCertificate(int_spec, int_key.get(), root.value().get(), root_key.get());
  ASSERT_TRUE(inter.isOk());
  const std::string cert_file =
      dir.write("int.crt", common::certificateToPem(inter.value().get()).value() +
                               common::certificateToPem(root.value().get()).value());
  const std::string key_file = dir.write("int.key", common::privateKeyToPem(int_key.get()).value());
  auto given = MeshCa::load(cert_file, key_file, "cluster.local");
  ASSERT_TRUE(given.isOk()) << given.status().message();
  auto issued = given.value()->sign(csrFor(identity()), identity(), 24 * 3600);
  ASSERT_TRUE(issued.isOk()) << issued.status().message();
  EXPECT_LE(issued.value().not_after, time(nullptr) + 2 * 3600 + 5);
  // The chain sent along: the workload certificate, then the intermediate; the root is the
  // trust bundle.
  std::vector<X509Ptr> chain = certs(issued.value().chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(X509_cmp(chain[1].get(), inter.value().get()), 0);
  std::vector<X509Ptr> roots = certs(given.value()->trustBundlePem());
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(X509_cmp(roots[0].get(), root.value().get()), 0);
  common::Status verified = common::verifyChain(chain, roots, common::CertificateUse::kTlsClient);
  EXPECT_TRUE(verified.isOk()) << verified.message();
}

TEST(MeshCa, LoadNamesTheFileAndTheCheckThatFailed) {
  TempDir dir;
  auto key = common::newP256Key().value();
  auto other_key = common::newP256Key().value();
  common::CertificateSpec ca_spec;
  ca_spec.ca = true;
  auto ca_cert = common::issueCertificate(ca_spec, key.get(), nullptr, key.get()).value();
  common::CertificateSpec leaf_spec;
  leaf_spec.sans.push_back({common::SubjectAltName::Kind::kDns, "x.test"});
  auto leaf =
      common::issueCertificate(leaf_spec, other_key.get(), ca_cert.get(), key.get()).value();
  const std::string ca_file = dir.write("ca.crt", common::certificateToPem(ca_cert.get()).value());
  const std::string key_file = dir.write("ca.key", common::privateKeyToPem(key.get()).value());
  const std::string wrong_key =
      dir.write("int.key", common::privateKeyToPem(other_key.get()).value());
  const std::string leaf_file = dir.write("int.crt", common::certificateToPem(leaf.get()).value());

  EXPECT_TRUE(MeshCa::load(ca_file, key_file, "cluster.local").isOk());
  auto mismatch = MeshCa::load(ca_file, wrong_key, "cluster.local");
  ASSERT_FALSE(mismatch.isOk());
  EXPECT_NE(mismatch.status().message().find("does not match"), std::string::npos);
  auto not_ca = MeshCa::load(leaf_file, wrong_key, "cluster.local");
  ASSERT_FALSE(not_ca.isOk());
  EXPECT_NE(not_ca.status().message().find("not a CA"), std::string::npos);
  auto missing = MeshCa::load(dir.path + "/nope.crt", key_file, "cluster.local");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("nope.crt: cannot open"), std::string::npos);
}

TEST(MeshCa, CaDirKeepsTheRootAcrossRestartsAndAddsRootsForRotation) {
  TempDir dir;
  auto first = MeshCa::loadOrCreate(dir.path, "cluster.local");
  ASSERT_TRUE(first.isOk()) << first.status().message();
  struct stat st {};
  ASSERT_EQ(stat((dir.path + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = MeshCa::loadOrCreate(dir.path, "cluster.local");
  ASSERT_TRUE(again.isOk()) << again.status().message();
  EXPECT_EQ(again.value()->trustBundlePem(), first.value()->trustBundlePem());
  // A certificate signed before the restart verifies with the bundle after it.
  auto before = first.value()->sign(csrFor(identity()), identity()).value();
  EXPECT_TRUE(common::verifyChain(certs(before.chain_pem), certs(again.value()->trustBundlePem()),
                                  common::CertificateUse::kTlsServer)
                  .isOk());

  // Rotation: the old root stays trusted (roots.pem) while a new root signs.
  const std::string old_root = first.value()->trustBundlePem();
  std::remove((dir.path + "/ca.crt").c_str());
  std::remove((dir.path + "/ca.key").c_str());
  dir.write("roots.pem", old_root);
  auto rotated = MeshCa::loadOrCreate(dir.path, "cluster.local");
  ASSERT_TRUE(rotated.isOk()) << rotated.status().message();
  std::vector<X509Ptr> bundle = certs(rotated.value()->trustBundlePem());
  ASSERT_EQ(bundle.size(), 2u);
  auto after = rotated.value()->sign(csrFor(identity()), identity()).value();
  EXPECT_TRUE(
      common::verifyChain(certs(before.chain_pem), bundle, common::CertificateUse::kTlsClient)
          .isOk());
  EXPECT_TRUE(
      common::verifyChain(certs(after.chain_pem), bundle, common::CertificateUse::kTlsClient)
          .isOk());

  // Half a CA is refused rather than replaced.
  std::remove((dir.path + "/ca.key").c_str());
  auto half = MeshCa::loadOrCreate(dir.path, "cluster.local");
  ASSERT_FALSE(half.isOk());
  EXPECT_NE(half.status().message().find("ca.key is missing"), std::string::npos);
}

}  // namespace
}  // namespace remora::control
