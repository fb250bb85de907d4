#pragma once
// TlsContext: an OpenSSL SSL_CTX with remora's settings, shared (read-only) by every TLS session
// made from it.
//
// Settings, both sides: TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key exchange with AEAD
// ciphers (AES-GCM, ChaCha20-Poly1305); TLS 1.3 with OpenSSL's default suites; no compression,
// no renegotiation. Servers keep no session state (no tickets, no session cache): a handshake is
// cheap next to an admission review, and nothing secret outlives a connection.
//
// Part of remora_tls, the only library that links OpenSSL; the sidecar does not link it.

#include <openssl/types.h>

#include <memory>
#include <string_view>

#include "common/status.h"

namespace remora::common {

class TlsContext {
 public:
  // A server context: `cert_chain_pem` holds the serving certificate first, then any
  // intermediates; `key_pem` its unencrypted private key. Errors name the input at fault
  // ("certificate: ...", "private key: ...", "the private key does not match the certificate").
  static Result<std::shared_ptr<const TlsContext>> server(std::string_view cert_chain_pem,
                                                          std::string_view key_pem);
  // A client context that trusts only the CA certificates in `ca_pem` and verifies the server's
  // chain (the name is checked per session, see TlsSession::client).
  static Result<std::shared_ptr<const TlsContext>> client(std::string_view ca_pem);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* raw() const noexcept { return ctx_; }
  bool isServer() const noexcept { return server_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server) noexcept : ctx_(ctx), server_(server) {}

  SSL_CTX* ctx_;
  bool server_;
};

}  // namespace remora::common
