#pragma once
// TlsSession: one TLS connection as a SecureChannel, driven entirely through memory (two
// OpenSSL memory BIOs): the owner passes the bytes it read from the socket to receive() and
// writes to the socket whatever lands in `wire`. No socket, no blocking, one thread.
//
// Bounded memory whatever the peer does: each call consumes all its input; between calls the
// session holds at most one incomplete record (under 17 KiB) plus OpenSSL's record buffers,
// which are released while idle (SSL_MODE_RELEASE_BUFFERS). Input that is not TLS fails the
// session at its first record; plain HTTP is recognised as such (peerSentPlainHttp()).
//
// Part of remora_tls, the only library that links OpenSSL.

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/secure_channel.h"
#include "common/tls_context.h"

namespace remora::common {

class TlsSession final : public SecureChannel {
 public:
  // The server side of a connection accepted with `context` (a server context). nullptr when
  // OpenSSL cannot allocate the session.
  static std::unique_ptr<TlsSession> server(const TlsContext& context) noexcept;
  // The client side, checking that the server's certificate names `server_name`: an IP address
  // (matched against IP SANs) or a DNS name (matched against DNS SANs and sent as SNI). Call
  // start() for the first handshake message. nullptr when OpenSSL cannot allocate the session
  // or `server_name` is empty.
  static std::unique_ptr<TlsSession> client(const TlsContext& context,
                                            std::string_view server_name) noexcept;
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Client sessions: appends the ClientHello to `wire`. Returns the state (kHandshaking, or
  // kFailed). Servers wait for the peer instead.
  State start(std::string& wire) noexcept;

  // SecureChannel
  State receive(std::string_view data, std::string& plain, std::string& wire) noexcept override;
  bool send(std::string_view plain, std::string& wire) noexcept override;
  void shutdown(std::string& wire) noexcept override;
  State state() const noexcept override { return state_; }
  std::string failure() const override { return failure_; }
  bool peerSentPlainHttp() const noexcept override { return plain_http_; }

  // The negotiated protocol version ("TLSv1.3") and cipher ("TLS_AES_128_GCM_SHA256",
  // "ECDHE-ECDSA-AES128-GCM-SHA256"), once open; empty before.
  std::string_view protocol() const noexcept;
  std::string_view cipher() const noexcept;

 private:
  TlsSession(SSL* ssl, BIO* in, BIO* out) noexcept : ssl_(ssl), in_(in), out_(out) {}
  static std::unique_ptr<TlsSession> make(const TlsContext& context) noexcept;
  // Runs the handshake as far as the input allows, then reads application bytes into `plain`.
  void advance(std::string& plain) noexcept;
  // Moves whatever OpenSSL produced for the peer into `wire`.
  void drainOutput(std::string& wire) noexcept;
  // Classifies a failed OpenSSL call: more input needed, peer closed, or failed.
  void onSslError(int rc) noexcept;
  void fail(std::string reason) noexcept;

  SSL* ssl_;
  BIO* in_;   // bytes from the peer; owned by ssl_
  BIO* out_;  // bytes for the peer; owned by ssl_
  State state_ = State::kHandshaking;
  std::string failure_;
  bool plain_http_ = false;
  bool sent_close_ = false;  // shutdown() was called: nothing more is sent
};

// Server channels for HttpServer::Options::secure: a TlsSession per accepted connection.
std::shared_ptr<const SecureChannelFactory> tlsServerChannels(
    std::shared_ptr<const TlsContext> context);

}  // namespace remora::common
