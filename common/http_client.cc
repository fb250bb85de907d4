#include "common/http_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace remora::common {

namespace {

// Collects one parsed answer.
class Collector final : public Http1Parser::Callbacks {
 public:
  Collector(HttpClient::Response& r, size_t max_body_bytes)
      : r_(r), max_body_bytes_(max_body_bytes) {}

  HeadAction onHeaders(MessageHead& head) noexcept override {
    r_.status = head.status;
    r_.reason = head.reason;
    r_.version_minor = head.version_minor;
    r_.headers = head.headers;
    r_.keep_alive = head.keep_alive;
    r_.chunked = head.chunked;
    return HeadAction::kContinue;
  }
  void onBody(std::string_view data) noexcept override {
    if (max_body_bytes_ > 0 && r_.body.size() + data.size() > max_body_bytes_) {
      too_large = true;
      return;
    }
    r_.body.append(data);
  }
  bool onMessageComplete() noexcept override {
    done = true;
    // Pause so that the bytes after this answer stay unparsed (inside finish() nothing
    // follows, so there is nothing to pause for).
    return !finishing;
  }

  bool done = false;
  bool finishing = false;
  bool too_large = false;

 private:
  HttpClient::Response& r_;
  size_t max_body_bytes_;
};

int remainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return 0;
  }
  return left.count() > 1000000 ? 1000000 : static_cast<int>(left.count());
}

// Waits for `events` on fd until the deadline. Returns >0 ready, 0 timeout, <0 error.
int waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    return rc;
  }
}

bool isBodyMethod(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH";
}

}  // namespace

HttpClient::HttpClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

HttpClient::~HttpClient() {
  closeFd(false);
}

HttpClient::HttpClient(HttpClient&& o) noexcept
    : address_(std::move(o.address_)),
      timeout_(o.timeout_),
      limits_(o.limits_),
      max_body_bytes_(o.max_body_bytes_),
      deadline_(o.deadline_),
      fd_(o.fd_),
      reusable_(o.reusable_),
      upgraded_(o.upgraded_),
      rbuf_(std::move(o.rbuf_)),
      sent_heads_(std::move(o.sent_heads_)),
      last_error_(o.last_error_) {
  o.fd_ = -1;
}

HttpClient& HttpClient::operator=(HttpClient&& o) noexcept {
  if (this != &o) {
    closeFd(false);
    address_ = std::move(o.address_);
    timeout_ = o.timeout_;
    limits_ = o.limits_;
    max_body_bytes_ = o.max_body_bytes_;
    deadline_ = o.deadline_;
    fd_ = o.fd_;
    reusable_ = o.reusable_;
    upgraded_ = o.upgraded_;
    rbuf_ = std::move(o.rbuf_);
    sent_heads_ = std::move(o.sent_heads_);
    last_error_ = o.last_error_;
    o.fd_ = -1;
  }
  return *this;
}

Status HttpClient::fail(Error e, std::string message) {
  last_error_ = e;
  if (e == Error::kBadResponse) {
    return Status::invalid(std::move(message));
  }
  return Status::unavailable(std::move(message));
}

void HttpClient::closeFd(bool reset) noexcept {
  if (fd_ >= 0) {
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    ::close(fd_);
    fd_ = -1;
  }
  rbuf_.clear();
  sent_heads_.clear();
  reusable_ = true;
  upgraded_ = false;
}

void HttpClient::close() noexcept {
  closeFd(false);
}

void HttpClient::reset() noexcept {
  closeFd(true);
}

SocketAddress HttpClient::localAddress() const noexcept {
  SocketAddress a;
  socklen_t len = sizeof(a.storage);
  if (fd_ < 0 || ::getsockname(fd_, a.sa(), &len) != 0) {
    return SocketAddress();
  }
  return a;
}

