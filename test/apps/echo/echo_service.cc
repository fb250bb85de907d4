#include "test/apps/echo/echo_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "common/json_writer.h"

namespace remora::echo {

using common::equalsIgnoreCase;
using common::HttpRequest;
using common::HttpResponse;
using common::Responder;

namespace {

// The pattern repeats every 256 bytes: 31 * 256 is a multiple of 256.
constexpr std::array<char, 256> makePattern() {
  std::array<char, 256> p{};
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<char>((i * 31 + 7) & 0xff);
  }
  return p;
}
constexpr std::array<char, 256> kPattern = makePattern();

// Bigger bodies are streamed from the pattern instead of built in one string.
constexpr uint64_t kStreamAbove = 1024 * 1024;
constexpr uint64_t kMaxBytes = uint64_t{1} << 32;

bool parseUint(std::string_view s, uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parseStatus(std::string_view s, int& out) {
  uint64_t v = 0;
  if (!parseUint(s, v) || v < 100 || v > 599) {
    return false;
  }
  out = static_cast<int>(v);
  return true;
}

bool truthy(std::string_view v) {
  return v == "1" || equalsIgnoreCase(v, "true");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

HttpResponse patternResponse(int status, uint64_t n) {
  HttpResponse resp(status, "", "application/octet-stream");
  if (n > kStreamAbove) {
    resp.setBodySource(n, appendPattern);
  } else {
    appendPattern(0, static_cast<size_t>(n), resp.body);
  }
  return resp;
}

HttpResponse badRequest(std::string message) {
  return HttpResponse(400, std::move(message) + "\n");
}

struct TimerHolder final : common::Deletable {
  explicit TimerHolder(std::unique_ptr<common::Timer> t) : timer(std::move(t)) {}
  std::unique_ptr<common::Timer> timer;
};

}  // namespace

bool parseRate(std::string_view s, double& out) {
  if (s.empty() || s.size() > 32) {
    return false;
  }
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || !(v >= 0.0 && v <= 1.0)) {
    return false;
  }
  out = v;
  return true;
}

void appendPattern(uint64_t offset, size_t n, std::string& out) {
  size_t at = out.size();
  out.resize(at + n);
  char* p = out.data() + at;
  size_t phase = static_cast<size_t>(offset & 0xff);
  while (n > 0) {
    size_t run = std::min(n, kPattern.size() - phase);
    std::memcpy(p, kPattern.data() + phase, run);
    p += run;
    n -= run;
    phase = 0;
  }
}

std::string fnv1a64Hex(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  static const char* kHex = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    buf[i] = kHex[h & 0xf];
    h >>= 4;
  }
  return std::string(buf, 16);
}

EchoService::EchoService(common::EventLoop& loop, std::string id, EchoDefaults defaults,
                         bool close_on_reuse, uint64_t seed)
    : loop_(loop),
      id_(std::move(id)),
      defaults_(defaults),
      close_on_reuse_(close_on_reuse),
      rng_(seed != 0 ? seed : std::random_device{}()) {}

EchoService::~EchoService() {
  close();
}

void EchoService::close() noexcept {
  timers_.clear();
}

void EchoService::later(uint64_t delay_ms, std::function<void()> fn) {
  uint64_t key = next_timer_++;
  auto timer = std::make_unique<common::Timer>(loop_.uv(), [this, key, fn = std::move(fn)] {
    auto it = timers_.find(key);
    if (it == timers_.end()) {
      return;
    }
    // The timer may not be destroyed inside its own callback: hand it to the loop first.
    std::unique_ptr<common::Timer> self = std::move(it->second);
    timers_.erase(it);
    // `fn` lives inside the timer, which the loop frees only after this callback.
    loop_.deferDelete(std::make_unique<TimerHolder>(std::move(self)));
    fn();
  });
  timer->start(delay_ms);
  timers_.emplace(key, std::move(timer));
}

void EchoService::answer(Responder& responder, HttpResponse response) noexcept {
  int status = response.status;
  uint64_t n = ++served_[status];
  spdlog::debug("{}: answered {} (#{} with this status)", id_, status, n);
  responder.respond(std::move(response));
}

void EchoService::handle(HttpRequest& req, Responder responder) noexcept {
  spdlog::debug("{}: {} {} from {} (#{} on its connection)", id_, req.method, req.target,
                req.peer.toString(), req.request_on_connection);
  if (close_on_reuse_ && req.request_on_connection > 1) {
    ++served_[0];
    spdlog::debug("{}: closing a reused connection without answering", id_);
    responder.close();
    return;
  }

  uint64_t delay = defaults_.latency_ms;
  std::string_view v = req.header("x-echo-delay-ms");
  if (!v.empty() && !parseUint(v, delay)) {
    answer(responder, badRequest("bad x-echo-delay-ms"));
    return;
  }
  bool reset = truthy(req.header("x-echo-reset"));

  HttpResponse resp = configure(req);
  resp.headers.set("x-echo-id", id_);

  if (reset) {
    auto fire = [this, responder]() mutable {
      ++served_[0];
      spdlog::debug("{}: resetting the connection", id_);
      responder.reset();
    };
    if (delay > 0) {
      later(delay, std::move(fire));
    } else {
      fire();
    }
    return;
  }

  if (req.upgrade && req.hasHeader("upgrade") && resp.status == 101) {
    common::TunnelHandler t;
    t.on_data = [](common::Tunnel& tunnel, std::string_view data) { tunnel.write(data); };
    auto fire = [this, responder, resp = std::make_shared<HttpResponse>(std::move(resp)),
                 t = std::move(t)]() mutable {
      ++served_[101];
      responder.upgrade(std::move(*resp), std::move(t));
    };
    if (delay > 0) {
      later(delay, std::move(fire));
    } else {
      fire();
    }
    return;
  }

  if (delay == 0) {
    answer(responder, std::move(resp));
    return;
  }
  later(delay, [this, responder, resp = std::make_shared<HttpResponse>(std::move(resp))]() mutable {
    answer(responder, std::move(*resp));
  });
}

