#pragma once
// ConnectionSet<Conn>: the listening socket of one remora-echo mode and the connections it
// accepted, each a Conn owned here until it releases itself (its socket closed) or close().
//
// Conn derives from ConnectionSetMember<Conn> (detach, closeNow) and has
// `int start(uv_stream_t* listener)`: accept and start reading (a libuv error code or 0), and
// `void closeOnce()`: close its socket (called once, by closeNow). Call close() before
// EventLoop::closeAll().

#include <uv.h>

#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/socket_address.h"
#include "common/status.h"
#include "common/tcp_listener.h"

namespace remora::echo {

template <typename Conn>
class ConnectionSet;

// The part of a connection that its set knows.
template <typename Conn>
class ConnectionSetMember {
 public:
  explicit ConnectionSetMember(ConnectionSet<Conn>& set) noexcept : set_(&set) {}
  // Forgets the set (the set is closing and deletes the connection itself).
  void detach() noexcept { set_ = nullptr; }
  // Closes the connection (Conn::closeOnce) the first time; then the set, unless detached,
  // deletes it once the current callback is over.
  void closeNow() noexcept {
    if (closed_) {
      return;
    }
    closed_ = true;
    static_cast<Conn*>(this)->closeOnce();
    if (set_ != nullptr) {
      ConnectionSet<Conn>* set = set_;
      set_ = nullptr;
      set->release(static_cast<Conn*>(this));
    }
  }
  bool closed() const noexcept { return closed_; }

 protected:
  ~ConnectionSetMember() = default;

 private:
  ConnectionSet<Conn>* set_;
  bool closed_ = false;
};

template <typename Conn>
class ConnectionSet {
 public:
  using Make = std::function<std::unique_ptr<Conn>()>;

  ConnectionSet(common::EventLoop& loop, Make make) : loop_(loop), make_(std::move(make)) {}
  ~ConnectionSet() { close(); }
  ConnectionSet(const ConnectionSet&) = delete;
  ConnectionSet& operator=(const ConnectionSet&) = delete;

  common::Status listen(std::string_view address, int backlog) {
    auto handle = common::listenTcp(loop_, address, backlog, onConnection, this, &bound_);
    if (!handle.isOk()) {
      return handle.status();
    }
    listener_ = handle.value();
    return common::Status::ok();
  }
  const common::SocketAddress& boundAddress() const noexcept { return bound_; }

  // A connection closed itself: it is deleted once the current callback is over.
  void release(Conn* conn) noexcept {
    auto it = conns_.find(conn);
    if (it != conns_.end()) {
      loop_.deferDelete(std::move(it->second));
      conns_.erase(it);
    }
  }

  // Stops listening and closes every connection. Idempotent.
  void close() noexcept {
    common::closeListener(listener_);
    auto conns = std::move(conns_);
    conns_.clear();
    for (auto& [raw, conn] : conns) {
      conn->detach();
      conn->closeNow();
      loop_.deferDelete(std::move(conn));
    }
  }

 private:
  static void onConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<ConnectionSet*>(server->data);
    if (self == nullptr || status < 0) {
      return;
    }
    std::unique_ptr<Conn> conn = self->make_();
    if (conn->start(server) != 0) {
      conn->detach();
      conn->closeNow();
      return;
    }
    Conn* raw = conn.get();
    self->conns_.emplace(raw, std::move(conn));
  }

  common::EventLoop& loop_;
  Make make_;
  uv_tcp_t* listener_ = nullptr;
  common::SocketAddress bound_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
};

}  // namespace remora::echo
