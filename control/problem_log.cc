#include "control/problem_log.h"

namespace remora::control {

ProblemLog::ProblemLog(Sink sink, uint64_t interval_ms, size_t lines_per_interval)
    : sink_(std::move(sink)), interval_ms_(interval_ms), lines_per_interval_(lines_per_interval) {}

bool ProblemLog::take(uint64_t now_ms) {
  if (!window_start_ || now_ms >= *window_start_ + interval_ms_) {
    window_start_ = now_ms;
    lines_in_window_ = 0;
  }
  if (lines_in_window_ >= lines_per_interval_) {
    return false;
  }
  ++lines_in_window_;
  return true;
}

void ProblemLog::update(const std::vector<std::string>& current, uint64_t now_ms) {
  std::unordered_set<std::string> now(current.begin(), current.end());
  for (const std::string& p : current) {
    if (known_.count(p) > 0 || now.count(p) == 0) {
      continue;  // persisting, or a duplicate already handled
    }
    if (take(now_ms)) {
      sink_(Level::kError, "config problem: " + p);
    } else {
      ++unlogged_new_;
    }
    known_.insert(p);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    if (now.count(*it) > 0) {
      ++it;
      continue;
    }
    if (take(now_ms)) {
      sink_(Level::kInfo, "config problem cleared: " + *it);
    } else {
      ++unlogged_cleared_;
    }
    it = known_.erase(it);
  }
  tick(now_ms);
}

void ProblemLog::tick(uint64_t now_ms) {
  if (unlogged_new_ == 0 && unlogged_cleared_ == 0) {
    return;
  }
  if (last_summary_ && now_ms < *last_summary_ + interval_ms_) {
    return;
  }
  last_summary_ = now_ms;
  sink_(Level::kWarn, "config problems: " + std::to_string(unlogged_new_) + " more appeared and " +
                          std::to_string(unlogged_cleared_) + " cleared without a line each; " +
                          std::to_string(known_.size()) + " in force (listed in /v1/status)");
  unlogged_new_ = 0;
  unlogged_cleared_ = 0;
}

}  // namespace remora::control
