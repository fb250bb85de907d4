#pragma once
// Stats: counters, gauges and histograms, cheap on the hot path.
//
// Every metric has one slot per shard (one shard per worker thread, plus one for the main
// thread). A thread only ever writes its own shard, with relaxed atomic load+store (a plain
// add on x86, no lock prefix); readers sum the shards with relaxed loads. Metrics are
// registered on the main thread when config is built and referred to by handles afterwards,
// never looked up by name per request. Registering the same name and labels twice returns the
// same handle, so a config update keeps counting where the old config left off.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace remora::common {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

struct Counter {
  uint32_t slot = 0;
};
struct Gauge {
  uint32_t slot = 0;
};
struct Histogram {
  uint32_t slot = 0;  // first of kHistogramSlots consecutive slots
};

// Latency buckets in milliseconds (upper bounds), from 0.5 ms to 60 s; +Inf is implicit.
inline constexpr double kHistogramBoundsMs[] = {0.5,  1,    2,    5,     10,    25,   50,  100,
                                                250,  500,  1000, 2500,  5000,  10000, 30000, 60000};
inline constexpr size_t kHistogramBuckets = std::size(kHistogramBoundsMs) + 1;  // + the +Inf one
// Buckets, then sum (microseconds), then count.
inline constexpr size_t kHistogramSlots = kHistogramBuckets + 2;

// One thread's slots. Writes only from the owning thread.
class StatsShard {
 public:
  static constexpr size_t kChunkSlots = 4096;
  static constexpr size_t kMaxChunks = 1024;

  void add(Counter c, uint64_t n = 1) noexcept { bump(c.slot, n); }
  void add(Gauge g, int64_t n) noexcept { bump(g.slot, static_cast<uint64_t>(n)); }
  void recordMicros(Histogram h, uint64_t micros) noexcept;

  uint64_t read(uint32_t slot) const noexcept {
    const Chunk* c = chunks_[slot / kChunkSlots].load(std::memory_order_acquire);
    return c ? c->v[slot % kChunkSlots].load(std::memory_order_relaxed) : 0;
  }

 private:
  friend class StatsStore;
  struct Chunk {
    std::atomic<uint64_t> v[kChunkSlots] = {};
  };
  void bump(uint32_t slot, uint64_t n) noexcept {
    std::atomic<uint64_t>& a =
        chunks_[slot / kChunkSlots].load(std::memory_order_relaxed)->v[slot % kChunkSlots];
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::atomic<Chunk*> chunks_[kMaxChunks] = {};
  std::vector<std::unique_ptr<Chunk>> owned_;
};

struct HistogramSnapshot {
  uint64_t buckets[kHistogramBuckets] = {};  // not cumulative
  uint64_t sum_micros = 0;
  uint64_t count = 0;
  // Estimated quantile in ms (linear within the bucket).
  double quantileMs(double q) const noexcept;
};

class StatsStore {
 public:
  // `shards`: one per thread that records (workers + main).
  explicit StatsStore(size_t shards);
  StatsStore(const StatsStore&) = delete;
  StatsStore& operator=(const StatsStore&) = delete;

  // Registration: main thread only (or under the caller's own serialization).
  Counter counter(std::string_view name, const Labels& labels = {});
  Gauge gauge(std::string_view name, const Labels& labels = {});
  Histogram histogram(std::string_view name, const Labels& labels = {});

  StatsShard& shard(size_t i) noexcept { return *shards_[i]; }
  size_t shardCount() const noexcept { return shards_.size(); }

  // Reading (any thread): the sum over shards.
  uint64_t value(Counter c) const noexcept { return sum(c.slot); }
  int64_t value(Gauge g) const noexcept { return static_cast<int64_t>(sum(g.slot)); }
  HistogramSnapshot value(Histogram h) const noexcept;

  // `name{l="v",...} value` per line; histograms as _count, _sum and p50/p90/p99 lines.
  std::string renderText() const;
  // Prometheus text exposition format 0.0.4.
  std::string renderPrometheus() const;

  // Looks a metric up by name and labels (tests, admin). Returns false when absent.
  bool find(std::string_view name, const Labels& labels, MetricType* type, uint32_t* slot) const;
  // Sum of a counter or gauge by name and labels; 0 when absent.
  int64_t valueOf(std::string_view name, const Labels& labels = {}) const;

 private:
  // One registered series, kept compact because a mesh sidecar registers tens of thousands
  // (every cluster and endpoint of the mesh): the series text is the name followed by the
  // formatted labels, `remora_x_total{cluster="a"}`, which is both the index key and what the
  // text renderers print.
  struct Desc {
    std::string series;
    uint32_t name_len;
    MetricType type;
    uint32_t slot;
    std::string_view name() const noexcept { return std::string_view(series).substr(0, name_len); }
    // `{...}` or empty.
    std::string_view labels() const noexcept { return std::string_view(series).substr(name_len); }
  };
  uint32_t registerMetric(std::string_view name, const Labels& labels, MetricType type);
  uint64_t sum(uint32_t slot) const noexcept;

  mutable std::mutex mu_;  // guards descs_ / index_ against concurrent readers
  std::vector<std::unique_ptr<StatsShard>> shards_;
  std::deque<Desc> descs_;  // a deque: index_ keys point into the series strings
  std::unordered_map<std::string_view, size_t> index_;
  uint32_t next_slot_ = 0;
};

// `{a="x",b="y"}` with Prometheus escaping, or "" when no labels.
std::string formatLabels(const Labels& labels, std::string_view extra_name = {},
                         std::string_view extra_value = {});

}  // namespace remora::common
