#pragma once
// Timer: a one-shot or repeating uv_timer_t owned by a C++ object. The object may be destroyed at
// any time, even by its own callback (which then must not touch what it destroyed); the uv
// handle itself is released in its close callback (its memory kept for the thread's next
// Timer: common/recycled.h).
//
// One-shot timers are lazy, as nginx's and HAProxy's are: stop() and a start() that moves the
// deadline later leave libuv's timer heap alone (the idle and request timers of a keep-alive
// connection stop and start on every request, and the heap's sift-ups and sift-downs over
// every connection's handles were about 7% of the proxy's user time under load). The uv timer
// stays armed for the earlier time; when it goes off it re-arms for what is left of the
// deadline, or does nothing if the timer was stopped. A stopped timer never keeps the loop
// alive. The callback runs at the deadline as before, on the loop's clock.
//
// On a loop an EventLoop owns, a destroyed one-shot Timer leaves its handle to the loop's
// spare list, armed as it was, and the next Timer takes it: a stream's request timer, made
// and dropped with every request, then neither inits, closes nor re-sorts a handle.

#include <uv.h>

#include <cstdint>
#include <functional>

namespace remora::common {

class Timer {
 public:
  Timer(uv_loop_t* loop, std::function<void()> cb);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer: fires after timeout_ms, then every repeat_ms if non-zero.
  void start(uint64_t timeout_ms, uint64_t repeat_ms = 0) noexcept;
  void stop() noexcept;
  bool armed() const noexcept;
  // Keeps the loop from staying alive just for this timer.
  void unref() noexcept;

  // Closes and frees a handle a Timer left in its loop's spare list (EventLoop::closeAll).
  static void closeSpareHandle(uv_timer_t* h) noexcept;

 private:
  struct Handle;  // the uv timer and the loop time it goes off at
  static Handle* newHandle(uv_loop_t* loop);
  static void freeHandle(uv_handle_t* h);
  static void onTimer(uv_timer_t* h);
  // Arms the uv timer for loop time `due` (a one-shot's deadline).
  void armHandle(uint64_t due, uint64_t timeout_ms) noexcept;

  Handle* handle_;
  std::function<void()> cb_;
  uint64_t deadline_ = 0;  // one-shot: loop time the callback is due (when pending_)
  bool pending_ = false;   // one-shot: started and not yet stopped or run
  bool repeating_ = false;
  bool unref_ = false;  // unref() was called: the timer never keeps the loop alive
};

}  // namespace remora::common
