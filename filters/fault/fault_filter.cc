#include "filters/fault/fault_filter.h"

#include <charconv>

namespace remora::filters::fault {

namespace {
constexpr std::string_view kDelayHeader = "x-remora-fault-delay-ms";
constexpr std::string_view kAbortHeader = "x-remora-fault-abort";

bool parseUint(std::string_view v, uint64_t* out) {
  auto r = std::from_chars(v.data(), v.data() + v.size(), *out);
  return !v.empty() && r.ec == std::errc() && r.ptr == v.data() + v.size();
}

bool roll(StreamCtx& ctx, uint32_t per_million) {
  return per_million > 0 && ctx.random() % 1000000 < per_million;
}
}  // namespace

std::unique_ptr<HttpFilter> FaultFilterFactory::create() const {
  return std::make_unique<FaultFilter>(config_);
}

FilterStatus FaultFilter::onRequestHeaders(http::RequestHead& head, StreamCtx& ctx) noexcept {
  uint64_t delay_ms = roll(ctx, config_.delay_per_million) ? config_.delay_ms : 0;
  uint16_t abort_status = roll(ctx, config_.abort_per_million) ? config_.abort_status : 0;
  if (config_.header_trigger) {
    uint64_t v = 0;
    if (head.headers.has(kDelayHeader) && parseUint(head.headers.get(kDelayHeader), &v)) {
      delay_ms = v;
    }
    if (head.headers.has(kAbortHeader) && parseUint(head.headers.get(kAbortHeader), &v) &&
        v >= 200 && v <= 599) {
      abort_status = static_cast<uint16_t>(v);
    }
    head.headers.remove(kDelayHeader);
    head.headers.remove(kAbortHeader);
  }
  if (delay_ms == 0) {
    if (abort_status == 0) {
      return FilterStatus::kContinue;
    }
    abort(ctx, abort_status);
    return FilterStatus::kStop;
  }
  ctx.stats().add(config_.delays);
  ctx.info().note("fault: delay " + std::to_string(delay_ms) + "ms");
  abort_after_delay_ = abort_status != 0;
  abort_status_ = abort_status;
  StreamCtx* c = &ctx;
  timer_ = ctx.createTimer([this, c] {
    // Nothing of this filter is touched after the call: it may end the stream.
    if (abort_after_delay_) {
      abort(*c, abort_status_);
    } else {
      c->resume();
    }
  });
  timer_->start(delay_ms);
  return FilterStatus::kStop;
}

void FaultFilter::abort(StreamCtx& ctx, uint16_t status) noexcept {
  ctx.stats().add(config_.aborts);
  ctx.info().note("fault: abort " + std::to_string(status));
  ctx.sendLocalReply(Reason::kFaultInjected, "injected by the route's fault policy", status);
}

void FaultFilter::onDone(const StreamInfo&) noexcept {
  if (timer_) {
    timer_->stop();
  }
}

}  // namespace remora::filters::fault
