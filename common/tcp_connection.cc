#include "common/tcp_connection.h"

#include "common/recycled.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace remora::common {

namespace {

static_assert(sizeof(uv_buf_t) == sizeof(iovec) &&
              offsetof(uv_buf_t, base) == offsetof(iovec, iov_base) &&
              offsetof(uv_buf_t, len) == offsetof(iovec, iov_len));

// Pieces up to this many bytes in all are joined into one send(2) (see trySend).
constexpr size_t kJoinUpTo = 4096;

// The socket's descriptor, or -1 when libuv has none (closed, or never opened).
int socketFd(const uv_tcp_t& tcp) noexcept {
  uv_os_fd_t fd = -1;
  return uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp), &fd) == 0 ? fd : -1;
}

// What uv_try_write does, with send(2)/sendmsg(2) in place of write(2)/writev(2): the socket
// calls skip the VFS layer's checks and notifications (with the read side, about 3% of the
// proxy's CPU on small keep-alive requests, perf). MSG_NOSIGNAL: a reset peer is an EPIPE
// return, never a SIGPIPE. Only called when libuv has nothing of ours queued on the stream, so
// bytes cannot overtake one another. Returns the bytes taken, UV_EAGAIN, or another libuv
// error.
int trySend(const uv_tcp_t& tcp, const uv_buf_t* bufs, unsigned n) noexcept {
  const int fd = socketFd(tcp);
  if (fd < 0) {
    return UV_EBADF;
  }
  // A few small pieces (a response head and a short body) are copied into one buffer: the
  // copy costs less than what sendmsg(2) adds over send(2) (the msghdr and iovec copied in
  // from user memory, about 0.4 us a call here).
  char joined[kJoinUpTo];
  size_t total = 0;
  if (n > 1) {
    for (unsigned i = 0; i < n && total <= kJoinUpTo; ++i) {
      total += bufs[i].len;
    }
  }
  uv_buf_t one;
  if (n > 1 && total <= kJoinUpTo) {
    char* at = joined;
    for (unsigned i = 0; i < n; ++i) {
      if (bufs[i].len != 0) {  // (an empty piece may have no buffer at all)
        std::memcpy(at, bufs[i].base, bufs[i].len);
        at += bufs[i].len;
      }
    }
    one = uv_buf_init(joined, static_cast<unsigned>(total));
    bufs = &one;
    n = 1;
  }
  ssize_t sent;
  do {
    if (n == 1) {
      sent = ::send(fd, bufs[0].base, bufs[0].len, MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
      msghdr msg{};
      // uv_buf_t has iovec's layout on Unix (libuv documents it as such).
      msg.msg_iov = reinterpret_cast<iovec*>(const_cast<uv_buf_t*>(bufs));
      msg.msg_iovlen = n;
      sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0) {
    return static_cast<int>(sent);
  }
  return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
}

}  // namespace

struct TcpConnection::Core : Recycled<TcpConnection::Core> {
  uv_tcp_t tcp;
  // One request at a time: nothing is written while the connect is in progress (flush waits
  // for it), so the two share their memory.
  union {
    uv_write_t write_req;
    uv_connect_t connect_req;
  };
  TcpConnection* owner = nullptr;  // null once the owner is gone: no more handler calls
  EventLoop* loop = nullptr;
  std::string pending;   // bytes not yet handed to libuv
  std::string inflight;  // bytes of the uv_write in progress
  bool writing = false;
  bool connecting = false;
  bool shutdown_wanted = false;
  bool shutdown_sent = false;
  bool closing = false;
};

TcpConnection::TcpConnection(EventLoop& loop, Handler& handler)
    : loop_(loop), handler_(&handler), core_(new Core) {
  core_->owner = this;
  core_->loop = &loop;
  uv_tcp_init(loop.uv(), &core_->tcp);
  core_->tcp.data = core_;
}

TcpConnection::TcpConnection(EventLoop& loop) : loop_(loop), handler_(nullptr), core_(new Core) {
  core_->owner = this;
  core_->loop = &loop;
  uv_tcp_init(loop.uv(), &core_->tcp);
  core_->tcp.data = core_;
}

TcpConnection::~TcpConnection() {
  close();
}

int TcpConnection::accept(uv_stream_t* server) noexcept {
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&core_->tcp));
  if (rc == 0) {
    uv_tcp_nodelay(&core_->tcp, 1);
  }
  return rc;
}

int TcpConnection::open(int fd) noexcept {
  return uv_tcp_open(&core_->tcp, fd);
}

int TcpConnection::connect(const SocketAddress& to) noexcept {
  core_->connect_req.data = core_;
  int rc = uv_tcp_connect(&core_->connect_req, &core_->tcp, to.sa(), onConnect);
  if (rc == 0) {
    core_->connecting = true;
    uv_tcp_nodelay(&core_->tcp, 1);
  }
  return rc;
}

