#pragma once
// HttpClient: a small blocking HTTP/1.1 client for tests and CLI tools (plain POSIX sockets, no
// libuv). One client = one connection at a time, reused while the server keeps it alive.
// Every call has a deadline (the client's timeout); nothing blocks forever.
//
//   HttpClient c("127.0.0.1:8080");
//   auto r = c.get("/healthz");
//   if (r.isOk() && r.value().status == 200) { ... }
//
// The connection is opened on the first request (or by connect()). After an answer that ends
// the connection (`Connection: close`, HTTP/1.0 without keep-alive) the next request opens a
// new one. A connection that the server closed unexpectedly is an error (lastError() tells
// which kind), so tests see it.
// Not thread-safe: use one client per thread.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/header_map.h"
#include "common/http1_parser.h"
#include "common/socket_address.h"
#include "common/status.h"

namespace remora::common {

class HttpClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  struct Response {
    int status = 0;
    std::string reason;
    uint8_t version_minor = 1;
    HeaderMap headers;
    std::string body;        // de-chunked
    bool keep_alive = true;  // the server allows another request on this connection
    bool chunked = false;    // it came with Transfer-Encoding: chunked
    // First value of a header (any case); empty when absent.
    std::string_view header(std::string_view name) const noexcept { return headers.get(name); }
    bool hasHeader(std::string_view name) const noexcept { return headers.has(name); }
  };

  // Why the last call failed.
  enum class Error : uint8_t {
    kNone,
    kConnect,      // could not connect
    kTimeout,      // the deadline passed
    kClosed,       // the peer closed (EOF) before a complete answer
    kReset,        // the peer reset the connection (or another socket error)
    kBadResponse,  // the bytes were not a valid HTTP/1 response
    kTooLarge,     // the answer's body was over setMaxBodyBytes() (the connection is closed)
  };

  HttpClient() = default;
  // `address` is "IP:PORT". Nothing is connected yet.
  explicit HttpClient(std::string address,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void setAddress(std::string address) { address_ = std::move(address); }
  const std::string& address() const noexcept { return address_; }
  // Deadline of each later call (connect, one request/answer, one raw read...).
  void setTimeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  // Limits for parsing answers (e.g. a big header limit to read anything).
  void setParserLimits(ParserLimits limits) noexcept { limits_ = limits; }
  // Largest answer body kept; a longer one fails with kTooLarge as soon as it goes over, and the
  // connection is closed. 0 (the default): no limit.
  void setMaxBodyBytes(size_t max_body_bytes) noexcept { max_body_bytes_ = max_body_bytes; }
  // A deadline for every later call together, on top of each call's own timeout: no call
  // (connect, send, read) waits past it. For "this whole exchange within T".
  void setDeadline(std::chrono::steady_clock::time_point deadline) noexcept {
    deadline_ = deadline;
  }

  // (Re)connects now, closing any current connection.
  Status connect();
  // Closes the connection (FIN); the next request reconnects.
  void close() noexcept;
  // Closes with an RST (SO_LINGER 0) instead of a FIN.
  void reset() noexcept;
  bool connected() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  SocketAddress localAddress() const noexcept;
  Error lastError() const noexcept { return last_error_; }

  // One request and its answer. Adds Host (the address) and Content-Length (when there is a
  // body, or for POST/PUT/PATCH) unless given. HEAD answers are read without a body.
  Result<Response> request(std::string_view method, std::string_view target,
                           const Headers& headers = {}, std::string_view body = {});
  Result<Response> get(std::string_view target, const Headers& headers = {}) {
    return request("GET", target, headers);
  }
  Result<Response> head(std::string_view target, const Headers& headers = {}) {
    return request("HEAD", target, headers);
  }
  Result<Response> post(std::string_view target, std::string_view body,
                        const Headers& headers = {}) {
    return request("POST", target, headers, body);
  }

  // Pipelining: send() several requests, then readResponse() once for each, in order.
  Status send(std::string_view method, std::string_view target, const Headers& headers = {},
              std::string_view body = {});
  // Reads the answer to the oldest request sent and not yet answered (any request: a HEAD
  // answer is read without a body). 1xx answers other than 101 are skipped. After a 101 the
  // connection is a raw byte stream: use readRaw()/sendRaw().
  Result<Response> readResponse();
  // Reads one answer regardless of what was sent (after sendRaw()); `head_request` reads it as
  // the answer to a HEAD.
  Result<Response> readResponseRaw(bool head_request = false);

  // Raw bytes (malformed-request tests, tunnels). sendRaw connects if needed.
  Status sendRaw(std::string_view bytes);
  // Waits for at least one byte and returns what is there (up to max_bytes). An empty string
  // means the peer closed (EOF).
  Result<std::string> readRaw(size_t max_bytes = 64 * 1024);
  // Reads exactly n bytes (error on EOF or deadline).
  Result<std::string> readExactly(size_t n);
  // Reads until the peer closes; returns everything read (error on deadline or reset).
  Result<std::string> readUntilClose();
  // Half-closes the write side (FIN) and keeps reading.
  Status shutdownWrite();
  // True when the peer closes (EOF or RST) within `wait`; false when the deadline passes or
  // bytes arrive instead (they are kept for later reads).
  bool waitForClose(std::chrono::milliseconds wait);

  // One request on a fresh connection.
  static Result<Response> fetch(
      std::string address, std::string_view method, std::string_view target,
      const Headers& headers = {}, std::string_view body = {},
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

 private:
  using Clock = std::chrono::steady_clock;
  // now + timeout_, or the overall deadline when it comes first.
  Clock::time_point callDeadline() const noexcept {
    return std::min(Clock::now() + timeout_, deadline_);
  }
  Status fail(Error e, std::string message);
  Status ensureConnected();
  Status writeAll(std::string_view data, Clock::time_point deadline);
  // Reads more bytes into rbuf_. Returns >0 bytes read, 0 on EOF, <0 on error (status set).
  int fill(Clock::time_point deadline, Status* status);
  Result<Response> readOne(bool head_request, Clock::time_point deadline);
  void closeFd(bool reset) noexcept;

  std::string address_;
  std::chrono::milliseconds timeout_{5000};
  ParserLimits limits_;
  size_t max_body_bytes_ = 0;
  Clock::time_point deadline_ = Clock::time_point::max();
  int fd_ = -1;
  bool reusable_ = true;         // the last answer allowed another request
  bool upgraded_ = false;        // a 101 was read: no more HTTP on this connection
  std::string rbuf_;             // bytes read and not consumed yet
  std::deque<bool> sent_heads_;  // per request sent and not yet answered: was it HEAD?
  Error last_error_ = Error::kNone;
};

}  // namespace remora::common
