#pragma once
// A StreamCtx for filter unit tests: records what the filter asked for, on a real loop (timers
// only, no sockets).

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/stats.h"
#include "filters/api/http_filter.h"

namespace remora::filters::fakes {

class FakeStreamCtx final : public StreamCtx {
 public:
  explicit FakeStreamCtx(common::EventLoop& loop) : loop_(loop), stats_(1), rng_(42) {}
  void sendLocalReply(Reason reason, std::string_view, uint16_t status) noexcept override {
    replied = true;
    reply_reason = reason;
    reply_status = status ? status : reasonStatus(reason);
  }
  void sendLocalReply(const LocalReply& r) noexcept override {
    sendLocalReply(r.reason, r.detail, r.status);
    reply_headers.clear();
    for (const auto& [k, v] : r.headers) {
      reply_headers.emplace_back(std::string(k), std::string(v));
    }
    reply_body = r.has_body ? std::string(r.body) : std::string();
  }
  void resume() noexcept override { ++resumed; }
  StreamInfo& info() noexcept override { return info_; }
  std::unique_ptr<common::Timer> createTimer(std::function<void()> cb) override {
    return std::make_unique<common::Timer>(loop_.uv(), std::move(cb));
  }
  common::StatsShard& stats() noexcept override { return stats_.shard(0); }
  uint64_t random() noexcept override { return rng_(); }
  std::string_view downstreamHost() noexcept override { return downstream_host; }

  common::StatsStore& store() { return stats_; }
  bool replied = false;
  Reason reply_reason = Reason::kNone;
  uint16_t reply_status = 0;
  std::vector<std::pair<std::string, std::string>> reply_headers;
  std::string reply_body;
  int resumed = 0;
  std::string downstream_host = "127.0.0.1";

 private:
  common::EventLoop& loop_;
  common::StatsStore stats_;
  std::mt19937_64 rng_;
  StreamInfo info_;
};

}  // namespace remora::filters::fakes
