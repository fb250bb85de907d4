#include "control/proxy_stats.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>

#include "common/grpc/grpc_status.h"
#include "common/http_client.h"
#include "common/stats.h"

namespace remora::control {

namespace {

// The value of label `name` in a `{a="x",b="y"}` label set (no escapes in our label values).
std::string_view labelValue(std::string_view labels, std::string_view name) {
  size_t pos = 0;
  while (pos < labels.size()) {
    size_t eq = labels.find("=\"", pos);
    if (eq == std::string_view::npos) {
      return {};
    }
    size_t key_start = labels.find_last_of("{,", eq);
    key_start = key_start == std::string_view::npos ? 0 : key_start + 1;
    size_t end = labels.find('"', eq + 2);
    if (end == std::string_view::npos) {
      return {};
    }
    if (labels.substr(key_start, eq - key_start) == name) {
      return labels.substr(eq + 2, end - eq - 2);
    }
    pos = end + 1;
  }
  return {};
}

// "catalog.shop:8080" -> "shop/catalog"; empty for clusters that are not mesh Services.
std::string serviceKey(std::string_view cluster) {
  size_t colon = cluster.rfind(':');
  size_t dot = cluster.find('.');
  if (colon == std::string_view::npos || dot == std::string_view::npos || dot > colon) {
    return {};
  }
  std::string_view name = cluster.substr(0, dot);
  std::string_view ns = cluster.substr(dot + 1, colon - dot - 1);
  if (name.empty() || ns.empty() || ns.find('.') != std::string_view::npos) {
    return {};
  }
  return std::string(ns) + "/" + std::string(name);
}

control::v1::ServiceStats& entryFor(ServiceStatsMap& totals, const std::string& key) {
  control::v1::ServiceStats& s = totals[key];
  if (s.service().empty()) {
    size_t slash = key.find('/');
    s.set_namespace_(key.substr(0, slash));
    s.set_service(key.substr(slash + 1));
    s.mutable_latency_buckets()->Resize(static_cast<int>(common::kHistogramBuckets), 0);
  }
  return s;
}

}  // namespace

void addPrometheusText(std::string_view text, ServiceStatsMap& totals) {
  constexpr std::string_view kRq = "remora_upstream_rq_total{";
  constexpr std::string_view kBucket = "remora_upstream_rq_time_ms_bucket{";
  constexpr std::string_view kGrpc = "remora_grpc_requests_total{";
  // Cumulative bucket counts of the current histogram, to turn into per-bucket counts.
  std::string last_cluster;
  uint64_t last_cumulative = 0;
  size_t bucket_index = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, eol == std::string_view::npos ? text.size() - pos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    const bool is_rq = line.substr(0, kRq.size()) == kRq;
    const bool is_bucket = !is_rq && line.substr(0, kBucket.size()) == kBucket;
    const bool is_grpc = !is_rq && !is_bucket && line.substr(0, kGrpc.size()) == kGrpc;
    if (!is_rq && !is_bucket && !is_grpc) {
      continue;
    }
    size_t close = line.rfind('}');
    if (close == std::string_view::npos) {
      continue;
    }
    std::string_view labels = line.substr(line.find('{'), close - line.find('{') + 1);
    uint64_t value = std::strtoull(std::string(line.substr(close + 1)).c_str(), nullptr, 10);
    std::string cluster(labelValue(labels, "cluster"));
    std::string key = serviceKey(cluster);
    if (key.empty()) {
      continue;
    }
    control::v1::ServiceStats& s = entryFor(totals, key);
    if (is_rq) {
      s.set_requests(s.requests() + value);
      if (labelValue(labels, "code_class") == "5xx") {
        s.set_errors(s.errors() + value);
      }
      continue;
    }
    if (is_grpc) {
      // Only the codes gRPC defines: a peer cannot grow the map past 17 entries per Service.
      std::optional<uint32_t> code = grpc::parseStatus(labelValue(labels, "grpc_status"));
      if (code && *code <= grpc::kMaxStatus && value > 0) {
        (*s.mutable_grpc_statuses())[*code] += value;
      }
      continue;
    }
    if (cluster != last_cluster) {
      last_cluster = cluster;
      last_cumulative = 0;
      bucket_index = 0;
    }
    if (bucket_index < common::kHistogramBuckets) {
      uint64_t in_bucket = value >= last_cumulative ? value - last_cumulative : 0;
      s.set_latency_buckets(static_cast<int>(bucket_index),
                            s.latency_buckets(static_cast<int>(bucket_index)) + in_bucket);
      last_cumulative = value;
      ++bucket_index;
    }
  }
}

