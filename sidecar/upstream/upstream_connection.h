#pragma once
// UpstreamConnection: what one try sees of the pooled connection that carries it, whatever its
// protocol. An HTTP/1 connection (http1_connection.h) carries one try at a time; an HTTP/2
// connection (http2_connection.h) carries many at once, one stream each.
//
// A try attaches (getting the RequestEncoder of its request), and releases the connection
// when it is done with it; in between the connection tells it about connection events through
// User. Failures reach the try through its stream's StreamCallbacks::onResetStream.

#include <cstddef>

#include "common/http/codec.h"

namespace remora::sidecar {

class UpstreamConnection {
 public:
  // Connection events a try needs besides its stream's.
  class User {
   public:
    // The connection is established (the try stops counting as pending).
    virtual void onUpstreamConnected() noexcept = 0;
    // Every event of one read has been delivered: flush what was corked downstream for it.
    virtual void onUpstreamReadEnd() noexcept = 0;
    // Every byte queued towards the upstream has been handed to the kernel.
    virtual void onUpstreamDrained() noexcept = 0;

   protected:
    ~User() = default;
  };

  // A new request on this connection; `decoder` gets its response. Only on a connection the
  // pool handed out as available.
  virtual http::RequestEncoder& attach(User& user, http::ResponseDecoder& decoder) noexcept = 0;
  // The try is done with its request. `reusable`: the exchange ended cleanly (HTTP/1: the
  // connection may go back to the pool); otherwise a stream still open is reset (HTTP/1: the
  // connection is closed, and bytes still corked are never sent).
  virtual void release(User& user, bool reusable) noexcept = 0;
  // The user's stream was reset (StreamCallbacks::onResetStream): it goes without release().
  virtual void forget(User& user) noexcept = 0;
  // Queue writes without syscalls until uncork() (see TcpConnection::cork).
  virtual void cork() noexcept = 0;
  virtual void uncork() noexcept = 0;
  virtual size_t pendingBytes() const noexcept = 0;
  // The connection carried a request before the one attached last (a failure before any
  // response byte may then be the peer closing an idle connection: safe to retry).
  virtual bool reused() const noexcept = 0;
  // HTTP/1: some byte of the current exchange's response has arrived. (HTTP/2 streams say so
  // through their decoder calls; false.)
  virtual bool responseStarted() const noexcept = 0;

 protected:
  ~UpstreamConnection() = default;
};

}  // namespace remora::sidecar
