// MAGLEV: Google's Maglev lookup table (NSDI '16). Each endpoint has a permutation of the table's
// positions, from an offset and a skip that are two independent hashes of its key; the endpoints
// take turns claiming the next free position of their permutation until the table is full. A
// request goes to the owner of position hash % size. Weights are honoured by weighted turns: an
// endpoint claims a position in a round when its accumulated weight reaches the largest weight,
// so the positions split in proportion to the weights.
//
// The table size is a prime (options.maglev_table_size, or the next prime at or above it and at
// or above the number of endpoints), which makes every skip walk the whole table.

#include <algorithm>
#include <limits>
#include <utility>

#include "filters/lb/balancer_support.h"

namespace remora::filters::lb::internal {
namespace {

constexpr uint64_t kOffsetSalt = 0x4f6666736574ULL;  // "Offset"
constexpr uint64_t kSkipSalt = 0x536b6970ULL;        // "Skip"
constexpr uint32_t kFree = std::numeric_limits<uint32_t>::max();

struct MaglevTable {
  std::vector<uint32_t> owners;  // one endpoint index per position

  size_t start(uint64_t hash) const noexcept { return static_cast<size_t>(hash % owners.size()); }
};

bool isPrime(uint64_t n) noexcept {
  if (n < 2) {
    return false;
  }
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) {
      return false;
    }
  }
  return true;
}

uint64_t primeAtOrAbove(uint64_t n) noexcept {
  while (!isPrime(n)) {
    ++n;
  }
  return n;
}

MaglevTable buildTable(const std::vector<Host>& hosts, const Options& options) {
  MaglevTable table;
  if (hosts.empty()) {
    return table;
  }
  const uint64_t size = primeAtOrAbove(std::max<uint64_t>(options.maglev_table_size, hosts.size()));
  // Per endpoint: where its permutation is, its step, and the weight it has accumulated.
  std::vector<uint64_t> position(hosts.size());
  std::vector<uint64_t> skip(hosts.size());
  std::vector<uint64_t> credit(hosts.size(), 0);
  uint64_t max_weight = 0;
  for (size_t i = 0; i < hosts.size(); ++i) {
    position[i] = hashKeySalted(hosts[i].key, kOffsetSalt) % size;
    skip[i] = size == 1 ? 1 : hashKeySalted(hosts[i].key, kSkipSalt) % (size - 1) + 1;
    max_weight = std::max<uint64_t>(max_weight, effectiveWeight(hosts[i]));
  }
  table.owners.assign(size, kFree);
  uint64_t filled = 0;
  while (filled < size) {  // a round: the heaviest endpoints claim a position every round
    for (size_t i = 0; i < hosts.size() && filled < size; ++i) {
      credit[i] += effectiveWeight(hosts[i]);
      if (credit[i] < max_weight) {
        continue;
      }
      credit[i] -= max_weight;
      while (table.owners[position[i]] != kFree) {
        position[i] = (position[i] + skip[i]) % size;
      }
      table.owners[position[i]] = static_cast<uint32_t>(i);
      ++filled;
    }
  }
  return table;
}

}  // namespace

std::shared_ptr<const LoadBalancerFactory> makeMaglevFactory(std::vector<Host> hosts,
                                                             const Options& options) {
  MaglevTable table = buildTable(hosts, options);
  return makeFactory<ConsistentHashBalancer<MaglevTable>>(Policy::kMaglev, std::move(hosts),
                                                          options, std::move(table));
}

}  // namespace remora::filters::lb::internal
