#include "control/webhook_certs.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <string_view>

#include "common/tls_pem.h"
#include "common/tls_x509.h"

namespace remora::control {

using common::CertificateSpec;
using common::Result;
using common::Status;
using common::SubjectAltName;

namespace {

// Reads the PEM file `path` into `text` and parses it with `parse`; errors start with `what`
// and the path.
template <typename T>
Result<T> loadPem(const std::string& what, const std::string& path,
                  Result<T> (*parse)(std::string_view), std::string& text) {
  auto read = common::readPemFile(what, path);
  if (!read.isOk()) {
    return read.status();
  }
  text = std::move(read.value());
  auto parsed = parse(text);
  if (!parsed.isOk()) {
    return Status::invalid(what + " " + path + ": " + parsed.status().message());
  }
  return parsed;
}

// "webhook certificate: ..." for an error of common/tls_x509.h.
Status withPrefix(const Status& s) {
  constexpr std::string_view kTheirs = "certificate: ";
  std::string_view m = s.message();
  if (m.substr(0, kTheirs.size()) == kTheirs) {
    m.remove_prefix(kTheirs.size());
  }
  return Status(s.code(), "webhook certificate: " + std::string(m));
}

}  // namespace

std::vector<std::string> defaultWebhookSans() {
  return {"remora-control.remora-system.svc", "remora-control.remora-system.svc.cluster.local",
          "remora-control.remora-system"};
}

Result<WebhookCertificate> generateWebhookCertificate(const std::vector<std::string>& sans,
                                                      int valid_days) {
  if (sans.empty()) {
    return Status::invalid("webhook certificate: no name (SAN) to issue it for");
  }
  if (valid_days <= 0) {
    return Status::invalid("webhook certificate: validity must be at least a day");
  }
  ERR_clear_error();
  CertificateSpec leaf_spec;
  leaf_spec.valid_seconds = int64_t{valid_days} * 86400;
  leaf_spec.common_name = sans.front();
  for (const std::string& san : sans) {
    auto name = common::hostSubjectAltName(san);
    if (!name.isOk()) {
      return withPrefix(name.status());
    }
    leaf_spec.sans.push_back(std::move(name.value()));
  }
  for (const SubjectAltName& san : leaf_spec.sans) {
    if (san.kind == SubjectAltName::Kind::kDns) {
      leaf_spec.common_name = san.value;  // the first DNS name, else the first address
      break;
    }
  }
  auto ca_key = common::newP256Key();
  if (!ca_key.isOk()) {
    return withPrefix(ca_key.status());
  }
  auto key = common::newP256Key();
  if (!key.isOk()) {
    return withPrefix(key.status());
  }
  CertificateSpec ca_spec;
  ca_spec.common_name = "remora webhook CA";
  ca_spec.ca = true;
  ca_spec.valid_seconds = leaf_spec.valid_seconds;
  auto ca = common::issueCertificate(ca_spec, ca_key.value().get(), nullptr, ca_key.value().get());
  if (!ca.isOk()) {
    return withPrefix(ca.status());
  }
  auto leaf = common::issueCertificate(leaf_spec, key.value().get(), ca.value().get(),
                                       ca_key.value().get());
  if (!leaf.isOk()) {
    return withPrefix(leaf.status());
  }
  auto chain = common::certificateToPem(leaf.value().get());
  auto bundle = common::certificateToPem(ca.value().get());
  auto key_pem = common::privateKeyToPem(key.value().get());
  if (!chain.isOk() || !bundle.isOk() || !key_pem.isOk()) {
    return Status::internal("webhook certificate: PEM encoding failed");
  }
  WebhookCertificate out;
  out.chain_pem = std::move(chain.value());
  out.key_pem = std::move(key_pem.value());
  out.ca_bundle_pem = std::move(bundle.value());
  out.generated = true;
  return out;
}

Result<WebhookCertificate> loadWebhookCertificate(const std::string& cert_file,
                                                  const std::string& key_file,
                                                  const std::string& ca_file) {
  WebhookCertificate out;
  auto chain = loadPem("certificate file", cert_file, common::parsePemCertificates, out.chain_pem);
  if (!chain.isOk()) {
    return chain.status();
  }
  auto key = loadPem("key file", key_file, common::parsePemPrivateKey, out.key_pem);
  if (!key.isOk()) {
    return key.status();
  }
  X509* leaf = chain.value().front().get();
  if (X509_check_private_key(leaf, key.value().get()) != 1) {
    ERR_clear_error();
    return Status::invalid("key file " + key_file + ": does not match the (first) certificate of " +
                           cert_file);
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    return Status::invalid("certificate file " + cert_file + ": expired on " +
                           common::asn1TimeText(X509_get0_notAfter(leaf)));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    return Status::invalid("certificate file " + cert_file + ": not valid before " +
                           common::asn1TimeText(X509_get0_notBefore(leaf)));
  }
  if (!ca_file.empty()) {
    auto cas = loadPem("CA file", ca_file, common::parsePemCertificates, out.ca_bundle_pem);
    if (!cas.isOk()) {
      return cas.status();
    }
    if (Status s =
            common::verifyChain(chain.value(), cas.value(), common::CertificateUse::kTlsServer);
        !s.isOk()) {
      return Status::invalid("certificate file " + cert_file + " does not verify against CA file " +
                             ca_file + ": " + s.message());
    }
  }
  return out;
}

}  // namespace remora::control
