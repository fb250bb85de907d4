#include "common/stats.h"

#include <cstdio>

namespace remora::common {

void StatsShard::recordMicros(Histogram h, uint64_t micros) noexcept {
  double ms = static_cast<double>(micros) / 1000.0;
  size_t b = 0;
  while (b < std::size(kHistogramBoundsMs) && ms > kHistogramBoundsMs[b]) {
    ++b;
  }
  bump(h.slot + static_cast<uint32_t>(b), 1);
  bump(h.slot + kHistogramBuckets, micros);
  bump(h.slot + kHistogramBuckets + 1, 1);
}

double HistogramSnapshot::quantileMs(double q) const noexcept {
  if (count == 0) {
    return 0;
  }
  double rank = q * static_cast<double>(count);
  double seen = 0;
  for (size_t b = 0; b < kHistogramBuckets; ++b) {
    double n = static_cast<double>(buckets[b]);
    if (seen + n >= rank && n > 0) {
      double lo = b == 0 ? 0 : kHistogramBoundsMs[b - 1];
      double hi = b < std::size(kHistogramBoundsMs) ? kHistogramBoundsMs[b] : lo * 2;
      return lo + (hi - lo) * ((rank - seen) / n);
    }
    seen += n;
  }
  return kHistogramBoundsMs[std::size(kHistogramBoundsMs) - 1];
}

StatsStore::StatsStore(size_t shards) {
  for (size_t i = 0; i < shards; ++i) {
    shards_.push_back(std::make_unique<StatsShard>());
  }
}

uint32_t StatsStore::registerMetric(std::string_view name, const Labels& labels, MetricType type) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string series = std::string(name) + formatLabels(labels);
  auto it = index_.find(series);
  if (it != index_.end()) {
    return descs_[it->second].slot;
  }
  uint32_t width = type == MetricType::kHistogram ? kHistogramSlots : 1;
  // Keep a histogram inside one chunk.
  if (next_slot_ / StatsShard::kChunkSlots != (next_slot_ + width - 1) / StatsShard::kChunkSlots) {
    next_slot_ = static_cast<uint32_t>((next_slot_ / StatsShard::kChunkSlots + 1) *
                                       StatsShard::kChunkSlots);
  }
  uint32_t slot = next_slot_;
  next_slot_ += width;
  size_t chunk = (next_slot_ - 1) / StatsShard::kChunkSlots;
  for (auto& s : shards_) {
    for (size_t c = 0; c <= chunk && c < StatsShard::kMaxChunks; ++c) {
      if (s->chunks_[c].load(std::memory_order_relaxed) == nullptr) {
        s->owned_.push_back(std::make_unique<StatsShard::Chunk>());
        s->chunks_[c].store(s->owned_.back().get(), std::memory_order_release);
      }
    }
  }
  series.shrink_to_fit();
  descs_.push_back(Desc{std::move(series), static_cast<uint32_t>(name.size()), type, slot});
  index_.emplace(descs_.back().series, descs_.size() - 1);
  return slot;
}

Counter StatsStore::counter(std::string_view name, const Labels& labels) {
  return Counter{registerMetric(name, labels, MetricType::kCounter)};
}
Gauge StatsStore::gauge(std::string_view name, const Labels& labels) {
  return Gauge{registerMetric(name, labels, MetricType::kGauge)};
}
Histogram StatsStore::histogram(std::string_view name, const Labels& labels) {
  return Histogram{registerMetric(name, labels, MetricType::kHistogram)};
}

uint64_t StatsStore::sum(uint32_t slot) const noexcept {
  uint64_t total = 0;
  for (const auto& s : shards_) {
    total += s->read(slot);
  }
  return total;
}

HistogramSnapshot StatsStore::value(Histogram h) const noexcept {
  HistogramSnapshot snap;
  for (size_t b = 0; b < kHistogramBuckets; ++b) {
    snap.buckets[b] = sum(h.slot + static_cast<uint32_t>(b));
  }
  snap.sum_micros = sum(h.slot + kHistogramBuckets);
  snap.count = sum(h.slot + kHistogramBuckets + 1);
  return snap;
}

