#include "filters/health_check/health_checker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace remora::filters::health_check {

// ---- HealthState ----

HealthState::HealthState(const HealthCheckConfig& config) noexcept
    : unhealthy_threshold_(std::max<uint32_t>(1, config.unhealthy_threshold)),
      healthy_threshold_(std::max<uint32_t>(1, config.healthy_threshold)) {}

bool HealthState::onResult(bool passed) noexcept {
  if (!checked_) {
    checked_ = true;
    healthy_ = passed;
    return passed;  // it started unhealthy: only a pass changes anything
  }
  if (passed == healthy_) {
    streak_ = 0;
    return false;
  }
  if (++streak_ < (healthy_ ? unhealthy_threshold_ : healthy_threshold_)) {
    return false;
  }
  healthy_ = !healthy_;
  streak_ = 0;
  return true;
}

// ---- HealthChecker ----

struct HealthChecker::Target {
  explicit Target(HealthCheckTarget s) : spec(std::move(s)), state(*spec.config) {}

  HealthCheckTarget spec;
  HealthState state;
  // The next check while idle; the timeout while a probe runs.
  std::unique_ptr<common::Timer> timer;
  Probe* probe = nullptr;  // the check in flight; frees itself through deferDelete
};

// ---- Probe ----

Probe::Probe(common::EventLoop& loop, ProbeRequest request, Done done)
    : loop_(loop),
      request_(std::move(request)),
      done_cb_(std::move(done)),
      conn_(loop, *this),
      codec_(conn_, *this),
      timer_(loop.uv(), [this] {
        complete(false, "timeout after " + std::to_string(request_.timeout_ms) + "ms");
      }) {}

void Probe::start() noexcept {
  timer_.start(request_.timeout_ms);
  int rc = conn_.connect(request_.address);
  if (rc < 0) {
    complete(false, std::string("connect failure (") + uv_err_name(rc) + ")");
  }
}

void Probe::complete(bool passed, const std::string& reason) noexcept {
  if (done_) {
    return;
  }
  Done done = std::move(done_cb_);
  release();
  done(passed, reason);  // last: it may start or stop other probes
}

void Probe::cancel() noexcept {
  if (!done_) {
    release();
  }
}

void Probe::release() noexcept {
  done_ = true;
  timer_.stop();
  conn_.close();
  loop_.deferDelete(std::unique_ptr<common::Deletable>(this));
}

void Probe::onConnected(int status) noexcept {
  if (status < 0) {
    complete(false, std::string("connect failure (") + uv_err_name(status) + ")");
    return;
  }
  if (!request_.http) {
    complete(true, {});
    return;
  }
  http::RequestHead head;
  head.method.assign("GET");
  head.path = request_.path;
  head.headers.add("Host", request_.host);
  head.headers.add("User-Agent", "remora-health-check");
  for (const auto& [name, value] : request_.headers) {
    head.headers.add(name, value);
  }
  head.headers.add("Connection", "close");
  http::RequestEncoder& encoder = codec_.newStream(*this);
  encoder.setCallbacks(*this);
  encoder.encodeHeaders(head, true);
  conn_.readStart();
}

void Probe::onData(const char* data, size_t len) noexcept {
  if (done_) {
    return;
  }
  if (!codec_.dispatch(data, len)) {
    complete(false, "bad response (" + std::string(codec_.errorDetail()) + ")");
  }
}

void Probe::onEof() noexcept {
  if (done_) {
    return;
  }
  // Completes a response delimited by the close; resets the exchange otherwise.
  codec_.onConnectionClosed();
}

void Probe::onError(int uv_err) noexcept {
  complete(false, std::string("connection error (") + uv_err_name(uv_err) + ")");
}

void Probe::decodeHeaders(http::ResponseHead& head, bool end_stream) noexcept {
  status_ = head.status;
  if (end_stream) {
    responseComplete();
  }
}

void Probe::decodeData(std::string_view, bool end_stream) noexcept {
  if (end_stream) {
    responseComplete();
  }
}

void Probe::responseComplete() noexcept {
  complete(request_.passes && request_.passes(status_), "status " + std::to_string(status_));
}

void Probe::onResetStream(http::StreamResetReason reason) noexcept {
  if (reason == http::StreamResetReason::kProtocolError) {
    complete(false, "bad response (" + std::string(codec_.errorDetail()) + ")");
  } else if (codec_.responseStarted()) {
    complete(false, "connection closed before a complete response");
  } else {
    complete(false, "connection closed without a response");
  }
}

namespace {

common::EventLoop& eventLoopOf(uv_loop_t* loop) {
  common::EventLoop* owner = common::EventLoop::fromUv(loop);
  if (owner == nullptr) {
    spdlog::critical("HealthChecker: the uv loop does not belong to a common::EventLoop");
    std::abort();
  }
  return *owner;
}

}  // namespace

HealthChecker::HealthChecker(uv_loop_t* loop, common::StatsShard& stats, uint64_t seed)
    : loop_(eventLoopOf(loop)), stats_(stats), rng_(seed) {}

