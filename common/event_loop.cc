#include "common/event_loop.h"

#include "common/timer.h"

namespace remora::common {

EventLoop::EventLoop() : read_buf_(new char[kReadBufferSize]) {
  uv_loop_init(&loop_);
  loop_.data = this;
  uv_async_init(&loop_, &async_, onAsync);
  async_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, onCheck);
  // The check handle alone must not keep the loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
}

EventLoop::~EventLoop() {
  if (!closed_) {
    closeAll();
  }
}

EventLoop* EventLoop::fromUv(uv_loop_t* loop) noexcept {
  return loop == nullptr ? nullptr : static_cast<EventLoop*>(loop->data);
}

void EventLoop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  uv_async_send(&async_);
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void EventLoop::deferDelete(std::unique_ptr<Deletable> obj) {
  deferred_.push_back(std::move(obj));
}

void EventLoop::atEndOfIteration(EndOfIterationTask& task) {
  if (end_tasks_.empty() && !closed_) {
    if (!idle_ready_) {
      // Made on first use: a loop that never needs it (most) has one handle less to close.
      uv_idle_init(&loop_, &idle_);
      uv_unref(reinterpret_cast<uv_handle_t*>(&idle_));
      idle_ready_ = true;
    }
    uv_idle_start(&idle_, [](uv_idle_t*) {});
  }
  end_tasks_.push_back(&task);
}

void EventLoop::cancelEndOfIteration(EndOfIterationTask& task) noexcept {
  for (auto* list : {&end_tasks_, &running_tasks_}) {
    for (EndOfIterationTask*& t : *list) {
      if (t == &task) {
        t = nullptr;
      }
    }
  }
}

void EventLoop::runEndOfIteration() {
  // A task may register tasks again; a few rounds here, the rest in the next iteration.
  for (int round = 0; round < 4 && !end_tasks_.empty(); ++round) {
    running_tasks_.swap(end_tasks_);
    for (size_t i = 0; i < running_tasks_.size(); ++i) {
      if (EndOfIterationTask* t = running_tasks_[i]) {
        running_tasks_[i] = nullptr;
        t->onEndOfIteration();
      }
    }
    running_tasks_.clear();
  }
  if (end_tasks_.empty() && !closed_ && idle_ready_) {
    uv_idle_stop(&idle_);
  }
}

void EventLoop::drainDeferred() {
  // Destructors may defer more deletions; loop until quiet.
  // The two vectors trade places and keep their capacity: a deletion per request costs no
  // allocation. (A destructor that drains again finds the outer loop doing it.)
  if (draining_now_) {
    return;
  }
  draining_now_ = true;
  while (!deferred_.empty()) {
    draining_.swap(deferred_);
    draining_.clear();
  }
  draining_now_ = false;
}

void EventLoop::onAsync(uv_async_t* h) {
  auto* self = static_cast<EventLoop*>(h->data);
  std::vector<std::function<void()>> work;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    work.swap(self->posted_);
    stop = self->stop_requested_;
  }
  for (auto& fn : work) {
    fn();
  }
  if (stop) {
    uv_stop(&self->loop_);
  }
}

void EventLoop::onCheck(uv_check_t* h) {
  auto* self = static_cast<EventLoop*>(h->data);
  self->runEndOfIteration();
  self->drainDeferred();
}

uv_timer_t* EventLoop::takeSpareTimer() noexcept {
  if (spare_timers_.empty()) {
    return nullptr;
  }
  uv_timer_t* h = spare_timers_.back();
  spare_timers_.pop_back();
  return h;
}

bool EventLoop::keepSpareTimer(uv_timer_t* handle) noexcept {
  constexpr size_t kKeep = 256;
  if (closed_ || spare_timers_.size() >= kKeep) {
    return false;
  }
  spare_timers_.push_back(handle);
  return true;
}

int EventLoop::closeAll() {
  runEndOfIteration();
  closed_ = true;
  drainDeferred();
  for (uv_timer_t* h : spare_timers_) {
    Timer::closeSpareHandle(h);
  }
  spare_timers_.clear();
  // Let pending close callbacks run, then close whatever is left (including our own handles).
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) {
          uv_close(h, nullptr);
        }
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  drainDeferred();
  return uv_loop_close(&loop_);
}

}  // namespace remora::common