HttpResponse EchoService::configure(HttpRequest& req) {
  int status = defaults_.status;
  double fail_rate = defaults_.fail_rate;
  int64_t body_size = defaults_.body_size;
  std::string_view v = req.header("x-echo-status");
  if (!v.empty() && !parseStatus(v, status)) {
    return badRequest("bad x-echo-status");
  }
  v = req.header("x-echo-fail-rate");
  if (!v.empty() && !parseRate(v, fail_rate)) {
    return badRequest("bad x-echo-fail-rate");
  }
  v = req.header("x-echo-body-size");
  if (!v.empty()) {
    uint64_t n = 0;
    if (!parseUint(v, n) || n > kMaxBytes) {
      return badRequest("bad x-echo-body-size");
    }
    body_size = static_cast<int64_t>(n);
  }

  HttpResponse resp;
  const std::string& path = req.path;
  bool healthz = path == "/healthz";
  if (req.upgrade && req.hasHeader("upgrade") && req.method_id != HTTP_CONNECT) {
    resp = HttpResponse(101, "", "");
    resp.headers.add("Upgrade", req.header("upgrade"));
  } else if (healthz) {
    resp = HttpResponse(status, "ok");
  } else if (path == "/echo-body") {
    resp = HttpResponse(status, std::move(req.body), "application/octet-stream");
  } else if (path.rfind("/bytes/", 0) == 0) {
    uint64_t n = 0;
    if (!parseUint(std::string_view(path).substr(7), n) || n > kMaxBytes) {
      return badRequest("bad /bytes/N");
    }
    resp = patternResponse(status, n);
  } else if (path == "/_echo/config") {
    if (req.method_id != HTTP_POST) {
      return HttpResponse(405, "POST only\n");
    }
    EchoDefaults d = defaults_;
    uint64_t n = 0;
    if ((req.hasQuery("status") && !parseStatus(req.query("status"), d.status)) ||
        (req.hasQuery("fail-rate") && !parseRate(req.query("fail-rate"), d.fail_rate)) ||
        (req.hasQuery("latency-ms") && !parseUint(req.query("latency-ms"), d.latency_ms))) {
      return badRequest("bad config parameter");
    }
    if (req.hasQuery("body-size")) {
      std::string b = req.query("body-size");
      if (b == "-1") {
        d.body_size = -1;
      } else if (parseUint(b, n) && n <= kMaxBytes) {
        d.body_size = static_cast<int64_t>(n);
      } else {
        return badRequest("bad body-size");
      }
    }
    defaults_ = d;
    spdlog::info("{}: defaults now status={} latency_ms={} fail_rate={} body_size={}", id_,
                 d.status, d.latency_ms, d.fail_rate, d.body_size);
    common::JsonWriter w;
    w.beginObject();
    w.field("status", d.status);
    w.field("latency_ms", d.latency_ms);
    w.field("fail_rate", d.fail_rate);
    w.field("body_size", d.body_size);
    w.endObject();
    return HttpResponse::json(200, w.take());
  } else if (body_size >= 0) {
    resp = patternResponse(status, static_cast<uint64_t>(body_size));
  } else {
    resp = HttpResponse::json(status, describe(req));
  }

  if (!healthz && resp.status != 101 && fail_rate > 0 &&
      std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < fail_rate) {
    resp.status = defaults_.fail_status;
    resp.headers.set("x-echo-failed", "1");
  }
  if (truthy(req.header("x-echo-chunked"))) {
    resp.chunked = true;
  }
  if (truthy(req.header("x-echo-close"))) {
    resp.headers.set("Connection", "close");
  }
  constexpr std::string_view kPrefix = "x-echo-header-";
  req.headers.forEach([&](std::string_view name, std::string_view value) {
    if (name.size() > kPrefix.size() && equalsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix)) {
      resp.headers.add(name.substr(kPrefix.size()), value);
    }
  });
  return resp;
}

std::string EchoService::describe(const HttpRequest& req) const {
  // Repeated header names are joined with ", " so that every key appears once.
  std::vector<std::pair<std::string, std::string>> headers;
  req.headers.forEach([&](std::string_view name, std::string_view value) {
    std::string key = lower(name);
    for (auto& h : headers) {
      if (h.first == key) {
        h.second.append(", ").append(value);
        return;
      }
    }
    headers.emplace_back(std::move(key), std::string(value));
  });
  common::JsonWriter w;
  w.beginObject();
  w.field("id", id_);
  w.field("method", req.method);
  w.field("path", req.path);
  w.field("query", req.query_string);
  w.key("headers");
  w.beginObject();
  for (const auto& [name, value] : headers) {
    w.field(name, value);
  }
  w.endObject();
  w.field("body_bytes", static_cast<uint64_t>(req.body.size()));
  w.field("body_fnv1a", fnv1a64Hex(req.body));
  w.field("peer", req.peer.toString());
  w.field("request_on_connection", req.request_on_connection);
  w.endObject();
  std::string out = w.take();
  out.push_back('\n');
  return out;
}

void EchoService::logCounters() const {
  for (const auto& [status, n] : served_) {
    if (status == 0) {
      spdlog::info("{}: {} requests closed or reset without an answer", id_, n);
    } else {
      spdlog::info("{}: {} answers with status {}", id_, n, status);
    }
  }
}

}  // namespace remora::echo
