#include "common/timer.h"

#include "common/recycled.h"

namespace remora::common {

namespace {
using HandleBlocks = BlockCache<sizeof(uv_timer_t), 1024>;
}  // namespace

Timer::Timer(uv_loop_t* loop, std::function<void()> cb)
    : handle_(static_cast<uv_timer_t*>(HandleBlocks::take())), cb_(std::move(cb)) {
  uv_timer_init(loop, handle_);
  handle_->data = this;
}

Timer::~Timer() {
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { HandleBlocks::give(h); });
}

void Timer::start(uint64_t timeout_ms, uint64_t repeat_ms) noexcept {
  if (!unref_) {
    uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
  }
  if (repeat_ms != 0) {
    pending_ = false;
    repeating_ = true;
    fires_at_ = 0;
    uv_timer_start(handle_, onTimer, timeout_ms, repeat_ms);
    return;
  }
  if (repeating_) {
    repeating_ = false;
    uv_timer_stop(handle_);
  }
  uint64_t now = uv_now(handle_->loop);
  uint64_t due = now + timeout_ms;
  if (due < now) {
    due = UINT64_MAX;  // as libuv clamps it
  }
  deadline_ = due;
  pending_ = true;
  if (fires_at_ == 0 || fires_at_ > due) {
    armHandle(due, timeout_ms);
  }
}

void Timer::armHandle(uint64_t due, uint64_t timeout_ms) noexcept {
  uv_timer_start(handle_, onTimer, timeout_ms, 0);
  fires_at_ = due;
}

void Timer::stop() noexcept {
  if (repeating_) {
    repeating_ = false;
    uv_timer_stop(handle_);
    return;
  }
  pending_ = false;
  if (fires_at_ != 0) {
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));  // armed, but nothing waits on it
  }
}

bool Timer::armed() const noexcept {
  if (repeating_) {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
  }
  return pending_;
}

void Timer::unref() noexcept {
  unref_ = true;
  uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
}

void Timer::onTimer(uv_timer_t* h) {
  auto* self = static_cast<Timer*>(h->data);
  if (self == nullptr) {
    return;
  }
  if (!self->repeating_) {
    self->fires_at_ = 0;
    if (!self->pending_) {
      return;  // stopped after it was armed
    }
    uint64_t now = uv_now(h->loop);
    if (self->deadline_ > now) {
      self->armHandle(self->deadline_, self->deadline_ - now);  // the deadline moved on
      return;
    }
    self->pending_ = false;
  }
  // A copy runs, so the callback may destroy the Timer (and so cb_) while it executes.
  std::function<void()> cb = self->cb_;
  cb();
}

}  // namespace remora::common
