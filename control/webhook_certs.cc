#include "control/webhook_certs.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>

#include "common/tls_pem.h"

namespace remora::control {

using common::EvpPkeyPtr;
using common::Result;
using common::Status;
using common::takeOpenSslErrors;
using common::X509Ptr;

namespace {

constexpr size_t kMaxPemFileBytes = 1024 * 1024;
constexpr long kBackdateSeconds = 3600;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
struct AsnOctetsFree {
  void operator()(ASN1_OCTET_STRING* s) const noexcept { ASN1_OCTET_STRING_free(s); }
};
struct BignumFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const noexcept { X509_STORE_CTX_free(c); }
};
struct CertStackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }  // not the certs
};

Status openSslFailure(const std::string& step) {
  return Status::internal("webhook certificate: " + step + ": " + takeOpenSslErrors());
}

// A DNS name as certificates carry it: labels of letters, digits and '-', an optional "*.".
bool validDnsName(const std::string& name) {
  std::string_view rest = name;
  if (rest.substr(0, 2) == "*.") {
    rest.remove_prefix(2);
  }
  if (rest.empty() || rest.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '.') {
      if (label == 0 || rest[i - 1] == '-') {
        return false;
      }
      label = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0)) {
      return false;
    }
    if (++label > 63) {
      return false;
    }
  }
  return label > 0 && rest.back() != '-';
}

// The subjectAltName entries for `sans`: IP addresses as IP SANs, the rest as DNS SANs.
Result<std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>> subjectAltNames(
    const std::vector<std::string>& sans) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return openSslFailure("subjectAltName");
  }
  for (const std::string& san : sans) {
    std::unique_ptr<GENERAL_NAME, decltype(&GENERAL_NAME_free)> gn(GENERAL_NAME_new(),
                                                                   GENERAL_NAME_free);
    if (!gn) {
      return openSslFailure("subjectAltName");
    }
    std::unique_ptr<ASN1_OCTET_STRING, AsnOctetsFree> ip(a2i_IPADDRESS(san.c_str()));
    if (ip) {
      GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
    } else {
      ERR_clear_error();  // not an IP address: a DNS name then
      if (!validDnsName(san)) {
        return Status::invalid("webhook certificate: '" + san +
                               "' is neither an IP address nor a DNS name");
      }
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, san.data(), static_cast<int>(san.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        return openSslFailure("subjectAltName");
      }
      GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      return openSslFailure("subjectAltName");
    }
    gn.release();  // owned by `names` now
  }
  return names;
}

Result<EvpPkeyPtr> newP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return openSslFailure("EC P-256 key generation");
  }
  return key;
}

// Adds an extension given in OpenSSL's config syntax ("critical,CA:TRUE").
Status addExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) {
    return openSslFailure(std::string("extension ") + OBJ_nid2sn(nid));
  }
  const int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return rc == 1 ? Status::ok() : openSslFailure(std::string("extension ") + OBJ_nid2sn(nid));
}

struct ExtensionSpec {
  int nid;
  const char* value;  // OpenSSL config syntax
};
// The key identifiers come first: the authority key identifier is read from them.
constexpr ExtensionSpec kCaExtensions[] = {
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
};
constexpr ExtensionSpec kLeafExtensions[] = {
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth"},
};

struct CertSpec {
  std::string common_name;
  bool ca = false;
  int valid_days = 365;
};

