#pragma once
// StopSignals: SIGTERM and SIGINT delivered to a callback on a libuv loop (the loop thread), for
// the binaries' graceful stop. Destroying it (before EventLoop::closeAll) stops listening.

#include <uv.h>

#include <functional>

namespace remora::common {

class StopSignals {
 public:
  // Starts listening at once; `on_signal` gets the signal number.
  StopSignals(uv_loop_t* loop, std::function<void(int)> on_signal);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  std::function<void(int)> on_signal_;
  uv_signal_t* handles_[2] = {nullptr, nullptr};
};

}  // namespace remora::common
