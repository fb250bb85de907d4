#include "common/header_map.h"

#include "common/recycled.h"

#include <strings.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace remora::common {

namespace {
inline char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

namespace {

static_assert(std::endian::native == std::endian::little, "the name words are built little-endian");

// A lowercase header name as whole 8-byte words (the last one overlapping the one before it;
// a name shorter than 8 bytes is one partial word), with the case bit of each letter in `fold`:
// (input word | fold) == word holds exactly when the input is the name in any case, because
// only letters differ in that bit between cases and the other bytes are compared as they are.
template <size_t N>
struct LowerName {
  static constexpr size_t kLen = N - 1;
  static constexpr size_t kWords = kLen <= 8 ? 1 : (kLen + 7) / 8;
  static constexpr size_t offset(size_t w) { return kLen <= 8 ? 0 : std::min(w * 8, kLen - 8); }
  static constexpr size_t loadSize() { return kLen < 8 ? kLen : 8; }

  uint64_t word[kWords]{};
  uint64_t fold[kWords]{};

  constexpr LowerName(const char (&s)[N]) {  // NOLINT: implicit from a literal on purpose
    for (size_t w = 0; w < kWords; ++w) {
      for (size_t b = 0; b < loadSize(); ++b) {
        auto c = static_cast<uint8_t>(s[offset(w) + b]);
        word[w] |= static_cast<uint64_t>(c) << (8 * b);
        if (c >= 'a' && c <= 'z') {
          fold[w] |= uint64_t{0x20} << (8 * b);
        }
      }
    }
  }
};

// True when the n.size() == kLen bytes at n are `Name` in any case.
template <LowerName Name>
inline bool is(std::string_view n) noexcept {
  uint64_t diff = 0;
  for (size_t w = 0; w < Name.kWords; ++w) {
    uint64_t v = 0;
    std::memcpy(&v, n.data() + Name.offset(w), Name.loadSize());
    diff |= (v | Name.fold[w]) ^ Name.word[w];
  }
  return diff == 0;
}

}  // namespace

Wk classifyHeader(std::string_view n) noexcept {
  switch (n.size()) {
    case 2:
      return is<"te">(n) ? Wk::kTe : Wk::kNone;
    case 4:
      return is<"host">(n) ? Wk::kHost : Wk::kNone;
    case 6:
      return is<"expect">(n) ? Wk::kExpect : Wk::kNone;
    case 7:
      if (is<"upgrade">(n)) {
        return Wk::kUpgrade;
      }
      return is<"trailer">(n) ? Wk::kTrailer : Wk::kNone;
    case 10:
      if (is<"connection">(n)) {
        return Wk::kConnection;
      }
      return is<"keep-alive">(n) ? Wk::kKeepAlive : Wk::kNone;
    case 11:
      return is<"traceparent">(n) ? Wk::kTraceparent : Wk::kNone;
    case 12:
      return is<"x-request-id">(n) ? Wk::kXRequestId : Wk::kNone;
    case 14:
      return is<"content-length">(n) ? Wk::kContentLength : Wk::kNone;
    case 15:
      return is<"x-forwarded-for">(n) ? Wk::kXForwardedFor : Wk::kNone;
    case 16:
      if (is<"proxy-connection">(n)) {
        return Wk::kProxyConnection;
      }
      return is<"x-remora-attempt">(n) ? Wk::kXRemoraAttempt : Wk::kNone;
    case 17:
      if (is<"transfer-encoding">(n)) {
        return Wk::kTransferEncoding;
      }
      return is<"x-forwarded-proto">(n) ? Wk::kXForwardedProto : Wk::kNone;
    case 19:
      return is<"x-remora-orig-proto">(n) ? Wk::kXRemoraOrigProto : Wk::kNone;
    default:
      return Wk::kNone;
  }
}

void HeaderMap::clear() noexcept {
  buf_.clear();
  entries_.clear();
  slot_ = initialSlots();
  live_ = 0;
  building_name_off_ = 0;
  building_name_len_ = 0;
  building_value_off_ = 0;
  building_value_ = false;
}

HeaderMap::~HeaderMap() {
  SpareList<std::string>::give(buf_);
  SpareList<std::vector<Entry>>::give(entries_);
}

void HeaderMap::release() noexcept {
  clear();
  SpareList<std::string>::give(buf_);
  SpareList<std::vector<Entry>>::give(entries_);
}

void HeaderMap::reuseSpare() noexcept {
  SpareList<std::string>::take(buf_);
  SpareList<std::vector<Entry>>::take(entries_);
}

void HeaderMap::indexEntry(size_t i) noexcept {
  const Entry& e = entries_[i];
  auto& s = slot_[static_cast<size_t>(e.wk)];
  if (e.wk != Wk::kNone && s == kNoSlot && i < kNoSlot) {
    s = static_cast<uint16_t>(i);
  }
}

void HeaderMap::reindex() noexcept {
  slot_ = initialSlots();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!entries_[i].removed) {
      indexEntry(i);
    }
  }
}

