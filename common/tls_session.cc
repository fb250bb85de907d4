#include "common/tls_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <new>

#include "common/tls_pem.h"

namespace remora::common {

namespace {

// Plaintext is read out of the session in pieces of this size (a TLS record holds at most
// 16 KiB), and written into it in pieces of kWritePiece so the output BIO stays small.
constexpr size_t kReadPiece = 16 * 1024;
constexpr size_t kWritePiece = 64 * 1024;

bool isIpAddress(const std::string& s) noexcept {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

class TlsServerChannels final : public SecureChannelFactory {
 public:
  explicit TlsServerChannels(std::shared_ptr<const TlsContext> context)
      : context_(std::move(context)) {}
  std::unique_ptr<SecureChannel> serverChannel() const noexcept override {
    return TlsSession::server(*context_);
  }

 private:
  std::shared_ptr<const TlsContext> context_;
};

}  // namespace

std::unique_ptr<TlsSession> TlsSession::make(const TlsContext& context) noexcept {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.raw());
  if (ssl == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_set_bio(ssl, in, out);  // ssl owns both from here
  auto* session = new (std::nothrow) TlsSession(ssl, in, out);
  if (session == nullptr) {
    SSL_free(ssl);
  }
  return std::unique_ptr<TlsSession>(session);
}

std::unique_ptr<TlsSession> TlsSession::server(const TlsContext& context) noexcept {
  std::unique_ptr<TlsSession> s = make(context);
  if (s) {
    SSL_set_accept_state(s->ssl_);
  }
  return s;
}

std::unique_ptr<TlsSession> TlsSession::client(const TlsContext& context,
                                               std::string_view server_name) noexcept {
  if (server_name.empty()) {
    return nullptr;
  }
  std::unique_ptr<TlsSession> s = make(context);
  if (!s) {
    return nullptr;
  }
  SSL_set_connect_state(s->ssl_);
  const std::string name(server_name);
  bool ok = false;
  if (isIpAddress(name)) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl_), name.c_str()) == 1;
  } else {
    ok = SSL_set_tlsext_host_name(s->ssl_, name.c_str()) == 1 &&
         SSL_set1_host(s->ssl_, name.c_str()) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  return s;
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);
}

SecureChannel::State TlsSession::start(std::string& wire) noexcept {
  if (state_ == State::kHandshaking && SSL_is_server(ssl_) == 0) {
    ERR_clear_error();
    std::string none;
    advance(none);
    drainOutput(wire);
  }
  return state_;
}

SecureChannel::State TlsSession::receive(std::string_view data, std::string& plain,
                                         std::string& wire) noexcept {
  if (state_ == State::kClosed || state_ == State::kFailed) {
    return state_;
  }
  ERR_clear_error();
  while (!data.empty()) {
    const int n =
        BIO_write(in_, data.data(), static_cast<int>(std::min<size_t>(data.size(), INT_MAX)));
    if (n <= 0) {
      fail("cannot buffer the peer's bytes: " + takeOpenSslErrors("out of memory"));
      return state_;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  advance(plain);
  drainOutput(wire);
  return state_;
}

void TlsSession::advance(std::string& plain) noexcept {
  if (state_ == State::kHandshaking) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      onSslError(rc);
      return;
    }
    state_ = State::kOpen;
  }
  while (state_ == State::kOpen) {
    const size_t old = plain.size();
    plain.resize(old + kReadPiece);
    size_t got = 0;
    const int rc = SSL_read_ex(ssl_, plain.data() + old, kReadPiece, &got);
    plain.resize(old + (rc == 1 ? got : 0));
    if (rc != 1) {
      onSslError(rc);
      return;
    }
  }
}

bool TlsSession::send(std::string_view plain, std::string& wire) noexcept {
  if ((state_ != State::kOpen && state_ != State::kClosed) || sent_close_) {
    return false;
  }
  ERR_clear_error();
  while (!plain.empty()) {
    size_t written = 0;
    const int rc = SSL_write_ex(ssl_, plain.data(), std::min(plain.size(), kWritePiece), &written);
    if (rc != 1) {
      onSslError(rc);
      drainOutput(wire);
      return false;
    }
    plain.remove_prefix(written);
    drainOutput(wire);
  }
  return true;
}

void TlsSession::shutdown(std::string& wire) noexcept {
  if ((state_ != State::kOpen && state_ != State::kClosed) || sent_close_) {
    return;
  }
  sent_close_ = true;
  ERR_clear_error();
  // 0 means "sent, the peer's close_notify not seen yet": we do not wait for it.
  if (SSL_shutdown(ssl_) < 0) {
    ERR_clear_error();
  }
  drainOutput(wire);
}

std::string_view TlsSession::protocol() const noexcept {
  return state_ == State::kHandshaking ? std::string_view() : SSL_get_version(ssl_);
}

std::string_view TlsSession::cipher() const noexcept {
  const char* name = state_ == State::kHandshaking ? nullptr : SSL_get_cipher_name(ssl_);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

void TlsSession::drainOutput(std::string& wire) noexcept {
  for (;;) {
    const size_t pending = BIO_ctrl_pending(out_);
    if (pending == 0) {
      return;
    }
    const size_t old = wire.size();
    const int want = static_cast<int>(std::min<size_t>(pending, INT_MAX));
    wire.resize(old + static_cast<size_t>(want));
    const int n = BIO_read(out_, wire.data() + old, want);
    wire.resize(old + static_cast<size_t>(std::max(n, 0)));
    if (n <= 0) {
      return;
    }
  }
}

void TlsSession::onSslError(int rc) noexcept {
  const int e = SSL_get_error(ssl_, rc);
  switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // a memory BIO always takes output; drained by the caller
      return;
    case SSL_ERROR_ZERO_RETURN:
      state_ = State::kClosed;
      return;
    default:
      break;
  }
  const unsigned long first = ERR_peek_error();
  if (ERR_GET_LIB(first) == ERR_LIB_SSL) {
    const int reason = ERR_GET_REASON(first);
    plain_http_ = reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST;
  }
  std::string reason = takeOpenSslErrors(e == SSL_ERROR_SYSCALL ? "unexpected end of the session"
                                                                : "protocol error");
  if (plain_http_) {
    reason = "the peer sent plain HTTP, not TLS";
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  }
  fail(std::move(reason));
}

void TlsSession::fail(std::string reason) noexcept {
  state_ = State::kFailed;
  failure_ = std::move(reason);
}

std::shared_ptr<const SecureChannelFactory> tlsServerChannels(
    std::shared_ptr<const TlsContext> context) {
  return std::make_shared<TlsServerChannels>(std::move(context));
}

}  // namespace remora::common
