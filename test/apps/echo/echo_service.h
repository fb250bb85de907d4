#pragma once
// EchoService: remora-echo's HTTP behaviour, on top of common::HttpServer.
//
// Every answer carries `x-echo-id: <id>`. By default the body is JSON describing the request
// (id, method, path, query, lowercased headers, body_bytes, body_fnv1a, peer,
// request_on_connection). Flags set the defaults; request headers override them per request:
//   x-echo-delay-ms: N     answer after N ms
//   x-echo-status: CODE    answer with CODE
//   x-echo-body-size: N    body of N pattern bytes instead of JSON
//   x-echo-fail-rate: F    answer --fail-status with probability F (0..1)
//   x-echo-reset: 1        reset the connection (RST) instead of answering (after the delay)
//   x-echo-chunked: 1      answer with Transfer-Encoding: chunked
//   x-echo-close: 1        answer with Connection: close, then close
//   x-echo-header-NAME: V  adds the answer header NAME: V
// Special paths (any method): /healthz -> "ok" (status overrides apply, fail rate does not);
// /echo-body -> the request body byte for byte; /bytes/N -> N pattern bytes (streamed);
// POST /_echo/config?status=&latency-ms=&fail-rate=&body-size= changes the defaults at run time.
// Requests with `Upgrade` get 101 and the connection becomes a raw byte echo.
// Pattern byte i is (i * 31 + 7) & 0xff.

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>

#include "common/event_loop.h"
#include "common/http_server.h"
#include "common/timer.h"

namespace remora::echo {

struct EchoDefaults {
  uint64_t latency_ms = 0;
  int status = 200;
  double fail_rate = 0;
  int fail_status = 503;
  int64_t body_size = -1;  // -1: JSON description
};

// Appends bytes [offset, offset + n) of the deterministic pattern to out.
void appendPattern(uint64_t offset, size_t n, std::string& out);
// A rate in 0..1 ("0.25"); false (and `out` unchanged) when `s` is not one.
bool parseRate(std::string_view s, double& out);
// FNV-1a 64 of data, as 16 lowercase hex digits.
std::string fnv1a64Hex(std::string_view data);

class EchoService {
 public:
  // `seed` 0: seeded from std::random_device.
  EchoService(common::EventLoop& loop, std::string id, EchoDefaults defaults, bool close_on_reuse,
              uint64_t seed);
  ~EchoService();
  EchoService(const EchoService&) = delete;
  EchoService& operator=(const EchoService&) = delete;

  // The HttpServer handler.
  void handle(common::HttpRequest& req, common::Responder responder) noexcept;
  // Drops pending delayed answers (their connections close with the server). Call after the
  // server's close() and before EventLoop::closeAll().
  void close() noexcept;
  void setId(std::string id) { id_ = std::move(id); }
  // Logs the per-status counters (info).
  void logCounters() const;

 private:
  void answer(common::Responder& responder, common::HttpResponse response) noexcept;
  void later(uint64_t delay_ms, std::function<void()> fn);
  common::HttpResponse configure(common::HttpRequest& req);
  std::string describe(const common::HttpRequest& req) const;

  common::EventLoop& loop_;
  std::string id_;
  EchoDefaults defaults_;
  bool close_on_reuse_;
  std::mt19937_64 rng_;
  uint64_t next_timer_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<common::Timer>> timers_;
  std::map<int, uint64_t> served_;  // per status; 0 = closed or reset without an answer
};

}  // namespace remora::echo
