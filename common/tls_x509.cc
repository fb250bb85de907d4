#include "common/tls_x509.h"

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

namespace remora::common {

namespace {

constexpr size_t kMaxPemFileBytes = 1024 * 1024;

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
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

Status openSslFailure(const std::string& step) {
  return Status::internal("certificate: " + step + ": " + takeOpenSslErrors());
}

// The subjectAltName extension's value for `sans`.
Result<GeneralNamesPtr> generalNames(const std::vector<SubjectAltName>& sans) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return openSslFailure("subjectAltName");
  }
  for (const SubjectAltName& san : sans) {
    std::unique_ptr<GENERAL_NAME, decltype(&GENERAL_NAME_free)> gn(GENERAL_NAME_new(),
                                                                   GENERAL_NAME_free);
    if (!gn) {
      return openSslFailure("subjectAltName");
    }
    if (san.kind == SubjectAltName::Kind::kIp) {
      std::unique_ptr<ASN1_OCTET_STRING, AsnOctetsFree> ip(a2i_IPADDRESS(san.value.c_str()));
      if (!ip) {
        ERR_clear_error();
        return Status::invalid("certificate: '" + san.value + "' is not an IP address");
      }
      GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
    } else {
      ASN1_IA5STRING* text = ASN1_IA5STRING_new();
      if (text == nullptr ||
          ASN1_STRING_set(text, san.value.data(), static_cast<int>(san.value.size())) != 1) {
        ASN1_IA5STRING_free(text);
        return openSslFailure("subjectAltName");
      }
      GENERAL_NAME_set0_value(gn.get(), san.kind == SubjectAltName::Kind::kUri ? GEN_URI : GEN_DNS,
                              text);
    }
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      return openSslFailure("subjectAltName");
    }
    gn.release();  // owned by `names` now
  }
  return names;
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

// The extensions of `spec`'s certificate. The key identifiers come first: the authority key
// identifier is read from them.
std::vector<ExtensionSpec> extensionsFor(const CertificateSpec& spec, std::string& constraints) {
  std::vector<ExtensionSpec> out = {{NID_subject_key_identifier, "hash"},
                                    {NID_authority_key_identifier, "keyid:always"}};
  if (spec.ca) {
    constraints = "critical,CA:TRUE,pathlen:" + std::to_string(spec.path_len);
    out.push_back({NID_basic_constraints, constraints.c_str()});
    out.push_back({NID_key_usage, "critical,keyCertSign,cRLSign"});
    return out;
  }
  out.push_back({NID_basic_constraints, "critical,CA:FALSE"});
  out.push_back({NID_key_usage, "critical,digitalSignature"});
  out.push_back({NID_ext_key_usage, spec.server_auth && spec.client_auth ? "serverAuth,clientAuth"
                                    : spec.client_auth                   ? "clientAuth"
                                                                         : "serverAuth"});
  return out;
}

}  // namespace

bool isDnsName(std::string_view name) noexcept {
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

Result<SubjectAltName> hostSubjectAltName(const std::string& name) {
  std::unique_ptr<ASN1_OCTET_STRING, AsnOctetsFree> ip(a2i_IPADDRESS(name.c_str()));
  if (ip) {
    return SubjectAltName{SubjectAltName::Kind::kIp, name};
  }
  ERR_clear_error();  // not an IP address: a DNS name then
  if (!isDnsName(name)) {
    return Status::invalid("'" + name + "' is neither an IP address nor a DNS name");
  }
  return SubjectAltName{SubjectAltName::Kind::kDns, name};
}

Result<EvpPkeyPtr> newP256Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) {
    return openSslFailure("EC P-256 key generation");
  }
  return key;
}

Result<X509Ptr> issueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  if (spec.ca && (spec.path_len < 0 || spec.path_len > 8)) {
    return Status::invalid("certificate: a CA's path length must be 0 to 8");
  }
  if (spec.valid_seconds <= 0) {
    return Status::invalid("certificate: the validity must be positive");
  }
  if (!spec.ca && !spec.server_auth && !spec.client_auth) {
    return Status::invalid("certificate: a leaf certificate needs serverAuth or clientAuth");
  }
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
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -spec.backdate_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.valid_seconds) == nullptr) {
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
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return openSslFailure("issuer or public key");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  std::string constraints;  // (the text extensionsFor's basicConstraints points into)
  for (const ExtensionSpec& e : extensionsFor(spec, constraints)) {
    if (Status s = addExtension(cert.get(), &ctx, e.nid, e.value); !s.isOk()) {
      return s;
    }
  }
  if (!spec.sans.empty()) {
    auto names = generalNames(spec.sans);
    if (!names.isOk()) {
      return names.status();
    }
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.value().get(), 0,
                          X509V3_ADD_DEFAULT) != 1) {
      return openSslFailure("extension subjectAltName");
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return openSslFailure("signature");
  }
  return cert;
}

Status verifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                   CertificateUse use) {
  if (chain.empty()) {
    return Status::invalid("no certificate to verify");
  }
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), CertStackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted) {
    return openSslFailure("verification");
  }
  for (const X509Ptr& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return openSslFailure("CA certificate");
    }
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) {
      return openSslFailure("verification");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1) {
    return openSslFailure("verification");
  }
  if (use != CertificateUse::kAny &&
      X509_STORE_CTX_set_purpose(ctx.get(), use == CertificateUse::kTlsServer
                                                ? X509_PURPOSE_SSL_SERVER
                                                : X509_PURPOSE_SSL_CLIENT) != 1) {
    return openSslFailure("verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    ERR_clear_error();
    return Status::invalid(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return Status::ok();
}

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

}  // namespace remora::common
