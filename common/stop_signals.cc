#include "common/stop_signals.h"

#include <csignal>

namespace remora::common {

StopSignals::StopSignals(uv_loop_t* loop, std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  const int signals[2] = {SIGTERM, SIGINT};
  for (int i = 0; i < 2; ++i) {
    handles_[i] = new uv_signal_t;
    uv_signal_init(loop, handles_[i]);
    handles_[i]->data = this;
    uv_signal_start(
        handles_[i],
        [](uv_signal_t* h, int signum) { static_cast<StopSignals*>(h->data)->on_signal_(signum); },
        signals[i]);
  }
}

StopSignals::~StopSignals() {
  for (uv_signal_t*& h : handles_) {
    // The handle's memory outlives this object until libuv's close callback.
    h->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_signal_t*>(handle); });
    h = nullptr;
  }
}

}  // namespace remora::common
