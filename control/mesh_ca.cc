#include "control/mesh_ca.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/atomic_file.h"
#include "common/tls_csr.h"
#include "common/tls_x509.h"

namespace remora::control {

using common::Result;
using common::Status;

namespace {

constexpr int64_t kRootValidSeconds = 10LL * 365 * 86400;
// Issued certificates start this long before now: a peer whose clock is a little behind
// accepts them at once.
constexpr int64_t kBackdateSeconds = 300;

bool selfSigned(X509* cert) noexcept {
  return (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
}

// Seconds from now to `t` (negative when past).
int64_t secondsUntil(const ASN1_TIME* t) noexcept {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, t) != 1) {
    ERR_clear_error();
    return 0;
  }
  return int64_t{days} * 86400 + secs;
}

int64_t unixTime(const ASN1_TIME* t) noexcept {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return 0;
  }
  return static_cast<int64_t>(timegm(&tm));
}

Result<std::string> pemOf(const std::vector<common::X509Ptr>& certs, bool skip_self_signed) {
  std::string out;
  for (const common::X509Ptr& c : certs) {
    if (skip_self_signed && selfSigned(c.get())) {
      continue;
    }
    auto pem = common::certificateToPem(c.get());
    if (!pem.isOk()) {
      return pem.status();
    }
    out += pem.value();
  }
  return out;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

MeshCa::~MeshCa() = default;

Status MeshCa::finish() {
  auto chain = pemOf(chain_, true);
  auto bundle = pemOf(roots_, false);
  if (!chain.isOk() || !bundle.isOk()) {
    return Status::internal("mesh CA: PEM encoding failed");
  }
  chain_pem_ = std::move(chain.value());
  bundle_pem_ = std::move(bundle.value());
  return Status::ok();
}

Result<std::unique_ptr<MeshCa>> MeshCa::generate(const std::string& trust_domain) {
  if (Status s = common::checkTrustDomain(trust_domain); !s.isOk()) {
    return Status::invalid("mesh CA: " + s.message());
  }
  ERR_clear_error();
  auto key = common::newP256Key();
  if (!key.isOk()) {
    return key.status();
  }
  common::CertificateSpec spec;
  spec.common_name = ("remora mesh root " + trust_domain).substr(0, 64);
  spec.ca = true;
  spec.valid_seconds = kRootValidSeconds;
  auto root = common::issueCertificate(spec, key.value().get(), nullptr, key.value().get());
  if (!root.isOk()) {
    return root.status();
  }
  std::unique_ptr<MeshCa> ca(new MeshCa);
  ca->trust_domain_ = trust_domain;
  ca->key_ = std::move(key.value());
  ca->roots_.push_back(common::X509Ptr(X509_dup(root.value().get())));
  ca->chain_.push_back(std::move(root.value()));
  if (Status s = ca->finish(); !s.isOk()) {
    return s;
  }
  return ca;
}

Result<std::unique_ptr<MeshCa>> MeshCa::load(const std::string& cert_file,
                                             const std::string& key_file,
                                             const std::string& trust_domain) {
  if (Status s = common::checkTrustDomain(trust_domain); !s.isOk()) {
    return Status::invalid("mesh CA: " + s.message());
  }
  ERR_clear_error();
  auto cert_text = common::readPemFile("CA certificate file", cert_file);
  if (!cert_text.isOk()) {
    return cert_text.status();
  }
  auto chain = common::parsePemCertificates(cert_text.value());
  if (!chain.isOk()) {
    return Status::invalid("CA certificate file " + cert_file + ": " + chain.status().message());
  }
  auto key_text = common::readPemFile("CA key file", key_file);
  if (!key_text.isOk()) {
    return key_text.status();
  }
  auto key = common::parsePemPrivateKey(key_text.value());
  if (!key.isOk()) {
    return Status::invalid("CA key file " + key_file + ": " + key.status().message());
  }
  X509* signer = chain.value().front().get();
  if (X509_check_private_key(signer, key.value().get()) != 1) {
    ERR_clear_error();
    return Status::invalid("CA key file " + key_file +
                           ": does not match the (first) certificate of " + cert_file);
  }
  if (X509_check_ca(signer) < 1) {
    return Status::invalid("CA certificate file " + cert_file +
                           ": the (first) certificate is not a CA (basicConstraints CA:TRUE)");
  }
  if (secondsUntil(X509_get0_notAfter(signer)) <= 0) {
    return Status::invalid("CA certificate file " + cert_file + ": expired on " +
                           common::asn1TimeText(X509_get0_notAfter(signer)));
  }
  if (secondsUntil(X509_get0_notBefore(signer)) > 0) {
    return Status::invalid("CA certificate file " + cert_file + ": not valid before " +
                           common::asn1TimeText(X509_get0_notBefore(signer)));
  }
  std::unique_ptr<MeshCa> ca(new MeshCa);
  ca->trust_domain_ = trust_domain;
  ca->key_ = std::move(key.value());
  X509* root = chain.value().back().get();
  if (!selfSigned(root)) {
    root = signer;  // no root in the file: workloads trust the signing certificate itself
  }
  ca->roots_.push_back(common::X509Ptr(X509_dup(root)));
  ca->chain_ = std::move(chain.value());
  if (ca->chain_.size() > 1) {
    if (Status s = common::verifyChain(ca->chain_, ca->roots_, common::CertificateUse::kAny);
        !s.isOk()) {
      return Status::invalid("CA certificate file " + cert_file +
                             ": the chain does not verify up to its root: " + s.message());
    }
  }
  if (Status s = ca->finish(); !s.isOk()) {
    return s;
  }
  return ca;
}

Result<std::unique_ptr<MeshCa>> MeshCa::loadOrCreate(const std::string& dir,
                                                     const std::string& trust_domain) {
  const std::string cert_file = dir + "/ca.crt";
  const std::string key_file = dir + "/ca.key";
  const bool have_cert = fileExists(cert_file);
  const bool have_key = fileExists(key_file);
  Result<std::unique_ptr<MeshCa>> ca = Status::internal("unset");
  if (have_cert && have_key) {
    ca = load(cert_file, key_file, trust_domain);
  } else if (have_cert || have_key) {
    return Status::invalid("CA directory " + dir + ": " + (have_cert ? key_file : cert_file) +
                           " is missing (both or neither: a new root is generated only when "
                           "neither is there)");
  } else {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::unavailable("CA directory " + dir +
                                 ": cannot create: " + std::strerror(errno));
    }
    ca = generate(trust_domain);
    if (!ca.isOk()) {
      return ca.status();
    }
    auto key_pem = common::privateKeyToPem(ca.value()->key_.get());
    if (!key_pem.isOk()) {
      return key_pem.status();
    }
    // The key first: a directory left with a certificate and no key is refused above.
    if (Status s = common::writeFileAtomically(key_file, key_pem.value(), 0600); !s.isOk()) {
      return Status::unavailable("CA directory " + dir + ": " + s.message());
    }
    if (Status s = common::writeFileAtomically(cert_file, ca.value()->bundle_pem_); !s.isOk()) {
      return Status::unavailable("CA directory " + dir + ": " + s.message());
    }
  }
  if (!ca.isOk()) {
    return ca.status();
  }
  const std::string roots_file = dir + "/roots.pem";
  if (fileExists(roots_file)) {
    auto text = common::readPemFile("trusted roots file", roots_file);
    if (!text.isOk()) {
      return text.status();
    }
    if (Status s = ca.value()->addTrustedRoots(text.value()); !s.isOk()) {
      return Status::invalid("trusted roots file " + roots_file + ": " + s.message());
    }
  }
  return ca;
}