void HeaderMap::add(std::string_view name, std::string_view value) {
  if (entries_.capacity() == 0) {
    reuseSpare();  // (a new map: no growing from nothing, one reallocation at a time)
  }
  Entry e{};
  size_t at = buf_.size();
  buf_.resize(at + name.size() + value.size() + 4);
  char* p = buf_.data() + at;
  std::memcpy(p, name.data(), name.size());
  std::memcpy(p + name.size(), ": ", 2);
  std::memcpy(p + name.size() + 2, value.data(), value.size());
  std::memcpy(p + name.size() + 2 + value.size(), "\r\n", 2);
  e.name_off = static_cast<uint32_t>(at);
  e.name_len = static_cast<uint32_t>(name.size());
  e.value_off = static_cast<uint32_t>(at + name.size() + 2);
  e.value_len = static_cast<uint32_t>(value.size());
  e.wk = classifyHeader(name);
  e.removed = false;
  entries_.push_back(e);
  indexEntry(entries_.size() - 1);
  ++live_;
}

void HeaderMap::appendWire(std::string& out) const {
  // Runs of live entries lie back to back in buf_: one copy per run, usually one in all.
  size_t run_start = 0;
  size_t run_end = 0;
  for (const Entry& e : entries_) {
    if (e.removed) {
      continue;
    }
    size_t end = size_t{e.value_off} + e.value_len + 2;
    if (e.name_off != run_end) {
      out.append(buf_.data() + run_start, run_end - run_start);
      run_start = e.name_off;
    }
    run_end = end;
  }
  out.append(buf_.data() + run_start, run_end - run_start);
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

int HeaderMap::remove(std::string_view name) noexcept {
  if (Wk wk = classifyHeader(name); wk != Wk::kNone) {
    return remove(wk);
  }
  int n = 0;
  for (Entry& e : entries_) {
    if (!e.removed && equalsIgnoreCase(nameOf(e), name)) {
      e.removed = true;
      ++n;
    }
  }
  if (n > 0) {
    live_ -= static_cast<size_t>(n);
    reindex();
  }
  return n;
}

int HeaderMap::remove(Wk wk) noexcept {
  if (!has(wk)) {
    return 0;
  }
  int n = 0;
  for (Entry& e : entries_) {
    if (!e.removed && e.wk == wk) {
      e.removed = true;
      ++n;
    }
  }
  live_ -= static_cast<size_t>(n);
  slot_[static_cast<size_t>(wk)] = kNoSlot;
  return n;
}

std::string_view HeaderMap::get(std::string_view name) const noexcept {
  if (Wk wk = classifyHeader(name); wk != Wk::kNone) {
    return get(wk);
  }
  for (const Entry& e : entries_) {
    if (!e.removed && equalsIgnoreCase(nameOf(e), name)) {
      return valueOf(e);
    }
  }
  return {};
}

int HeaderMap::count(Wk wk) const noexcept {
  if (!has(wk)) {
    return 0;
  }
  int n = 0;
  for (const Entry& e : entries_) {
    n += (!e.removed && e.wk == wk) ? 1 : 0;
  }
  return n;
}

bool HeaderMap::has(std::string_view name) const noexcept {
  if (Wk wk = classifyHeader(name); wk != Wk::kNone) {
    return has(wk);
  }
  for (const Entry& e : entries_) {
    if (!e.removed && equalsIgnoreCase(nameOf(e), name)) {
      return true;
    }
  }
  return false;
}

std::string_view HeaderMap::get(Wk wk) const noexcept {
  uint16_t s = slot_[static_cast<size_t>(wk)];
  return s == kNoSlot ? std::string_view{} : valueOf(entries_[s]);
}

void HeaderMap::appendNamePiece(std::string_view piece) {
  if (building_name_len_ == 0 && !building_value_) {
    building_name_off_ = static_cast<uint32_t>(buf_.size());
  }
  buf_.append(piece);
  building_name_len_ += static_cast<uint32_t>(piece.size());
}

void HeaderMap::appendValuePiece(std::string_view piece) {
  if (!building_value_) {
    building_value_ = true;
    buf_.append(": ");
    building_value_off_ = static_cast<uint32_t>(buf_.size());
  }
  buf_.append(piece);
}

Wk HeaderMap::finishEntry() {
  if (!building_value_) {
    buf_.append(": ");  // an empty value
    building_value_off_ = static_cast<uint32_t>(buf_.size());
  }
  Entry e{};
  e.name_off = building_name_off_;
  e.name_len = building_name_len_;
  e.value_off = building_value_off_;
  e.value_len = static_cast<uint32_t>(buf_.size()) - e.value_off;
  buf_.append("\r\n");
  e.wk = classifyHeader(nameOf(e));
  e.removed = false;
  entries_.push_back(e);
  indexEntry(entries_.size() - 1);
  ++live_;
  building_name_len_ = 0;
  building_value_ = false;
  return e.wk;
}

}  // namespace remora::common