bool StatsStore::find(std::string_view name, const Labels& labels, MetricType* type,
                      uint32_t* slot) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(std::string(name) + formatLabels(labels));
  if (it == index_.end()) {
    return false;
  }
  *type = descs_[it->second].type;
  *slot = descs_[it->second].slot;
  return true;
}

int64_t StatsStore::valueOf(std::string_view name, const Labels& labels) const {
  MetricType type;
  uint32_t slot;
  if (!find(name, labels, &type, &slot) || type == MetricType::kHistogram) {
    return 0;
  }
  return static_cast<int64_t>(sum(slot));
}

namespace {
void appendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

std::string formatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}
}  // namespace

std::string formatLabels(const Labels& labels, std::string_view extra_name,
                         std::string_view extra_value) {
  if (labels.empty() && extra_name.empty()) {
    return {};
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [n, v] : labels) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append(n);
    out.append("=\"");
    appendEscaped(out, v);
    out.push_back('"');
  }
  if (!extra_name.empty()) {
    if (!first) {
      out.push_back(',');
    }
    out.append(extra_name);
    out.append("=\"");
    appendEscaped(out, extra_value);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

namespace {
// `labels` (`{a="x"}` or empty) with one more label appended: `{a="x",extra="v"}`.
std::string withExtraLabel(std::string_view labels, std::string_view name, std::string_view value) {
  std::string out;
  if (labels.empty()) {
    out = "{";
  } else {
    out.assign(labels.substr(0, labels.size() - 1));
    out.push_back(',');
  }
  out.append(name);
  out.append("=\"");
  appendEscaped(out, value);
  out.append("\"}");
  return out;
}
}  // namespace

std::string StatsStore::renderText() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const Desc& d : descs_) {
    if (d.type == MetricType::kHistogram) {
      HistogramSnapshot s = value(Histogram{d.slot});
      std::string name(d.name());
      std::string_view l = d.labels();
      out += name + "_count";
      out += l;
      out += " " + std::to_string(s.count) + "\n";
      out += name + "_sum";
      out += l;
      out += " " + formatDouble(static_cast<double>(s.sum_micros) / 1000.0) + "\n";
      for (double q : {0.5, 0.9, 0.99}) {
        out += name + withExtraLabel(l, "quantile", formatDouble(q)) + " " +
               formatDouble(s.quantileMs(q)) + "\n";
      }
    } else {
      uint64_t v = sum(d.slot);
      std::string value = d.type == MetricType::kGauge ? std::to_string(static_cast<int64_t>(v))
                                                       : std::to_string(v);
      out += d.series + " " + value + "\n";
    }
  }
  return out;
}

std::string StatsStore::renderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  // Group by family name, in first-registration order, so each family's TYPE line is unique.
  std::vector<std::string_view> order;
  std::unordered_map<std::string_view, std::vector<const Desc*>> families;
  for (const Desc& d : descs_) {
    auto& f = families[d.name()];
    if (f.empty()) {
      order.push_back(d.name());
    }
    f.push_back(&d);
  }
  std::string out;
  for (std::string_view family : order) {
    const auto& members = families[family];
    const std::string name(family);
    out += "# TYPE " + name + " " + typeName(members.front()->type) + "\n";
    for (const Desc* d : members) {
      if (d->type == MetricType::kHistogram) {
        HistogramSnapshot s = value(Histogram{d->slot});
        uint64_t cumulative = 0;
        for (size_t b = 0; b < kHistogramBuckets; ++b) {
          cumulative += s.buckets[b];
          std::string le =
              b < std::size(kHistogramBoundsMs) ? formatDouble(kHistogramBoundsMs[b]) : "+Inf";
          out += name + "_bucket" + withExtraLabel(d->labels(), "le", le) + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += name + "_sum";
        out += d->labels();
        out += " " + formatDouble(static_cast<double>(s.sum_micros) / 1000.0) + "\n";
        out += name + "_count";
        out += d->labels();
        out += " " + std::to_string(s.count) + "\n";
      } else {
        uint64_t v = sum(d->slot);
        std::string value = d->type == MetricType::kGauge
                                ? std::to_string(static_cast<int64_t>(v))
                                : std::to_string(v);
        out += d->series + " " + value + "\n";
      }
    }
  }
  return out;
}

}  // namespace remora::common
