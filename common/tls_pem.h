#pragma once
// PEM in and out for OpenSSL objects, and OpenSSL's error queue as text. Part of remora_tls
// (the only library that links OpenSSL).

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace remora::common {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// Every certificate of a PEM text, in order. Fails when there is none, or when a certificate
// block is malformed (the message says which one, counting from 1).
Result<std::vector<X509Ptr>> parsePemCertificates(std::string_view pem);
// The private key of a PEM text (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").
// Encrypted keys are refused (no passphrase is ever asked for).
Result<EvpPkeyPtr> parsePemPrivateKey(std::string_view pem);

// PEM text of a certificate, and of a private key as unencrypted PKCS#8.
Result<std::string> certificateToPem(X509* cert);
Result<std::string> privateKeyToPem(EVP_PKEY* key);

// This thread's OpenSSL error queue as one line ("reason; reason"), which it empties;
// `fallback` when the queue was empty.
std::string takeOpenSslErrors(std::string_view fallback = "unknown OpenSSL error");

}  // namespace remora::common
