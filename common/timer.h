#pragma once
// Timer: a one-shot or repeating uv_timer_t owned by a C++ object. The object may be destroyed at
// any time, even by its own callback (which then must not touch what it destroyed); the uv
// handle itself is released in its close callback (its memory kept for the thread's next
// Timer: common/recycled.h).

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

 private:
  static void onTimer(uv_timer_t* h);
  uv_timer_t* handle_;
  std::function<void()> cb_;
};

}  // namespace remora::common
