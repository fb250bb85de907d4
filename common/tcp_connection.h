#pragma once
// TcpConnection: one TCP socket on a libuv loop, with buffered writes and flow-control hooks.
//
// libuv watches the socket, but the bytes move with recv(2) and send(2)/sendmsg(2), not the
// read(2)/write(2)/writev(2) libuv would use: the socket calls skip the VFS layer.
//
// Writes first try the socket directly (send(2), no copy); whatever the kernel does not
// take is copied into a pending buffer and written asynchronously. When pending bytes pass the
// high watermark the handler hears onHighWatermark() (pause the peer that feeds us); when they
// fall to the low watermark, onLowWatermark() (resume it).
//
// Lifetime: the owner may destroy the TcpConnection at any time; the uv handle and buffers live
// on until libuv's close callback, and no handler call happens after destruction began.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/event_loop.h"
#include "common/socket_address.h"

namespace remora::common {

class TcpConnection {
 public:
  class Handler {
   public:
    // Bytes read. `data` is valid only during the call: consume or copy it.
    virtual void onData(const char* data, size_t len) noexcept = 0;
    // The peer half-closed (EOF). Reading stops.
    virtual void onEof() noexcept = 0;
    // A read or write failed (reset, timeout...). `uv_err` is a libuv error code.
    virtual void onError(int uv_err) noexcept = 0;
    // Outgoing connections: the connect finished (status 0) or failed (< 0).
    virtual void onConnected(int /*status*/) noexcept {}
    virtual void onHighWatermark() noexcept {}
    virtual void onLowWatermark() noexcept {}
    // Every queued byte has been handed to the kernel.
    virtual void onDrained() noexcept {}

   protected:
    ~Handler() = default;
  };

  // A layer under the writes, such as TLS: every byte given to write() and uncork(extra) goes
  // through encode() first, and what it appends to `wire` is what reaches the socket. Reads
  // are the handler's to decode (onData gets the socket's bytes).
  class WriteFilter {
   public:
    virtual void encode(std::string_view plain, std::string& wire) noexcept = 0;

   protected:
    ~WriteFilter() = default;
  };

  TcpConnection(EventLoop& loop, Handler& handler);
  // Without a handler yet: call setHandler() before readStart() or connect().
  explicit TcpConnection(EventLoop& loop);
  // Hands the connection's events to another handler (e.g. from protocol detection to the
  // HTTP connection manager).
  void setHandler(Handler& handler) noexcept { handler_ = &handler; }
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Accepts a pending connection from a listening stream. Returns a libuv error code or 0.
  int accept(uv_stream_t* server) noexcept;
  // Wraps an already-connected socket fd (tests).
  int open(int fd) noexcept;
  // Starts an outgoing connection; onConnected() reports the outcome. Writes made before it
  // completes are queued.
  int connect(const SocketAddress& to) noexcept;

  void readStart() noexcept;
  void readStop() noexcept;
  bool reading() const noexcept;

  void write(std::string_view data) noexcept;
  void write(std::string_view a, std::string_view b) noexcept;
  void write(std::string_view a, std::string_view b, std::string_view c) noexcept;
  // Installs (or, with null, removes) the write filter; it must outlive its use.
  void setWriteFilter(WriteFilter* filter) noexcept { filter_ = filter; }
  // Writes past the filter: the layer's own messages (handshake, alerts, close_notify).
  void writeRaw(std::string_view data) noexcept;
  // Corking: while corked, writes only queue (no syscall); uncork() sends everything queued in
  // one write. Used to send a message head and the first body bytes of the same read together.
  void cork() noexcept { corked_ = true; }
  void uncork() noexcept;
  // Uncorks with `extra` appended: one write, and `extra` is copied only if the kernel does not
  // take it all (used for a response head and the body bytes that came with it).
  void uncork(std::string_view extra) noexcept;
  bool corked() const noexcept { return corked_; }
  // Half-closes the write side once every queued byte is written.
  void shutdownAfterFlush() noexcept;
  // Closes the socket; if `reset`, with an RST (SO_LINGER 0) instead of a FIN.
  void close(bool reset = false) noexcept;
  bool closed() const noexcept;

  size_t pendingBytes() const noexcept;
  bool aboveHighWatermark() const noexcept;
  void setWatermarks(size_t high, size_t low) noexcept;

  // Local and peer addresses (empty SocketAddress on failure).
  SocketAddress localAddress() const noexcept;
  SocketAddress peerAddress() const noexcept;
  int fd() const noexcept;
  uv_tcp_t* uv() noexcept;
  EventLoop& loop() noexcept { return loop_; }

 private:
  struct Core;
  // `filter`: through the write filter, if any (false: the bytes are the filter's own).
  void writeSlices(const uv_buf_t* bufs, unsigned n, bool filter = true) noexcept;
  void writeFiltered(const uv_buf_t* bufs, unsigned n) noexcept;
  void flush() noexcept;
  void checkLowWatermark() noexcept;

  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onConnect(uv_connect_t* req, int status);
  static void sendFin(Core* c) noexcept;
  static void onClose(uv_handle_t* h);

  EventLoop& loop_;
  Handler* handler_;
  Core* core_;
  WriteFilter* filter_ = nullptr;
  size_t high_ = 1024 * 1024;
  size_t low_ = 256 * 1024;
  bool above_high_ = false;
  bool corked_ = false;
};

}  // namespace remora::common
