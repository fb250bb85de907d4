#pragma once
// ProblemLog: logs the control plane's configuration problems (manifest errors, translation
// errors, resource sets too large to send) without repeating them. Every rebuild hands it the
// whole current list; it logs a problem once when it appears and once when it clears, and
// nothing while it persists. At most `lines_per_interval` such lines are written per interval;
// past that, appearances and clearings are only counted and one summary line ("N more new
// problems, M cleared, K in force: see /v1/status") is written at most once per interval. The
// full (bounded) list stays in /v1/status.
//
// No clock and no logger of its own: the caller passes the time and a sink (spdlog in the
// control plane, a vector in tests). Loop thread only.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace remora::control {

class ProblemLog {
 public:
  enum class Level { kError, kInfo, kWarn };
  using Sink = std::function<void(Level, const std::string&)>;

  ProblemLog(Sink sink, uint64_t interval_ms = 10000, size_t lines_per_interval = 10);

  // `current`: every problem now (duplicates count once). Logs what appeared and cleared since
  // the previous call, within the line budget.
  void update(const std::vector<std::string>& current, uint64_t now_ms);
  // Writes the pending summary when one is due (call it from a periodic timer, so that counted
  // changes are reported even when no further update() comes).
  void tick(uint64_t now_ms);

  size_t inForce() const noexcept { return known_.size(); }

 private:
  // Spends one line of the budget; false when it is spent for this interval.
  bool take(uint64_t now_ms);

  Sink sink_;
  uint64_t interval_ms_;
  size_t lines_per_interval_;
  std::unordered_set<std::string> known_;
  std::optional<uint64_t> window_start_;
  size_t lines_in_window_ = 0;
  std::optional<uint64_t> last_summary_;
  uint64_t unlogged_new_ = 0;
  uint64_t unlogged_cleared_ = 0;
};

}  // namespace remora::control
