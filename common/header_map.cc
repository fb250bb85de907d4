#include "common/header_map.h"

#include <strings.h>

namespace remora::common {

namespace {
inline char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
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

Wk classifyHeader(std::string_view n) noexcept {
  auto is = [&](std::string_view lit) { return equalsIgnoreCase(n, lit); };
  switch (n.size()) {
    case 2:
      return is("te") ? Wk::kTe : Wk::kNone;
    case 4:
      return is("host") ? Wk::kHost : Wk::kNone;
    case 6:
      return is("expect") ? Wk::kExpect : Wk::kNone;
    case 7:
      if (is("upgrade")) {
        return Wk::kUpgrade;
      }
      return is("trailer") ? Wk::kTrailer : Wk::kNone;
    case 10:
      if (is("connection")) {
        return Wk::kConnection;
      }
      return is("keep-alive") ? Wk::kKeepAlive : Wk::kNone;
    case 11:
      return is("traceparent") ? Wk::kTraceparent : Wk::kNone;
    case 12:
      return is("x-request-id") ? Wk::kXRequestId : Wk::kNone;
    case 14:
      return is("content-length") ? Wk::kContentLength : Wk::kNone;
    case 15:
      return is("x-forwarded-for") ? Wk::kXForwardedFor : Wk::kNone;
    case 16:
      return is("proxy-connection") ? Wk::kProxyConnection : Wk::kNone;
    case 17:
      if (is("transfer-encoding")) {
        return Wk::kTransferEncoding;
      }
      return is("x-forwarded-proto") ? Wk::kXForwardedProto : Wk::kNone;
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
  Entry e{};
  e.name_off = static_cast<uint32_t>(buf_.size());
  e.name_len = static_cast<uint32_t>(name.size());
  buf_.append(name);
  e.value_off = static_cast<uint32_t>(buf_.size());
  e.value_len = static_cast<uint32_t>(value.size());
  buf_.append(value);
  e.wk = classifyHeader(name);
  e.removed = false;
  entries_.push_back(e);
  indexEntry(entries_.size() - 1);
  ++live_;
}

void HeaderMap::set(std::string_view name, std::string_view value) {
  remove(name);
  add(name, value);
}

int HeaderMap::remove(std::string_view name) noexcept {
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
    building_value_off_ = static_cast<uint32_t>(buf_.size());
  }
  buf_.append(piece);
}

Wk HeaderMap::finishEntry() {
  Entry e{};
  e.name_off = building_name_off_;
  e.name_len = building_name_len_;
  e.value_off = building_value_ ? building_value_off_ : static_cast<uint32_t>(buf_.size());
  e.value_len = static_cast<uint32_t>(buf_.size()) - e.value_off;
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