void TcpConnection::readStart() noexcept {
  if (!core_->closing && !core_->connecting) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&core_->tcp), onAlloc, onRead);
  }
}

void TcpConnection::readStop() noexcept {
  if (!core_->closing) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&core_->tcp));
  }
}

bool TcpConnection::reading() const noexcept {
  return !core_->closing && uv_is_active(reinterpret_cast<const uv_handle_t*>(&core_->tcp)) != 0;
}

void TcpConnection::write(std::string_view data) noexcept {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  writeSlices(&b, 1);
}

void TcpConnection::write(std::string_view a, std::string_view b) noexcept {
  uv_buf_t bufs[2] = {uv_buf_init(const_cast<char*>(a.data()), static_cast<unsigned>(a.size())),
                      uv_buf_init(const_cast<char*>(b.data()), static_cast<unsigned>(b.size()))};
  writeSlices(bufs, 2);
}

void TcpConnection::write(std::string_view a, std::string_view b, std::string_view c) noexcept {
  uv_buf_t bufs[3] = {uv_buf_init(const_cast<char*>(a.data()), static_cast<unsigned>(a.size())),
                      uv_buf_init(const_cast<char*>(b.data()), static_cast<unsigned>(b.size())),
                      uv_buf_init(const_cast<char*>(c.data()), static_cast<unsigned>(c.size()))};
  writeSlices(bufs, 3);
}

void TcpConnection::writeRaw(std::string_view data) noexcept {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  writeSlices(&b, 1, false);
}

[[gnu::cold]] void TcpConnection::writeFiltered(const uv_buf_t* bufs, unsigned n) noexcept {
  std::string wire;
  for (unsigned i = 0; i < n; ++i) {
    filter_->encode(std::string_view(bufs[i].base, bufs[i].len), wire);
  }
  if (!wire.empty()) {
    writeRaw(wire);
  }
}

void TcpConnection::writeSlices(const uv_buf_t* bufs, unsigned n, bool filter) noexcept {
  if (filter && filter_ != nullptr) [[unlikely]] {
    writeFiltered(bufs, n);
    return;
  }
  Core* c = core_;
  if (c->closing || c->shutdown_sent) {
    return;
  }
  size_t skip = 0;
  if (!corked_ && !c->writing && !c->connecting && c->pending.empty()) {
    int rc = trySend(c->tcp, bufs, n);
    if (rc > 0) {
      skip = static_cast<size_t>(rc);
    } else if (rc != UV_EAGAIN && rc != 0) {
      // The error surfaces through the read side or the next async write; keep the bytes so
      // the async path reports it once.
      skip = 0;
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    c->pending.append(bufs[i].base + skip, len - skip);
    skip = 0;
  }
  if (!c->pending.empty()) {
    if (!corked_) {
      flush();
    }
    if (!above_high_ && pendingBytes() > high_) {
      above_high_ = true;
      handler_->onHighWatermark();
    }
  }
}

void TcpConnection::uncork() noexcept {
  uncork({});
}

void TcpConnection::uncork(std::string_view extra) noexcept {
  if (filter_ != nullptr && !extra.empty()) [[unlikely]] {
    write(extra);  // through the filter, behind what is corked
    extra = {};
  }
  if (!corked_) {
    if (!extra.empty()) {
      write(extra);
    }
    return;
  }
  corked_ = false;
  Core* c = core_;
  if (c->closing) {
    return;
  }
  if (c->pending.empty()) {
    if (!extra.empty()) {
      write(extra);
    }
    return;
  }
  if (c->writing || c->connecting) {
    write(extra);  // queues behind what is in flight
    return;
  }
  // What was corked and `extra` leave together; only what the kernel does not take is copied.
  uv_buf_t bufs[2] = {
      uv_buf_init(c->pending.data(), static_cast<unsigned>(c->pending.size())),
      uv_buf_init(const_cast<char*>(extra.data()), static_cast<unsigned>(extra.size()))};
  int rc = trySend(c->tcp, bufs, extra.empty() ? 1 : 2);
  size_t done = rc > 0 ? static_cast<size_t>(rc) : 0;
  size_t from_pending = std::min(done, c->pending.size());
  c->pending.erase(0, from_pending);
  done -= from_pending;
  if (done < extra.size()) {
    c->pending.append(extra.substr(done));
  }
  if (!above_high_ && pendingBytes() > high_) {
    above_high_ = true;
    handler_->onHighWatermark();
    if (c->owner == nullptr) {
      return;
    }
  }
  if (!c->pending.empty()) {
    flush();
  } else if (c->shutdown_wanted && !c->shutdown_sent) {
    sendFin(c);
  }
  if (c->owner != nullptr) {
    checkLowWatermark();
  }
}

void TcpConnection::flush() noexcept {
  Core* c = core_;
  if (c->writing || c->connecting || c->closing || c->pending.empty()) {
    return;
  }
  c->inflight.swap(c->pending);
  c->pending.clear();
  c->writing = true;
  c->write_req.data = c;
  uv_buf_t b = uv_buf_init(c->inflight.data(), static_cast<unsigned>(c->inflight.size()));
  int rc = uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, onWrite);
  if (rc != 0) {
    c->writing = false;
    c->inflight.clear();
    handler_->onError(rc);
  }
}