Status HttpClient::connect() {
  closeFd(false);
  last_error_ = Error::kNone;
  Result<SocketAddress> addr = parseSocketAddress(address_);
  if (!addr.isOk()) {
    last_error_ = Error::kConnect;
    return addr.status();
  }
  const SocketAddress& to = addr.value();
  int fd = ::socket(to.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail(Error::kConnect, std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto deadline = callDeadline();
  int rc = ::connect(fd, to.sa(), to.len());
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return fail(Error::kConnect, "connect " + address_ + ": " + std::strerror(err));
  }
  if (rc != 0) {
    int ready = waitFor(fd, POLLOUT, deadline);
    if (ready <= 0) {
      ::close(fd);
      return fail(ready == 0 ? Error::kTimeout : Error::kConnect,
                  "connect " + address_ + ": " + (ready == 0 ? "timed out" : "poll failed"));
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ::close(fd);
      return fail(Error::kConnect, "connect " + address_ + ": " + std::strerror(err));
    }
  }
  fd_ = fd;
  return Status::ok();
}

Status HttpClient::ensureConnected() {
  if (fd_ >= 0) {
    return Status::ok();
  }
  return connect();
}

Status HttpClient::writeAll(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = waitFor(fd_, POLLOUT, deadline);
      if (ready == 0) {
        return fail(Error::kTimeout, "send to " + address_ + ": timed out");
      }
      continue;
    }
    return fail(Error::kReset, "send to " + address_ + ": " + std::strerror(errno));
  }
  return Status::ok();
}

int HttpClient::fill(Clock::time_point deadline, Status* status) {
  if (fd_ < 0) {
    *status = fail(Error::kClosed, "not connected");
    return -1;
  }
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      rbuf_.append(buf, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
    if (n == 0) {
      return 0;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int ready = waitFor(fd_, POLLIN, deadline);
      if (ready == 0) {
        *status = fail(Error::kTimeout, "read from " + address_ + ": timed out");
        return -1;
      }
      continue;
    }
    *status = fail(Error::kReset, "read from " + address_ + ": " + std::strerror(errno));
    return -1;
  }
}

Status HttpClient::send(std::string_view method, std::string_view target, const Headers& headers,
                        std::string_view body) {
  last_error_ = Error::kNone;
  if (fd_ < 0 || upgraded_ || (!reusable_ && sent_heads_.empty())) {
    Status s = connect();
    if (!s.isOk()) {
      return s;
    }
  }
  std::string out;
  out.reserve(128 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  bool has_host = false;
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    Wk wk = classifyHeader(name);
    has_host = has_host || wk == Wk::kHost;
    has_length = has_length || wk == Wk::kContentLength || wk == Wk::kTransferEncoding;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_host) {
    out.append("Host: ").append(address_).append("\r\n");
  }
  if (!has_length && (!body.empty() || isBodyMethod(method))) {
    char num[24];
    auto r = std::to_chars(num, num + sizeof(num), body.size());
    out.append("Content-Length: ").append(num, r.ptr).append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
  Status s = writeAll(out, callDeadline());
  if (s.isOk()) {
    sent_heads_.push_back(method == "HEAD");
  }
  return s;
}

Result<HttpClient::Response> HttpClient::request(std::string_view method, std::string_view target,
                                                 const Headers& headers, std::string_view body) {
  Status s = send(method, target, headers, body);
  if (!s.isOk()) {
    return s;
  }
  return readResponse();
}

Result<HttpClient::Response> HttpClient::readResponse() {
  bool head = false;
  if (!sent_heads_.empty()) {
    head = sent_heads_.front();
    sent_heads_.pop_front();
  }
  return readOne(head, callDeadline());
}

Result<HttpClient::Response> HttpClient::readResponseRaw(bool head_request) {
  return readOne(head_request, callDeadline());
}

Result<HttpClient::Response> HttpClient::readOne(bool head_request, Clock::time_point deadline) {
  last_error_ = Error::kNone;
  Response resp;
  Collector col(resp, max_body_bytes_);
  Http1Parser parser(Http1Parser::Kind::kResponse, col, limits_);
  parser.expectHeadResponse(head_request);
  bool got_bytes = !rbuf_.empty();
  for (;;) {
    if (!rbuf_.empty()) {
      Http1Parser::Result r = parser.feed(rbuf_);
      if (r.status == Http1Parser::Status::kError) {
        return fail(Error::kBadResponse,
                    std::string("bad response from ") + address_ + ": " + parser.errorReason());
      }
      rbuf_.erase(0, r.status == Http1Parser::Status::kOk ? rbuf_.size() : r.consumed);
      if (col.too_large) {
        closeFd(false);
        return fail(Error::kTooLarge, "answer from " + address_ + ": body over the limit of " +
                                          std::to_string(max_body_bytes_) + " bytes");
      }
      if (col.done) {
        if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
          resp = Response();  // interim answer: the real one follows
          col.done = false;
          parser.reset();
          continue;
        }
        if (resp.status == 101) {
          upgraded_ = true;
        }
        reusable_ = resp.keep_alive && !upgraded_;
        return resp;
      }
    }
    Status st;
    int n = fill(deadline, &st);
    if (n < 0) {
      return st;
    }
    if (n > 0) {
      got_bytes = true;
      continue;
    }
    // EOF: completes an answer delimited by the close, else the answer was cut short.
    col.finishing = true;
    if (parser.inMessage() && parser.finish() == Http1Parser::Status::kOk && col.done) {
      reusable_ = false;
      return resp;
    }
    return fail(Error::kClosed,
                std::string("connection to ") + address_ + " closed " +
                    (got_bytes ? "in the middle of a response" : "before a response"));
  }
}

