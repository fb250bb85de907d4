#include "common/timer.h"

#include "common/event_loop.h"
#include "common/recycled.h"

namespace remora::common {

struct Timer::Handle {
  uv_timer_t uv;          // first: a uv_timer_t* is a Handle*
  uint64_t fires_at = 0;  // loop time the uv timer goes off; 0: not armed (or repeating)
};

namespace {
uv_handle_t* asHandle(uv_timer_t* t) {
  return reinterpret_cast<uv_handle_t*>(t);
}
}  // namespace

Timer::Handle* Timer::newHandle(uv_loop_t* loop) {
  auto* h = new (BlockCache<sizeof(Handle), 1024>::take()) Handle;
  uv_timer_init(loop, &h->uv);
  return h;
}

void Timer::freeHandle(uv_handle_t* h) {
  BlockCache<sizeof(Handle), 1024>::give(h);
}

void Timer::closeSpareHandle(uv_timer_t* h) noexcept {
  uv_close(asHandle(h), freeHandle);
}

Timer::Timer(uv_loop_t* loop, std::function<void()> cb) : cb_(std::move(cb)) {
  EventLoop* owner = EventLoop::fromUv(loop);
  uv_timer_t* spare = owner != nullptr ? owner->takeSpareTimer() : nullptr;
  handle_ = spare != nullptr ? reinterpret_cast<Handle*>(spare) : newHandle(loop);
  handle_->uv.data = this;
}

Timer::~Timer() {
  uv_timer_t* h = &handle_->uv;
  h->data = nullptr;
  if (!repeating_) {
    EventLoop* owner = EventLoop::fromUv(h->loop);
    if (owner != nullptr && owner->keepSpareTimer(h)) {
      uv_unref(asHandle(h));  // (if still armed, it goes off to nothing: onTimer)
      return;
    }
  }
  uv_close(asHandle(h), freeHandle);
}

void Timer::start(uint64_t timeout_ms, uint64_t repeat_ms) noexcept {
  if (!unref_) {
    uv_ref(asHandle(&handle_->uv));
  }
  if (repeat_ms != 0) {
    pending_ = false;
    repeating_ = true;
    handle_->fires_at = 0;
    uv_timer_start(&handle_->uv, onTimer, timeout_ms, repeat_ms);
    return;
  }
  if (repeating_) {
    repeating_ = false;
    uv_timer_stop(&handle_->uv);
  }
  uint64_t now = uv_now(handle_->uv.loop);
  uint64_t due = now + timeout_ms;
  if (due < now) {
    due = UINT64_MAX;  // as libuv clamps it
  }
  deadline_ = due;
  pending_ = true;
  if (handle_->fires_at == 0 || handle_->fires_at > due) {
    armHandle(due, timeout_ms);
  }
}

void Timer::armHandle(uint64_t due, uint64_t timeout_ms) noexcept {
  uv_timer_start(&handle_->uv, onTimer, timeout_ms, 0);
  handle_->fires_at = due;
}

void Timer::stop() noexcept {
  if (repeating_) {
    repeating_ = false;
    uv_timer_stop(&handle_->uv);
    return;
  }
  pending_ = false;
  if (handle_->fires_at != 0) {
    uv_unref(asHandle(&handle_->uv));  // armed, but nothing waits on it
  }
}

bool Timer::armed() const noexcept {
  if (repeating_) {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->uv)) != 0;
  }
  return pending_;
}

void Timer::unref() noexcept {
  unref_ = true;
  uv_unref(asHandle(&handle_->uv));
}

void Timer::onTimer(uv_timer_t* h) {
  auto* self = static_cast<Timer*>(h->data);
  if (self == nullptr || !self->repeating_) {
    reinterpret_cast<Handle*>(h)->fires_at = 0;
  }
  if (self == nullptr) {
    return;  // a spare handle going off for a Timer that is gone
  }
  if (!self->repeating_) {
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
