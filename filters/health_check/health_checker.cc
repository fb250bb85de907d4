#include "filters/health_check/health_checker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "common/http1_parser.h"
#include "common/tcp_connection.h"
#include "common/timer.h"

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

// One check: a connection (and for HTTP a request and its response). It reports once to the
// checker, then closes its connection and hands itself to EventLoop::deferDelete, so it may end
// inside any of its own callbacks.
class HealthChecker::Probe final : public common::Deletable,
                                   public common::TcpConnection::Handler,
                                   public common::Http1Parser::Callbacks {
 public:
  Probe(HealthChecker& checker, Target& target)
      : checker_(&checker),
        target_(&target),
        http_(target.spec.config->kind == HealthCheckConfig::Kind::kHttp),
        conn_(checker.loop_, *this),
        parser_(common::Http1Parser::Kind::kResponse, *this) {}

  void start() noexcept {
    int rc = conn_.connect(target_->spec.address);
    if (rc < 0) {
      complete(false, std::string("connect failure (") + uv_err_name(rc) + ")");
    }
  }

  // Ends the check with a result (no-op once ended).
  void complete(bool passed, const std::string& reason) noexcept {
    if (done_) {
      return;
    }
    HealthChecker* checker = checker_;
    Target* target = target_;
    release();
    // Last: it may run the initial-round callback, which may change the targets.
    checker->finishCheck(*target, passed, reason);
  }

  // Ends the check without a result (target removed, checker destroyed).
  void cancel() noexcept {
    if (!done_) {
      release();
    }
  }

  // TcpConnection::Handler
  void onConnected(int status) noexcept override {
    if (status < 0) {
      complete(false, std::string("connect failure (") + uv_err_name(status) + ")");
      return;
    }
    if (!http_) {
      complete(true, {});
      return;
    }
    const HealthCheckConfig& c = *target_->spec.config;
    std::string request = "GET " + c.path + " HTTP/1.1\r\nHost: " +
                          (c.host.empty() ? target_->spec.address_text : c.host) +
                          "\r\nUser-Agent: remora-health-check\r\nConnection: close\r\n\r\n";
    conn_.write(request);
    conn_.readStart();
  }
  void onData(const char* data, size_t len) noexcept override {
    if (done_) {
      return;
    }
    if (parser_.feed(data, len).status == common::Http1Parser::Status::kError) {
      complete(false, std::string("bad response (") + parser_.errorReason() + ")");
    }
  }
  void onEof() noexcept override {
    if (done_) {
      return;
    }
    if (parser_.finish() == common::Http1Parser::Status::kError) {
      complete(false, "connection closed before a complete response");
    } else {
      complete(false, "connection closed without a response");  // no-op if a response completed
    }
  }
  void onError(int uv_err) noexcept override {
    complete(false, std::string("connection error (") + uv_err_name(uv_err) + ")");
  }

  // Http1Parser::Callbacks
  common::HeadAction onHeaders(common::MessageHead& head) noexcept override {
    status_ = head.status;
    return common::HeadAction::kContinue;
  }
  void onBody(std::string_view) noexcept override {}
  bool onMessageComplete() noexcept override {
    if (status_ >= 100 && status_ < 200 && status_ != 101) {
      return false;  // an interim answer: the real one follows
    }
    const auto& expected = target_->spec.config->expected_statuses;
    bool passed = std::find(expected.begin(), expected.end(), status_) != expected.end();
    complete(passed, "status " + std::to_string(status_));
    return true;  // nothing after it matters
  }

 private:
  // Detaches from the checker, closes the connection and schedules this object's deletion.
  void release() noexcept {
    done_ = true;
    target_->probe = nullptr;
    conn_.close();
    checker_->loop_.deferDelete(std::unique_ptr<common::Deletable>(this));
  }

  HealthChecker* checker_;
  Target* target_;
  bool http_;
  bool done_ = false;
  int status_ = 0;
  common::TcpConnection conn_;
  common::Http1Parser parser_;
};

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
    target->timer = std::make_unique<common::Timer>(loop_.uv(), [this, t] {
      if (t->probe != nullptr) {
        t->probe->complete(false,
                           "timeout after " + std::to_string(t->spec.config->timeout_ms) + "ms");
      } else {
        startCheck(*t);
      }
    });
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
  auto* probe = new Probe(*this, t);
  t.probe = probe;
  t.timer->start(t.spec.config->timeout_ms);  // before start(): a failure there re-arms it
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