void TcpConnection::onWrite(uv_write_t* req, int status) {
  Core* c = static_cast<Core*>(req->data);
  c->writing = false;
  // Give back big buffers so an idle connection does not keep a large body's worth of memory.
  if (c->inflight.capacity() > 256 * 1024) {
    std::string().swap(c->inflight);
  } else {
    c->inflight.clear();
  }
  TcpConnection* self = c->owner;
  if (self == nullptr) {
    return;
  }
  if (status < 0) {
    self->handler_->onError(status);
    return;
  }
  if (!c->pending.empty()) {
    self->flush();
  } else {
    if (c->shutdown_wanted && !c->shutdown_sent) {
      sendFin(c);
    }
  }
  self->checkLowWatermark();
}

void TcpConnection::checkLowWatermark() noexcept {
  if (above_high_ && pendingBytes() <= low_) {
    above_high_ = false;
    handler_->onLowWatermark();
    if (core_->owner == nullptr) {
      return;
    }
  }
  if (pendingBytes() == 0) {
    handler_->onDrained();
  }
}

void TcpConnection::shutdownAfterFlush() noexcept {
  Core* c = core_;
  if (c->closing || c->shutdown_wanted) {
    return;
  }
  c->shutdown_wanted = true;
  if (!corked_ && !c->writing && !c->connecting && c->pending.empty()) {
    sendFin(c);
  }
}

void TcpConnection::sendFin(Core* c) noexcept {
  // Nothing of ours is queued in libuv at this point, so the FIN can go right away:
  // shutdown(2) directly costs one syscall where uv_shutdown costs two epoll changes more.
  c->shutdown_sent = true;
  const int fd = socketFd(c->tcp);
  if (fd >= 0) {
    ::shutdown(fd, SHUT_WR);
  }
}

void TcpConnection::close(bool reset) noexcept {
  Core* c = core_;
  if (c->closing) {
    return;
  }
  c->closing = true;
  c->owner = nullptr;
  if (reset && uv_tcp_close_reset(&c->tcp, onClose) == 0) {
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), onClose);
}

bool TcpConnection::closed() const noexcept {
  return core_->closing;
}

void TcpConnection::onClose(uv_handle_t* h) {
  delete static_cast<Core*>(h->data);
}

size_t TcpConnection::pendingBytes() const noexcept {
  return core_->pending.size() + core_->inflight.size();
}

bool TcpConnection::aboveHighWatermark() const noexcept {
  return above_high_;
}

void TcpConnection::setWatermarks(size_t high, size_t low) noexcept {
  high_ = high;
  low_ = low;
}

SocketAddress TcpConnection::localAddress() const noexcept {
  SocketAddress a;
  int len = sizeof(a.storage);
  uv_tcp_getsockname(&core_->tcp, a.sa(), &len);
  return a;
}

SocketAddress TcpConnection::peerAddress() const noexcept {
  SocketAddress a;
  int len = sizeof(a.storage);
  uv_tcp_getpeername(&core_->tcp, a.sa(), &len);
  return a;
}

int TcpConnection::fd() const noexcept {
  return socketFd(core_->tcp);
}

uv_tcp_t* TcpConnection::uv() noexcept {
  return &core_->tcp;
}

void TcpConnection::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  // No buffer: libuv then reports the socket readable as UV_ENOBUFS without reading it, and
  // onRead reads with recv(2) itself, which skips the VFS layer read(2) goes through (as
  // trySend does for writes).
  *buf = uv_buf_init(nullptr, 0);
}

void TcpConnection::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  Core* c = static_cast<Core*>(s->data);
  TcpConnection* self = c->owner;
  if (self == nullptr) {
    return;
  }
  if (nread == UV_ENOBUFS) {
    const int fd = socketFd(c->tcp);
    char* buf = c->loop->readBuffer();
    ssize_t n;
    do {
      n = ::recv(fd, buf, EventLoop::kReadBufferSize, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      self->handler_->onData(buf, static_cast<size_t>(n));
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    nread = n == 0 ? UV_EOF : -errno;
  }
  if (nread == 0) {
    return;
  }
  uv_read_stop(s);
  if (nread == UV_EOF) {
    self->handler_->onEof();
  } else {
    self->handler_->onError(static_cast<int>(nread));
  }
}

void TcpConnection::onConnect(uv_connect_t* req, int status) {
  Core* c = static_cast<Core*>(req->data);
  c->connecting = false;
  TcpConnection* self = c->owner;
  if (self == nullptr) {
    return;
  }
  if (status == 0) {
    self->flush();
    if (c->owner == nullptr) {
      return;
    }
  }
  self->handler_->onConnected(status);
}

}  // namespace remora::common
