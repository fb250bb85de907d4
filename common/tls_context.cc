#include "common/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/tls_pem.h"

namespace remora::common {

namespace {

// TLS 1.2: forward secrecy and AEAD only (TLS 1.3 suites all have both).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

Result<SslCtxPtr> newContext(const SSL_METHOD* method) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) {
    return Status::internal("TLS: " + takeOpenSslErrors("cannot create a context"));
  }
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1) {
    return Status::internal("TLS: " + takeOpenSslErrors("cannot apply the protocol settings"));
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle sessions give their record buffers back (about 34 KiB each).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(std::string_view cert_chain_pem,
                                                             std::string_view key_pem) {
  auto certs = parsePemCertificates(cert_chain_pem);
  if (!certs.isOk()) {
    return Status::invalid("certificate: " + certs.status().message());
  }
  auto key = parsePemPrivateKey(key_pem);
  if (!key.isOk()) {
    return Status::invalid("private key: " + key.status().message());
  }
  auto ctx = newContext(TLS_server_method());
  if (!ctx.isOk()) {
    return ctx.status();
  }
  SSL_CTX* c = ctx.value().get();
  std::vector<X509Ptr>& chain = certs.value();
  if (SSL_CTX_use_certificate(c, chain.front().get()) != 1) {
    return Status::invalid("certificate: " + takeOpenSslErrors("refused"));
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(c, chain[i].get()) != 1) {
      return Status::invalid("certificate " + std::to_string(i + 1) +
                             " of the chain: " + takeOpenSslErrors("refused"));
    }
  }
  if (X509_check_private_key(chain.front().get(), key.value().get()) != 1) {
    ERR_clear_error();
    return Status::invalid("the private key does not match the certificate");
  }
  if (SSL_CTX_use_PrivateKey(c, key.value().get()) != 1) {
    return Status::invalid("private key: " + takeOpenSslErrors("refused"));
  }
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  if (SSL_CTX_set_num_tickets(c, 0) != 1) {
    return Status::internal("TLS: " + takeOpenSslErrors("cannot turn session tickets off"));
  }
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx.value().release(), true));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::client(std::string_view ca_pem) {
  auto cas = parsePemCertificates(ca_pem);
  if (!cas.isOk()) {
    return Status::invalid("CA bundle: " + cas.status().message());
  }
  auto ctx = newContext(TLS_client_method());
  if (!ctx.isOk()) {
    return ctx.status();
  }
  SSL_CTX* c = ctx.value().get();
  X509_STORE* store = SSL_CTX_get_cert_store(c);
  for (const X509Ptr& ca : cas.value()) {
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      return Status::invalid("CA bundle: " + takeOpenSslErrors("certificate refused"));
    }
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx.value().release(), false));
}

}  // namespace remora::common
