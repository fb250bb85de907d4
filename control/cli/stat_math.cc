#include "control/cli/stat_math.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace remora::control::cli {

namespace {

uint64_t saturatingDelta(uint64_t after, uint64_t before) {
  return after >= before ? after - before : 0;
}

// The calls per grpc-status during the window, and their sum.
std::vector<GrpcStatusCount> grpcDeltas(const v1::ServiceStats& now, const v1::ServiceStats& then,
                                        uint64_t* total) {
  std::vector<GrpcStatusCount> out;
  *total = 0;
  for (const auto& [code, calls] : now.grpc_statuses()) {
    auto earlier = then.grpc_statuses().find(code);
    const uint64_t delta =
        saturatingDelta(calls, earlier == then.grpc_statuses().end() ? 0 : earlier->second);
    if (delta > 0) {
      out.push_back({code, delta});
      *total += delta;
    }
  }
  return out;
}

}  // namespace

std::optional<double> histogramQuantile(const std::vector<uint64_t>& counts,
                                        const std::vector<double>& bounds, double q) {
  if (bounds.empty()) {
    return std::nullopt;
  }
  uint64_t total = 0;
  for (uint64_t c : counts) {
    total += c;
  }
  if (total == 0) {
    return std::nullopt;
  }
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  double below = 0;  // observations in the buckets before i
  for (size_t i = 0; i < counts.size(); ++i) {
    const double in_bucket = static_cast<double>(counts[i]);
    if (counts[i] == 0 || below + in_bucket < rank) {
      below += in_bucket;
      continue;
    }
    if (i >= bounds.size()) {
      return bounds.back();  // the +Inf bucket has no upper end to interpolate towards
    }
    const double lower = i == 0 ? 0.0 : bounds[i - 1];
    const double upper = bounds[i];
    return lower + (upper - lower) * (rank - below) / in_bucket;
  }
  return bounds.back();  // not reached: the last non-empty bucket always holds the rank
}

double windowSeconds(const v1::StatsResponse& before, const v1::StatsResponse& after,
                     double fallback) {
  if (before.collected_unix_ms() > 0 && after.collected_unix_ms() > before.collected_unix_ms()) {
    return static_cast<double>(after.collected_unix_ms() - before.collected_unix_ms()) / 1000.0;
  }
  return fallback;
}

std::vector<ServiceWindow> serviceWindows(const v1::StatsResponse& before,
                                          const v1::StatsResponse& after, double window_seconds) {
  std::map<std::pair<std::string, std::string>, const v1::ServiceStats*> earlier;
  for (const v1::ServiceStats& s : before.services()) {
    earlier[{s.namespace_(), s.service()}] = &s;
  }
  const bool same_bounds =
      std::equal(before.latency_bounds_ms().begin(), before.latency_bounds_ms().end(),
                 after.latency_bounds_ms().begin(), after.latency_bounds_ms().end());
  const std::vector<double> bounds(after.latency_bounds_ms().begin(),
                                   after.latency_bounds_ms().end());

  std::vector<ServiceWindow> out;
  for (const v1::ServiceStats& now : after.services()) {
    static const v1::ServiceStats kNothing;
    auto it = earlier.find({now.namespace_(), now.service()});
    const v1::ServiceStats& then = it == earlier.end() ? kNothing : *it->second;

    ServiceWindow w;
    w.namespace_ = now.namespace_();
    w.service = now.service();
    w.requests = saturatingDelta(now.requests(), then.requests());
    w.errors = std::min(w.requests, saturatingDelta(now.errors(), then.errors()));
    uint64_t calls = 0;
    std::vector<GrpcStatusCount> statuses = grpcDeltas(now, then, &calls);
    if (calls > 0) {
      w.grpc = true;
      w.requests = calls;
      w.errors = 0;
      for (const GrpcStatusCount& s : statuses) {
        if (s.code != 0) {
          w.errors += s.calls;
          w.grpc_failures.push_back(s);
        }
      }
      std::sort(w.grpc_failures.begin(), w.grpc_failures.end(),
                [](const GrpcStatusCount& a, const GrpcStatusCount& b) {
                  return a.calls != b.calls ? a.calls > b.calls : a.code < b.code;
                });
    }
    w.rps = window_seconds > 0 ? static_cast<double>(w.requests) / window_seconds : 0.0;
    if (w.requests > 0) {
      w.success = 1.0 - static_cast<double>(w.errors) / static_cast<double>(w.requests);
    }
    std::vector<uint64_t> delta(now.latency_buckets().begin(), now.latency_buckets().end());
    if (same_bounds) {
      for (int i = 0; i < then.latency_buckets_size() && i < static_cast<int>(delta.size()); ++i) {
        delta[static_cast<size_t>(i)] =
            saturatingDelta(delta[static_cast<size_t>(i)], then.latency_buckets(i));
      }
    }
    w.p50_ms = histogramQuantile(delta, bounds, 0.5);
    w.p99_ms = histogramQuantile(delta, bounds, 0.99);
    out.push_back(std::move(w));
  }
  std::sort(out.begin(), out.end(), [](const ServiceWindow& a, const ServiceWindow& b) {
    return std::tie(a.namespace_, a.service) < std::tie(b.namespace_, b.service);
  });
  return out;
}

}  // namespace remora::control::cli
