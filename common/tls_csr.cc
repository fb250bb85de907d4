#include "common/tls_csr.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace remora::common {

namespace {

struct ReqFree {
  void operator()(X509_REQ* r) const noexcept { X509_REQ_free(r); }
};
struct ExtensionsFree {
  void operator()(STACK_OF(X509_EXTENSION) * e) const noexcept {
    sk_X509_EXTENSION_pop_free(e, X509_EXTENSION_free);
  }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
using ReqPtr = std::unique_ptr<X509_REQ, ReqFree>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

Status openSslFailure(const std::string& step) {
  return Status::internal("CSR: " + step + ": " + takeOpenSslErrors());
}

// The keys a workload may use: EC on P-256 or P-384, or RSA of at least 2048 bits.
Status checkKey(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) != 1) {
      ERR_clear_error();
      return Status::invalid("CSR: the EC key has no named curve");
    }
    const std::string_view name(group, len);
    if (name != "prime256v1" && name != "P-256" && name != "secp384r1" && name != "P-384") {
      return Status::invalid("CSR: EC curve " + std::string(name) + " is not P-256 or P-384");
    }
    return Status::ok();
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < 2048) {
      return Status::invalid("CSR: RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                             " bits (2048 at least)");
    }
    return Status::ok();
  }
  return Status::invalid("CSR: the key is neither EC nor RSA");
}

}  // namespace

Result<std::string> makeCsr(EVP_PKEY* key, const SpiffeId& id) {
  ERR_clear_error();
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1) {
    return openSslFailure("request");
  }
  // The identity is the URI SAN; the subject only says what issued the request.
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  const auto* o = reinterpret_cast<const unsigned char*>("remora");
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0) != 1) {
    return openSslFailure("subject");
  }
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(sk_GENERAL_NAME_new_null());
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
  const std::string text = id.uri();
  if (!sans || gn == nullptr || uri == nullptr ||
      ASN1_STRING_set(uri, text.data(), static_cast<int>(text.size())) != 1) {
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(uri);
    return openSslFailure("subjectAltName");
  }
  GENERAL_NAME_set0_value(gn, GEN_URI, uri);
  if (sk_GENERAL_NAME_push(sans.get(), gn) <= 0) {
    GENERAL_NAME_free(gn);
    return openSslFailure("subjectAltName");
  }
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionsFree> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get());
  if (!exts || ext == nullptr || sk_X509_EXTENSION_push(exts.get(), ext) <= 0) {
    X509_EXTENSION_free(ext);
    return openSslFailure("subjectAltName");
  }
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return openSslFailure("signature");
  }
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  char* data = nullptr;
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return openSslFailure("PEM");
  }
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<CsrContents> parseCsr(std::string_view pem) {
  if (pem.size() > kMaxCsrPemBytes) {
    return Status::invalid("CSR: larger than 16 KiB");
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) {
    return openSslFailure("reading");
  }
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return Status::invalid("CSR: not a PEM certificate request");
  }
  CsrContents out;
  out.public_key.reset(X509_REQ_get_pubkey(req.get()));
  if (!out.public_key) {
    ERR_clear_error();
    return Status::invalid("CSR: no readable public key");
  }
  if (Status s = checkKey(out.public_key.get()); !s.isOk()) {
    return s;
  }
  if (X509_REQ_verify(req.get(), out.public_key.get()) != 1) {
    ERR_clear_error();
    return Status::invalid("CSR: the signature does not verify with its own key");
  }
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionsFree> exts(
      X509_REQ_get_extensions(req.get()));
  ERR_clear_error();  // (no extensions at all is not an error)
  if (exts) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
      X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
      if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) {
        continue;
      }
      std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
          static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
      if (!names) {
        ERR_clear_error();
        return Status::invalid("CSR: unreadable subjectAltName");
      }
      for (int k = 0; k < sk_GENERAL_NAME_num(names.get()); ++k) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), k);
        if (gn->type == GEN_URI) {
          const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
          out.uri_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<size_t>(ASN1_STRING_length(s)));
        }
      }
    }
  }
  return out;
}

}  // namespace remora::common
