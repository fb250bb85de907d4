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
  uv_timer_start(handle_, onTimer, timeout_ms, repeat_ms);
}

void Timer::stop() noexcept {
  uv_timer_stop(handle_);
}

bool Timer::armed() const noexcept {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
}

void Timer::unref() noexcept {
  uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
}

void Timer::onTimer(uv_timer_t* h) {
  auto* self = static_cast<Timer*>(h->data);
  if (self != nullptr) {
    // A copy runs, so the callback may destroy the Timer (and so cb_) while it executes.
    std::function<void()> cb = self->cb_;
    cb();
  }
}

}  // namespace remora::common