void mergeServiceStats(const ServiceStatsMap& from, ServiceStatsMap& into) {
  for (const auto& [key, s] : from) {
    control::v1::ServiceStats& t = entryFor(into, key);
    t.set_requests(t.requests() + s.requests());
    t.set_errors(t.errors() + s.errors());
    for (int i = 0; i < s.latency_buckets_size() && i < t.latency_buckets_size(); ++i) {
      t.set_latency_buckets(i, t.latency_buckets(i) + s.latency_buckets(i));
    }
    for (const auto& [code, count] : s.grpc_statuses()) {
      (*t.mutable_grpc_statuses())[code] += count;
    }
  }
}

control::v1::StatsResponse collectProxyStats(
    const std::vector<std::pair<std::string, std::string>>& admins, const ScrapeOptions& options,
    ScrapeFailures* failures) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  // Workers take the next admin from `next`; each keeps its own totals (a body is parsed and
  // dropped at once), merged at the end under no lock.
  struct Worker {
    ServiceStatsMap totals;
    uint64_t scraped = 0;
    ScrapeFailures failed;
    std::thread thread;
  };
  std::atomic<size_t> next{0};
  const size_t n = std::min(admins.size(), std::max<size_t>(1, options.concurrency));
  std::vector<Worker> workers(n);
  auto run = [&](Worker& w) {
    for (size_t i = next++; i < admins.size(); i = next++) {
      if (Clock::now() >= deadline) {
        ++w.failed.timeout;  // not reached in time
        continue;
      }
      common::HttpClient client(admins[i].second, options.timeout);
      client.setDeadline(deadline);
      client.setMaxBodyBytes(options.max_body_bytes);
      auto r = client.get("/stats/prometheus");
      if (r.isOk() && r.value().status == 200) {
        ++w.scraped;
        addPrometheusText(r.value().body, w.totals);
        continue;
      }
      switch (r.isOk() ? common::HttpClient::Error::kBadResponse : client.lastError()) {
        case common::HttpClient::Error::kTimeout:
          ++w.failed.timeout;
          break;
        case common::HttpClient::Error::kTooLarge:
          ++w.failed.too_large;
          break;
        case common::HttpClient::Error::kConnect:
          ++w.failed.connect;
          break;
        default:
          ++w.failed.bad_answer;
          break;
      }
    }
  };
  for (size_t i = 1; i < n; ++i) {
    try {
      workers[i].thread = std::thread(run, std::ref(workers[i]));
    } catch (const std::system_error&) {
      break;  // no more threads: the running workers take the rest
    }
  }
  if (n > 0) {
    run(workers[0]);  // this thread is a worker too
  }
  control::v1::StatsResponse out;
  for (double b : common::kHistogramBoundsMs) {
    out.add_latency_bounds_ms(b);
  }
  ServiceStatsMap totals;
  ScrapeFailures failed;
  uint64_t scraped = 0;
  for (Worker& w : workers) {
    if (w.thread.joinable()) {
      w.thread.join();
    }
    mergeServiceStats(w.totals, totals);
    scraped += w.scraped;
    failed.timeout += w.failed.timeout;
    failed.too_large += w.failed.too_large;
    failed.connect += w.failed.connect;
    failed.bad_answer += w.failed.bad_answer;
  }
  out.set_proxies_scraped(static_cast<uint32_t>(scraped));
  out.set_proxies_failed(static_cast<uint32_t>(failed.timeout + failed.too_large + failed.connect +
                                               failed.bad_answer));
  for (auto& [key, s] : totals) {
    *out.add_services() = std::move(s);
  }
  out.set_collected_unix_ms(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
  if (failures != nullptr) {
    *failures = failed;
  }
  return out;
}

}  // namespace remora::control
