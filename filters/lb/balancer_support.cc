#include "filters/lb/balancer_support.h"

#include <algorithm>
#include <utility>

namespace remora::filters::lb::internal {
namespace {

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t fnv1aByte(uint64_t state, uint8_t byte) noexcept {
  return (state ^ byte) * kFnvPrime;
}

// Draws by index before listing the candidates: with half the endpoints unusable, 8 misses in a
// row happen once in 256 draws.
constexpr int kRejectionDraws = 8;

}  // namespace

int lastResort(const std::vector<Host>& hosts, const PickContext& ctx) noexcept {
  if (ctx.avoid >= 0 && static_cast<size_t>(ctx.avoid) < hosts.size() &&
      isUsable(hosts[static_cast<size_t>(ctx.avoid)], ctx)) {
    return ctx.avoid;
  }
  return -1;
}

uint64_t fnv1a64(std::string_view bytes) noexcept {
  uint64_t state = kFnvOffsetBasis;
  for (char c : bytes) {
    state = fnv1aByte(state, static_cast<uint8_t>(c));
  }
  return state;
}

uint64_t mix64(uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hashKeySalted(std::string_view key, uint64_t salt) noexcept {
  uint64_t state = fnv1a64(key);
  for (int shift = 0; shift < 64; shift += 8) {  // little-endian whatever the machine
    state = fnv1aByte(state, static_cast<uint8_t>(salt >> shift));
  }
  return mix64(state);
}

uint64_t FastRandom::next() noexcept {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix64(state_);
}

CandidateSampler::CandidateSampler(const std::vector<Host>& hosts, const PickContext& ctx,
                                   FastRandom& random, std::vector<int>& scratch) noexcept
    : hosts_(hosts), ctx_(ctx), random_(random), scratch_(scratch) {
  scratch_.clear();
}

bool CandidateSampler::drawnBefore(int index) const noexcept {
  return std::find(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(drawn_), index) !=
         scratch_.begin() + static_cast<ptrdiff_t>(drawn_);
}

void CandidateSampler::listRemainingCandidates() noexcept {
  for (size_t i = 0; i < hosts_.size(); ++i) {
    int index = static_cast<int>(i);
    if (isCandidate(hosts_, index, ctx_) && !drawnBefore(index)) {
      scratch_.push_back(index);  // never beyond hosts.size(): no allocation
    }
  }
  listed_ = true;
}

int CandidateSampler::next() noexcept {
  if (hosts_.empty()) {
    return -1;
  }
  if (!listed_) {
    auto count = static_cast<uint32_t>(hosts_.size());
    for (int draw = 0; draw < kRejectionDraws; ++draw) {
      auto index = static_cast<int>(random_.below(count));
      if (isCandidate(hosts_, index, ctx_) && !drawnBefore(index)) {
        scratch_.push_back(index);
        ++drawn_;
        return index;
      }
    }
    listRemainingCandidates();
  }
  if (drawn_ == scratch_.size()) {
    return -1;
  }
  // One step of a Fisher-Yates shuffle over the listed, not yet drawn candidates.
  size_t chosen = drawn_ + random_.below(static_cast<uint32_t>(scratch_.size() - drawn_));
  std::swap(scratch_[drawn_], scratch_[chosen]);
  return scratch_[drawn_++];
}

int firstCandidateFrom(const std::vector<Host>& hosts, const PickContext& ctx,
                       std::span<const uint32_t> owners, size_t start) noexcept {
  auto candidateAt = [&](size_t position) {
    return isCandidate(hosts, static_cast<int>(owners[position]), ctx);
  };
  if (candidateAt(start)) {
    return static_cast<int>(owners[start]);
  }
  int first_by_index = -1;
  for (size_t i = 0; i < hosts.size() && first_by_index < 0; ++i) {
    if (isCandidate(hosts, static_cast<int>(i), ctx)) {
      first_by_index = static_cast<int>(i);
    }
  }
  if (first_by_index < 0) {
    return lastResort(hosts, ctx);  // spares a walk over the whole table
  }
  for (size_t step = 1; step < owners.size(); ++step) {
    size_t position = (start + step) % owners.size();
    if (candidateAt(position)) {
      return static_cast<int>(owners[position]);
    }
  }
  return first_by_index;  // a candidate that owns no position (a tiny weight in Maglev)
}

}  // namespace remora::filters::lb::internal