Status MeshCa::addTrustedRoots(std::string_view pem) {
  auto certs = common::parsePemCertificates(pem);
  if (!certs.isOk()) {
    return certs.status();
  }
  for (common::X509Ptr& c : certs.value()) {
    if (X509_check_ca(c.get()) < 1) {
      return Status::invalid("a certificate in the roots is not a CA");
    }
    const bool known = std::any_of(roots_.begin(), roots_.end(), [&](const common::X509Ptr& r) {
      return X509_cmp(r.get(), c.get()) == 0;
    });
    if (!known) {
      roots_.push_back(std::move(c));
    }
  }
  return finish();
}

Result<IssuedCertificate> MeshCa::sign(std::string_view csr_pem, const common::SpiffeId& identity,
                                       int64_t ttl_seconds) const {
  if (identity.trust_domain != trust_domain_) {
    return Status::invalid("identity " + identity.uri() + " is not in trust domain " +
                           trust_domain_);
  }
  auto csr = common::parseCsr(csr_pem);
  if (!csr.isOk()) {
    return csr.status();
  }
  const std::string uri = identity.uri();
  const std::vector<std::string>& asked = csr.value().uri_sans;
  if (asked.size() > 1 || (asked.size() == 1 && asked.front() != uri)) {
    std::string list;
    for (const std::string& a : asked) {
      list += (list.empty() ? "" : ", ") + a;
    }
    return Status::invalid("CSR asks for " + list + " but the caller proved " + uri);
  }
  X509* signer = chain_.front().get();
  const int64_t signer_left = secondsUntil(X509_get0_notAfter(signer));
  if (signer_left <= 0) {
    return Status::unavailable("mesh CA: the signing certificate expired on " +
                               common::asn1TimeText(X509_get0_notAfter(signer)));
  }
  common::CertificateSpec spec;
  spec.server_auth = true;
  spec.client_auth = true;
  spec.backdate_seconds = kBackdateSeconds;
  spec.valid_seconds = std::min(std::max(ttl_seconds, kMinCertTtlSeconds), signer_left);
  spec.sans.push_back({common::SubjectAltName::Kind::kUri, uri});
  ERR_clear_error();
  auto cert = common::issueCertificate(spec, csr.value().public_key.get(), signer, key_.get());
  if (!cert.isOk()) {
    return cert.status();
  }
  auto pem = common::certificateToPem(cert.value().get());
  if (!pem.isOk()) {
    return pem.status();
  }
  IssuedCertificate out;
  out.chain_pem = std::move(pem.value()) + chain_pem_;
  out.not_before = unixTime(X509_get0_notBefore(cert.value().get()));
  out.not_after = unixTime(X509_get0_notAfter(cert.value().get()));
  return out;
}

}  // namespace remora::control
