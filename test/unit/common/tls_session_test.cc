// TlsSession between two in-memory endpoints: no sockets, the bytes each side produces are handed
// to the other by the test. Certificates come from the webhook's generator.

#include "common/tls_session.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/tls_context.h"
#include "control/webhook_certs.h"

namespace remora::common {
namespace {

using State = SecureChannel::State;

struct Certs {
  control::WebhookCertificate cert;
  std::shared_ptr<const TlsContext> server;
  std::shared_ptr<const TlsContext> client;  // trusts cert's CA
};

Certs makeCerts(const std::vector<std::string>& sans = {"webhook.test", "127.0.0.1"}) {
  Certs c;
  auto generated = control::generateWebhookCertificate(sans);
  EXPECT_TRUE(generated.isOk()) << generated.status().message();
  c.cert = generated.value();
  auto server = TlsContext::server(c.cert.chain_pem, c.cert.key_pem);
  EXPECT_TRUE(server.isOk()) << server.status().message();
  c.server = server.value();
  auto client = TlsContext::client(c.cert.ca_bundle_pem);
  EXPECT_TRUE(client.isOk()) << client.status().message();
  c.client = client.value();
  return c;
}

// A client and a server session wired back to back through strings.
struct Link {
  std::unique_ptr<TlsSession> client;
  std::unique_ptr<TlsSession> server;
  std::string client_got;  // plaintext each side received
  std::string server_got;
  std::string to_server;  // bytes in flight
  std::string to_client;

  Link(const Certs& certs, std::string_view name)
      : client(TlsSession::client(*certs.client, name)),
        server(TlsSession::server(*certs.server)) {}

  // Moves bytes both ways until nothing is in flight (bounded number of rounds).
  void pump() {
    for (int round = 0; round < 50 && (!to_server.empty() || !to_client.empty()); ++round) {
      std::string out;
      if (!to_server.empty()) {
        server->receive(to_server, server_got, out);
        to_server.clear();
        to_client += out;
        out.clear();
      }
      if (!to_client.empty()) {
        client->receive(to_client, client_got, out);
        to_client.clear();
        to_server += out;
      }
    }
  }