HealthChecker::~HealthChecker() {
  for (auto& [key, target] : targets_) {
    stop(*target);
  }
}

void HealthChecker::update(std::vector<HealthCheckTarget> targets) {
  bool was_done = initialRoundDone();
  std::map<std::string, HealthCheckTarget, std::less<>> incoming;
  for (HealthCheckTarget& t : targets) {
    if (t.config && t.host && t.health) {
      std::string key = t.cluster + "/" + t.address_text;
      incoming.insert_or_assign(std::move(key), std::move(t));
    }
  }

  for (auto it = targets_.begin(); it != targets_.end();) {
    Target& old = *it->second;
    auto next = incoming.find(it->first);
    bool same_host = next != incoming.end() && next->second.host == old.spec.host &&
                     next->second.health == old.spec.health;
    if (next != incoming.end() && *next->second.config == *old.spec.config) {
      // Kept: same state and schedule, the new entry's host, health and counter.
      if (!same_host) {
        old.spec.host->clearFlag(kHostFailedHealthCheck, *old.spec.health);
        if (!old.state.healthy()) {
          next->second.host->setFlag(kHostFailedHealthCheck, *next->second.health);
        }
      }
      old.spec = std::move(next->second);
      incoming.erase(next);
      ++it;
      continue;
    }
    // Removed, or replaced by a target with another config (which sets the flag again below;
    // clearing it first would let traffic through for a moment).
    stop(old);
    if (!same_host) {
      old.spec.host->clearFlag(kHostFailedHealthCheck, *old.spec.health);
    }
    if (!old.state.checked()) {
      --first_pending_;
    }
    it = targets_.erase(it);
  }

  for (auto& [key, spec] : incoming) {
    spec.host->setFlag(kHostFailedHealthCheck, *spec.health);
    auto target = std::make_unique<Target>(std::move(spec));
    Target* t = target.get();
    target->timer = std::make_unique<common::Timer>(loop_.uv(), [this, t] { startCheck(*t); });
    target->timer->start(0);
    ++first_pending_;
    targets_.emplace(key, std::move(target));
  }

  maybeInitialRoundDone(was_done);
}

bool HealthChecker::healthy(std::string_view cluster_and_address) const noexcept {
  auto it = targets_.find(cluster_and_address);
  return it != targets_.end() && it->second->state.healthy();
}

void HealthChecker::startCheck(Target& t) {
  const HealthCheckConfig& c = *t.spec.config;
  ProbeRequest request;
  request.address = t.spec.address;
  request.http = c.kind == HealthCheckConfig::Kind::kHttp;
  request.path = c.path;
  request.host = c.host.empty() ? t.spec.address_text : c.host;
  request.passes = [config = t.spec.config](int status) {
    const auto& expected = config->expected_statuses;
    return std::find(expected.begin(), expected.end(), status) != expected.end();
  };
  request.timeout_ms = c.timeout_ms;
  auto* probe =
      new Probe(loop_, std::move(request), [this, &t](bool passed, const std::string& why) {
        t.probe = nullptr;
        // The target outlives its probe: stop() cancels the probe before a target goes.
        finishCheck(t, passed, why);
      });
  t.probe = probe;  // before start(): it may report at once
  probe->start();
}

void HealthChecker::finishCheck(Target& t, bool passed, const std::string& reason) {
  const std::string& cluster = t.spec.cluster;
  const std::string& address = t.spec.address_text;
  bool first = !t.state.checked();
  if (!passed) {
    stats_.add(t.spec.failures);
    spdlog::debug("health check: cluster {} endpoint {} failed ({})", cluster, address, reason);
  }
  if (t.state.onResult(passed) || first) {
    if (t.state.healthy()) {
      t.spec.host->clearFlag(kHostFailedHealthCheck, *t.spec.health);
      spdlog::info("health check: cluster {} endpoint {} now healthy", cluster, address);
    } else {
      t.spec.host->setFlag(kHostFailedHealthCheck, *t.spec.health);
      spdlog::info("health check: cluster {} endpoint {} now unhealthy ({}{})", cluster, address,
                   reason, first ? ", first check" : "");
    }
  }
  scheduleNext(t);
  if (first) {
    --first_pending_;
    maybeInitialRoundDone(false);  // last: the callback may change the targets
  }
}

void HealthChecker::scheduleNext(Target& t) {
  uint64_t delay = t.spec.config->interval_ms;
  if (uint64_t jitter = t.spec.config->jitter_ms; jitter != 0) {
    delay += std::uniform_int_distribution<uint64_t>(0, jitter)(rng_);
  }
  t.timer->start(delay);
}

void HealthChecker::stop(Target& t) {
  if (t.probe != nullptr) {
    t.probe->cancel();
    t.probe = nullptr;
  }
  t.timer->stop();
}

void HealthChecker::maybeInitialRoundDone(bool was_done) {
  if (!was_done && initialRoundDone() && initial_round_cb_) {
    std::function<void()> cb = initial_round_cb_;  // the callback may replace itself
    cb();
  }
}

}  // namespace remora::filters::health_check
