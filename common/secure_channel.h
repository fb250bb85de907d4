#pragma once
// SecureChannel: the seam between a byte-stream server (HttpServer) and a security layer that
// runs over one of its connections, such as TLS (common/tls_session.h). The server hands the
// layer every byte it reads and writes to the socket whatever the layer gives back; it never
// sees the layer's library, so a binary that serves only plain connections links none of it.
//
// A channel is driven from one thread (the connection's loop) and never blocks: all I/O goes
// through the strings given to its calls.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace remora::common {

class SecureChannel {
 public:
  enum class State : uint8_t {
    kHandshaking,  // no application bytes yet
    kOpen,         // application bytes flow both ways
    kClosed,       // the peer ended the session cleanly (TLS close_notify): no more input
    kFailed,       // a protocol error or bad input: see failure(); nothing more flows
  };

  virtual ~SecureChannel() = default;

  // Bytes read from the peer, split anywhere. Decrypted application bytes are appended to
  // `plain`; bytes that must go to the peer (handshake messages, alerts) to `wire`, also on
  // failure. Returns the state afterwards. Input after kClosed or kFailed is ignored. Memory held
  // between calls stays bounded (at most one partial record), whatever the peer sends.
  virtual State receive(std::string_view data, std::string& plain, std::string& wire) noexcept = 0;
  // Application bytes to send, appended to `wire` as records. Allowed in kOpen and, until
  // shutdown(), in kClosed (the peer ending its side does not end ours); returns false (and
  // appends nothing) otherwise or when the layer failed.
  virtual bool send(std::string_view plain, std::string& wire) noexcept = 0;
  // Appends the closing message (TLS close_notify) to `wire` when sending is allowed; nothing
  // is sent afterwards.
  virtual void shutdown(std::string& wire) noexcept = 0;

  virtual State state() const noexcept = 0;
  // Why the channel failed, one line for logs; empty unless kFailed.
  virtual std::string failure() const = 0;
  // The channel failed because the peer spoke plain HTTP (its first bytes were an HTTP request
  // line): a server may answer that in plain text before closing.
  virtual bool peerSentPlainHttp() const noexcept = 0;
};

// Makes the server side of a channel for each accepted connection. Shared by every connection
// of a server; called on the server's loop thread.
class SecureChannelFactory {
 public:
  virtual ~SecureChannelFactory() = default;
  // nullptr when the channel cannot be made (out of memory): the connection is then closed.
  virtual std::unique_ptr<SecureChannel> serverChannel() const noexcept = 0;
};

}  // namespace remora::common