// A version 3 certificate for `key`, issued by `issuer` (nullptr: self-signed) and signed with
// `issuer_key` (SHA-256). `sans` may be null (the CA has none).
Result<X509Ptr> makeCertificate(const CertSpec& spec, EVP_PKEY* key, X509* issuer,
                                EVP_PKEY* issuer_key, GENERAL_NAMES* sans) {
  X509Ptr cert(X509_new());
  std::unique_ptr<BIGNUM, BignumFree> serial(BN_new());
  if (!cert || !serial) {
    return openSslFailure("allocation");
  }
  // A random positive 159-bit serial (RFC 5280: at most 20 octets, unique per issuer).
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return openSslFailure("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), spec.valid_days, 0, nullptr) == nullptr) {
    return openSslFailure("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* o = reinterpret_cast<const unsigned char*>("remora");
  const auto* cn = reinterpret_cast<const unsigned char*>(spec.common_name.c_str());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0) != 1 ||
      (!spec.common_name.empty() && spec.common_name.size() <= 64 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1)) {
    return openSslFailure("subject");
  }
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return openSslFailure("issuer or public key");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  const std::span<const ExtensionSpec> extensions =
      spec.ca ? std::span<const ExtensionSpec>(kCaExtensions)
              : std::span<const ExtensionSpec>(kLeafExtensions);
  for (const ExtensionSpec& e : extensions) {
    if (Status s = addExtension(cert.get(), &ctx, e.nid, e.value); !s.isOk()) {
      return s;
    }
  }
  if (sans != nullptr &&
      X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) {
    return openSslFailure("extension subjectAltName");
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return openSslFailure("signature");
  }
  return cert;
}

// Reads a whole PEM file of at most kMaxPemFileBytes; errors start with `what` and the path.
Result<std::string> readPemFile(const std::string& what, const std::string& path) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) {
    return Status::invalid(what + " " + path + ": cannot open: " + std::strerror(errno));
  }
  std::string text;
  char buf[16384];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxPemFileBytes) {
      return Status::invalid(what + " " + path + ": larger than 1 MiB, not a PEM file");
    }
  }
  if (std::ferror(f.get()) != 0) {
    return Status::invalid(what + " " + path + ": cannot read: " + std::strerror(errno));
  }
  return text;
}

// Reads the PEM file `path` into `text` and parses it with `parse`; errors start with `what`
// and the path.
template <typename T>
Result<T> loadPem(const std::string& what, const std::string& path,
                  Result<T> (*parse)(std::string_view), std::string& text) {
  auto read = readPemFile(what, path);
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

std::string asn1TimeText(const ASN1_TIME* t) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  char* data = nullptr;
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) {
    ERR_clear_error();
    return "an unreadable date";
  }
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string("an unreadable date");
}

// The chain [leaf, intermediates...] verifies against `cas` for TLS server use; the error
// names the verification failure.
Status verifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& cas) {
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), CertStackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted) {
    return openSslFailure("verification");
  }
  for (const X509Ptr& ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return openSslFailure("CA certificate");
    }
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) {
      return openSslFailure("verification");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER) != 1) {
    return openSslFailure("verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    ERR_clear_error();
    return Status::invalid(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return Status::ok();
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
  auto names = subjectAltNames(sans);
  if (!names.isOk()) {
    return names.status();
  }
  auto ca_key = newP256Key();
  if (!ca_key.isOk()) {
    return ca_key.status();
  }
  auto key = newP256Key();
  if (!key.isOk()) {
    return key.status();
  }
  auto ca = makeCertificate({"remora webhook CA", true, valid_days}, ca_key.value().get(), nullptr,
                            ca_key.value().get(), nullptr);
  if (!ca.isOk()) {
    return ca.status();
  }
  std::string common_name = sans.front();
  for (const std::string& san : sans) {
    if (validDnsName(san)) {
      common_name = san;
      break;
    }
  }
  auto leaf = makeCertificate({common_name, false, valid_days}, key.value().get(), ca.value().get(),
                              ca_key.value().get(), names.value().get());
  if (!leaf.isOk()) {
    return leaf.status();
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
                           asn1TimeText(X509_get0_notAfter(leaf)));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
    return Status::invalid("certificate file " + cert_file + ": not valid before " +
                           asn1TimeText(X509_get0_notBefore(leaf)));
  }
  if (!ca_file.empty()) {
    auto cas = loadPem("CA file", ca_file, common::parsePemCertificates, out.ca_bundle_pem);
    if (!cas.isOk()) {
      return cas.status();
    }
    if (Status s = verifyChain(chain.value(), cas.value()); !s.isOk()) {
      return Status::invalid("certificate file " + cert_file + " does not verify against CA file " +
                             ca_file + ": " + s.message());
    }
  }
  return out;
}

}  // namespace remora::control
