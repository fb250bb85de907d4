#include "common/tls_pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>

namespace remora::common {

namespace {

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// A read-only memory BIO over `pem` (which must outlive it).
Result<BioPtr> readBio(std::string_view pem) {
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return Status::invalid("PEM text too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return Status::internal(takeOpenSslErrors("cannot allocate a memory BIO"));
  }
  return bio;
}

// True when the last error only says "no more PEM blocks" (the normal end of the input).
bool atPemEnd() noexcept {
  const unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// Never prompts: an encrypted key fails to load instead of asking on the terminal.
int noPassphrase(char*, int, int, void*) {
  return 0;
}

Result<std::string> bioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) {
    return Status::internal(takeOpenSslErrors("PEM encoding produced nothing"));
  }
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

std::string takeOpenSslErrors(std::string_view fallback) {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) {
      out += "; ";
    }
    if (reason != nullptr) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      out += buf;
    }
  }
  return out.empty() ? std::string(fallback) : out;
}

Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem) {
  ERR_clear_error();
  auto bio = readBio(pem);
  if (!bio.isOk()) {
    return bio.status();
  }
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.value().get(), nullptr, noPassphrase, nullptr));
    if (!cert) {
      if (atPemEnd()) {
        ERR_clear_error();
        break;
      }
      return Status::invalid("certificate " + std::to_string(certs.size() + 1) +
                             " is not valid PEM: " + takeOpenSslErrors());
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return Status::invalid("no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  }
  return certs;
}

Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem) {
  // OpenSSL's decoders report a text without any key block as "unsupported": say it plainly.
  if (pem.find("PRIVATE KEY-----") == std::string_view::npos) {
    return Status::invalid("no PEM private key (-----BEGIN PRIVATE KEY-----) found");
  }
  ERR_clear_error();
  auto bio = readBio(pem);
  if (!bio.isOk()) {
    return bio.status();
  }
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.value().get(), nullptr, noPassphrase, nullptr));
  if (!key) {
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
      ERR_clear_error();
      return Status::invalid("the private key is encrypted; give an unencrypted key");
    }
    return Status::invalid("the private key is not valid PEM: " + takeOpenSslErrors());
  }
  return key;
}

Result<std::string> certificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Status::internal(takeOpenSslErrors("cannot encode a certificate as PEM"));
  }
  return bioText(bio.get());
}

Result<std::string> privateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::internal(takeOpenSslErrors("cannot encode a private key as PEM"));
  }
  return bioText(bio.get());
}

}  // namespace remora::common