Status HttpClient::sendRaw(std::string_view bytes) {
  last_error_ = Error::kNone;
  Status s = ensureConnected();
  if (!s.isOk()) {
    return s;
  }
  return writeAll(bytes, callDeadline());
}

Result<std::string> HttpClient::readRaw(size_t max_bytes) {
  last_error_ = Error::kNone;
  if (rbuf_.empty()) {
    Status st;
    int n = fill(callDeadline(), &st);
    if (n < 0) {
      return st;
    }
    if (n == 0) {
      return std::string();
    }
  }
  size_t n = std::min(max_bytes, rbuf_.size());
  std::string out = rbuf_.substr(0, n);
  rbuf_.erase(0, n);
  return out;
}

Result<std::string> HttpClient::readExactly(size_t n) {
  last_error_ = Error::kNone;
  auto deadline = callDeadline();
  while (rbuf_.size() < n) {
    Status st;
    int got = fill(deadline, &st);
    if (got < 0) {
      return st;
    }
    if (got == 0) {
      return fail(Error::kClosed, "connection to " + address_ + " closed after " +
                                      std::to_string(rbuf_.size()) + " of " + std::to_string(n) +
                                      " bytes");
    }
  }
  std::string out = rbuf_.substr(0, n);
  rbuf_.erase(0, n);
  return out;
}

Result<std::string> HttpClient::readUntilClose() {
  last_error_ = Error::kNone;
  auto deadline = callDeadline();
  for (;;) {
    Status st;
    int got = fill(deadline, &st);
    if (got < 0) {
      return st;
    }
    if (got == 0) {
      std::string out;
      out.swap(rbuf_);
      return out;
    }
  }
}

Status HttpClient::shutdownWrite() {
  if (fd_ < 0) {
    return fail(Error::kClosed, "not connected");
  }
  if (::shutdown(fd_, SHUT_WR) != 0) {
    return fail(Error::kReset, std::string("shutdown: ") + std::strerror(errno));
  }
  return Status::ok();
}

bool HttpClient::waitForClose(std::chrono::milliseconds wait) {
  if (fd_ < 0) {
    return true;
  }
  if (!rbuf_.empty()) {
    return false;
  }
  Status st;
  int n = fill(Clock::now() + wait, &st);
  if (n == 0) {
    return true;
  }
  return n < 0 && last_error_ == Error::kReset;
}

Result<HttpClient::Response> HttpClient::fetch(std::string address, std::string_view method,
                                               std::string_view target, const Headers& headers,
                                               std::string_view body,
                                               std::chrono::milliseconds timeout) {
  HttpClient c(std::move(address), timeout);
  return c.request(method, target, headers, body);
}

}  // namespace remora::common