  void handshake() {
    client->start(to_server);
    pump();
  }
};

TEST(TlsSessionTest, HandshakeInMemoryThenBytesFlowBothWays) {
  Certs certs = makeCerts();
  Link link(certs, "webhook.test");
  ASSERT_TRUE(link.client && link.server);
  link.handshake();
  ASSERT_EQ(link.client->state(), State::kOpen) << link.client->failure();
  ASSERT_EQ(link.server->state(), State::kOpen) << link.server->failure();
  EXPECT_EQ(link.server->protocol(), "TLSv1.3");

  ASSERT_TRUE(link.client->send("POST /inject HTTP/1.1\r\n\r\n", link.to_server));
  // 100 KiB: several records, each side's output many times one record.
  const std::string big(100 * 1024, 'x');
  ASSERT_TRUE(link.server->send(big, link.to_client));
  link.pump();
  EXPECT_EQ(link.server_got, "POST /inject HTTP/1.1\r\n\r\n");
  EXPECT_EQ(link.client_got, big);
}

TEST(TlsSessionTest, HandshakeSurvivesInputSplitIntoSingleBytes) {
  Certs certs = makeCerts();
  Link link(certs, "127.0.0.1");
  link.client->start(link.to_server);
  for (int round = 0; round < 50 && (!link.to_server.empty() || !link.to_client.empty()); ++round) {
    std::string out;
    for (char byte : link.to_server) {  // the server sees every byte in its own read
      link.server->receive(std::string_view(&byte, 1), link.server_got, out);
    }
    link.to_server.clear();
    link.to_client += out;
    out.clear();
    link.client->receive(link.to_client, link.client_got, out);
    link.to_client.clear();
    link.to_server += out;
  }
  EXPECT_EQ(link.client->state(), State::kOpen) << link.client->failure();
  EXPECT_EQ(link.server->state(), State::kOpen) << link.server->failure();
}

TEST(TlsSessionTest, ClientRefusesANameTheCertificateDoesNotCarry) {
  Certs certs = makeCerts();
  Link link(certs, "other.test");
  link.handshake();
  EXPECT_EQ(link.client->state(), State::kFailed);
  EXPECT_NE(link.client->failure().find("certificate verify failed"), std::string::npos)
      << link.client->failure();
  EXPECT_NE(link.server->state(), State::kOpen);
}

TEST(TlsSessionTest, ClientRefusesAServerSignedByAnotherCa) {
  Certs certs = makeCerts();
  Certs stranger = makeCerts();
  Certs mixed = certs;
  mixed.client = stranger.client;  // trusts the other generation's CA only
  Link link(mixed, "webhook.test");
  link.handshake();
  EXPECT_EQ(link.client->state(), State::kFailed);
  EXPECT_NE(link.client->failure().find("unable to get local issuer certificate"),
            std::string::npos)
      << link.client->failure();
}

TEST(TlsSessionTest, Tls12ClientGetsTls12WithAnAeadCipher) {
  Certs certs = makeCerts();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(certs.client->raw(), TLS1_2_VERSION), 1);
  Link link(certs, "webhook.test");
  link.handshake();
  ASSERT_EQ(link.server->state(), State::kOpen) << link.server->failure();
  EXPECT_EQ(link.server->protocol(), "TLSv1.2");
  const std::string cipher(link.server->cipher());
  EXPECT_EQ(cipher.rfind("ECDHE-ECDSA-", 0), 0u) << cipher;
  EXPECT_TRUE(cipher.find("GCM") != std::string::npos ||
              cipher.find("CHACHA20") != std::string::npos)
      << cipher;
}

TEST(TlsSessionTest, PlainHttpIsRecognisedAndFailsTheSession) {
  Certs certs = makeCerts();
  auto server = TlsSession::server(*certs.server);
  std::string plain;
  std::string wire;
  EXPECT_EQ(server->receive("POST /inject HTTP/1.1\r\nHost: x\r\n\r\n", plain, wire),
            State::kFailed);
  EXPECT_TRUE(server->peerSentPlainHttp());
  EXPECT_TRUE(plain.empty());
  EXPECT_NE(server->failure().find("plain HTTP"), std::string::npos) << server->failure();
}

TEST(TlsSessionTest, GarbageFailsAtTheFirstRecordAndLaterInputIsIgnored) {
  Certs certs = makeCerts();
  auto server = TlsSession::server(*certs.server);
  std::string plain;
  std::string wire;
  // A handshake record header, then bytes that are no ClientHello.
  std::string garbage = "\x16\x03\x01\x00\x40";
  garbage.append(64, '\x7f');
  EXPECT_EQ(server->receive(garbage, plain, wire), State::kFailed);
  EXPECT_FALSE(server->peerSentPlainHttp());
  EXPECT_FALSE(wire.empty()) << "a failed handshake sends an alert";
  EXPECT_LT(wire.size(), 64u);
  // After the failure a flood costs nothing: it is not even buffered.
  const std::string flood(1024 * 1024, '\x16');
  wire.clear();
  EXPECT_EQ(server->receive(flood, plain, wire), State::kFailed);
  EXPECT_TRUE(wire.empty());
  EXPECT_TRUE(plain.empty());
}

TEST(TlsSessionTest, RecordHeaderAnnouncingMoreThanTheMaximumFailsAtOnce) {
  Certs certs = makeCerts();
  auto server = TlsSession::server(*certs.server);
  std::string plain;
  std::string wire;
  // A ClientHello record header announcing 65535 bytes: no need to wait for them.
  EXPECT_EQ(server->receive(std::string_view("\x16\x03\x01\xff\xff", 5), plain, wire),
            State::kFailed);
}

TEST(TlsSessionTest, PeerCloseNotifyEndsItsSideButWeMayStillAnswer) {
  Certs certs = makeCerts();
  Link link(certs, "webhook.test");
  link.handshake();
  ASSERT_TRUE(link.client->send("request", link.to_server));
  link.client->shutdown(link.to_server);
  EXPECT_FALSE(link.client->send("more", link.to_server)) << "nothing is sent after shutdown";
  link.pump();
  EXPECT_EQ(link.server_got, "request");
  EXPECT_EQ(link.server->state(), State::kClosed);
  ASSERT_TRUE(link.server->send("answer", link.to_client));
  link.server->shutdown(link.to_client);
  link.pump();
  EXPECT_EQ(link.client_got, "answer");
  EXPECT_EQ(link.client->state(), State::kClosed);
}

TEST(TlsSessionTest, SendBeforeTheHandshakeIsRefused) {
  Certs certs = makeCerts();
  auto server = TlsSession::server(*certs.server);
  std::string wire;
  EXPECT_FALSE(server->send("too early", wire));
  EXPECT_TRUE(wire.empty());
}

TEST(TlsContextTest, ServerRefusesAKeyThatDoesNotMatchTheCertificate) {
  Certs a = makeCerts();
  Certs b = makeCerts();
  auto ctx = TlsContext::server(a.cert.chain_pem, b.cert.key_pem);
  ASSERT_FALSE(ctx.isOk());
  EXPECT_EQ(ctx.status().message(), "the private key does not match the certificate");
}

TEST(TlsContextTest, ServerSaysWhichInputIsNotPem) {
  Certs a = makeCerts();
  auto no_cert = TlsContext::server("not a certificate", a.cert.key_pem);
  ASSERT_FALSE(no_cert.isOk());
  EXPECT_NE(no_cert.status().message().find("certificate: no PEM certificate"), std::string::npos)
      << no_cert.status().message();
  auto key_as_cert = TlsContext::server(a.cert.chain_pem, a.cert.chain_pem);
  ASSERT_FALSE(key_as_cert.isOk());
  EXPECT_NE(key_as_cert.status().message().find("private key: no PEM private key"),
            std::string::npos)
      << key_as_cert.status().message();
}

}  // namespace
}  // namespace remora::common
