#pragma once
// EventLoop: one uv_loop_t plus the services every owner of a loop needs:
//  - deferred deletion: objects are never destroyed inside their own callbacks; deferDelete()
//    hands them to a uv_check_t that runs after the I/O callbacks of this iteration;
//  - post(): run a function on this loop's thread from any thread (uv_async_t + queue);
//  - end-of-iteration tasks: work that several callbacks of one iteration would each do (a
//    write), done once after all of them (atEndOfIteration);
//  - a shared read buffer: libuv's alloc callback hands out this loop's slab, and the read
//    callback consumes or copies the bytes before returning, so one buffer serves every socket;
//  - spare timer handles: a Timer destroyed hands its uv_timer_t here instead of closing it,
//    and the next Timer of this loop takes it (common/timer.h).
// One EventLoop per thread. Not thread-safe except post().

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace remora::common {

class Deletable {
 public:
  virtual ~Deletable() = default;
};

// A task for EventLoop::atEndOfIteration.
class EndOfIterationTask {
 public:
  virtual void onEndOfIteration() noexcept = 0;

 protected:
  ~EndOfIterationTask() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* uv() noexcept { return &loop_; }
  // The EventLoop whose uv() is `loop` (kept in loop->data), or nullptr for a uv_loop_t that no
  // EventLoop owns. Lets code handed a bare uv_loop_t use TcpConnection and deferDelete.
  static EventLoop* fromUv(uv_loop_t* loop) noexcept;
  // Runs until stop() or until nothing keeps the loop alive.
  void run();
  // Thread-safe: asks the loop to close its own handles and return from run().
  void stop();
  // Thread-safe: runs fn on the loop thread, in order.
  void post(std::function<void()> fn);
  void deferDelete(std::unique_ptr<Deletable> obj);
  // Runs `task` once after the I/O callbacks of this iteration (before deferred deletions),
  // also when it was registered from a timer or with nothing else to wait for: the loop does
  // not block in between. Register a task at most once before it runs; a task destroyed
  // before then must cancel itself.
  void atEndOfIteration(EndOfIterationTask& task);
  void cancelEndOfIteration(EndOfIterationTask& task) noexcept;

  static constexpr size_t kReadBufferSize = 64 * 1024;
  char* readBuffer() noexcept { return read_buf_.get(); }
  // Closes every remaining handle and checks the loop closes cleanly. Returns uv_loop_close().
  int closeAll();

  // Spare timer handles (for common::Timer only). take: one, or nullptr when none is kept.
  // keep: false when the list is full or the loop is closing (the caller closes the handle
  // itself). Kept handles are unreferenced and may still be armed; closeAll() hands each to
  // Timer::closeSpareHandle.
  uv_timer_t* takeSpareTimer() noexcept;
  bool keepSpareTimer(uv_timer_t* handle) noexcept;
  size_t spareTimers() const noexcept { return spare_timers_.size(); }

  // Cached clock for this iteration, in milliseconds (uv_now).
  uint64_t nowMs() noexcept { return uv_now(&loop_); }

 private:
  static void onAsync(uv_async_t* h);
  static void onCheck(uv_check_t* h);
  void drainDeferred();
  void runEndOfIteration();

  uv_loop_t loop_;
  uv_async_t async_;
  uv_check_t check_;
  uv_idle_t idle_;  // started while tasks wait: the poll does not block
  bool idle_ready_ = false;
  std::vector<EndOfIterationTask*> end_tasks_;
  std::vector<EndOfIterationTask*> running_tasks_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
  bool stop_requested_ = false;
  std::vector<std::unique_ptr<Deletable>> deferred_;
  std::vector<std::unique_ptr<Deletable>> draining_;  // the batch being deleted (see drainDeferred)
  bool draining_now_ = false;
  std::unique_ptr<char[]> read_buf_;
  std::vector<uv_timer_t*> spare_timers_;
  bool closed_ = false;
};

}  // namespace remora::common
