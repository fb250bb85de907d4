#pragma once
// Fault injection (per route): delay and/or abort a share of requests, or the requests that
// ask for it with x-remora-fault-delay-ms / x-remora-fault-abort when header_trigger is on.
// A delay holds the request (its body too) for the fixed time, then lets it go on or aborts it;
// an abort answers with the configured status and x-remora-reason: fault-injected. Every fault
// is counted in remora_fault_injected_total{route,kind} and noted in the decision trail.

#include <cstdint>
#include <memory>
#include <string>

#include "common/stats.h"
#include "common/timer.h"
#include "filters/api/http_filter.h"

namespace remora::filters::fault {

struct FaultConfig {
  std::string route;
  uint32_t delay_per_million = 0;  // share of requests delayed, in millionths
  uint64_t delay_ms = 0;
  uint32_t abort_per_million = 0;
  uint16_t abort_status = 503;
  bool header_trigger = false;
  common::Counter delays;  // remora_fault_injected_total{route, kind="delay"}
  common::Counter aborts;  // remora_fault_injected_total{route, kind="abort"}
};

class FaultFilterFactory final : public HttpFilterFactory {
 public:
  explicit FaultFilterFactory(FaultConfig config) : config_(std::move(config)) {}
  std::string_view name() const noexcept override { return "fault"; }
  std::unique_ptr<HttpFilter> create() const override;
  const FaultConfig& config() const noexcept { return config_; }

 private:
  FaultConfig config_;
};

class FaultFilter final : public HttpFilter {
 public:
  explicit FaultFilter(const FaultConfig& config) : config_(config) {}
  FilterStatus onRequestHeaders(http::RequestHead& head, StreamCtx& ctx) noexcept override;
  void onDone(const StreamInfo& info) noexcept override;

 private:
  void abort(StreamCtx& ctx, uint16_t status) noexcept;

  const FaultConfig& config_;
  std::unique_ptr<common::Timer> timer_;
  bool abort_after_delay_ = false;
  uint16_t abort_status_ = 0;
};

}  // namespace remora::filters::fault
