#pragma once
// HeaderMap: the headers of one message, in arrival order, stored in one growable byte buffer
// in HTTP/1 wire form ("name: value\r\n" after one another, appended as they are parsed, so a
// split read costs no extra copy and writing the fields out is one copy per run of live ones).
// Well-known headers are classified once, when the name is complete, and found again in O(1)
// through a slot table; other names are found by a case-insensitive scan.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace remora::common {

// Headers the proxy itself reads or rewrites. Order is irrelevant; kCount must stay last.
enum class Wk : uint8_t {
  kNone,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kUpgrade,
  kTe,
  kTrailer,
  kExpect,
  kXRequestId,
  kTraceparent,
  kXForwardedFor,
  kXForwardedProto,
  kXRemoraAttempt,    // the proxy's own: set per try, never passed on from a client
  kXRemoraOrigProto,  // the proxy's own: an HTTP/1 request carried over HTTP/2 between sidecars
  kCount,
};

// Classifies a header name (any case). Cheap: a switch on length, then a compare of whole
// 8-byte words against the lowercase name with the letters' case bit masked.
Wk classifyHeader(std::string_view name) noexcept;

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;

class HeaderMap {
 public:
  struct Entry {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t value_off;
    uint32_t value_len;
    Wk wk;
    bool removed;
  };

  HeaderMap() = default;
  HeaderMap(const HeaderMap&) = default;
  HeaderMap(HeaderMap&&) noexcept = default;
  HeaderMap& operator=(const HeaderMap&) = default;
  HeaderMap& operator=(HeaderMap&&) noexcept = default;
  // Gives the storage to this thread's spare buffers (as release()): a map that dies with its
  // stream (an HTTP/2 head) hands it to the next one, which takes it on its first add().
  ~HeaderMap();

  // Drops every header; keeps the capacity for the next message on the connection.
  void clear() noexcept;
  // Drops every header and gives the storage to this thread's spare buffers (common/recycled.h)
  // for the next map that fills: an idle connection's maps then hold no memory.
  void release() noexcept;
  // An empty map without storage takes spare buffers, if the thread has some.
  void reuseSpare() noexcept;

  void add(std::string_view name, std::string_view value);
  // Replaces every header of this name with one entry (appended when absent).
  void set(std::string_view name, std::string_view value);
  // Marks every header of this name removed. Returns how many were removed. A well-known name
  // costs O(1) when absent (its slot), any other name a scan.
  int remove(std::string_view name) noexcept;
  int remove(Wk wk) noexcept;

  // First value of the header, or empty when absent (use has() to tell "" from absent).
  // Well-known names are looked up by their slot.
  std::string_view get(std::string_view name) const noexcept;
  std::string_view get(Wk wk) const noexcept;
  bool has(Wk wk) const noexcept { return slot_[static_cast<size_t>(wk)] != kNoSlot; }
  // How many live entries have this class (e.g. to reject a duplicated Host).
  int count(Wk wk) const noexcept;
  bool has(std::string_view name) const noexcept;

  // Live (not removed) headers, in order.
  size_t size() const noexcept { return live_; }
  template <typename F>
  void forEach(F&& f) const {
    for (const Entry& e : entries_) {
      if (!e.removed) {
        f(nameOf(e), valueOf(e));
      }
    }
  }
  std::string_view nameOf(const Entry& e) const noexcept {
    return {buf_.data() + e.name_off, e.name_len};
  }
  std::string_view valueOf(const Entry& e) const noexcept {
    return {buf_.data() + e.value_off, e.value_len};
  }
  const std::vector<Entry>& entries() const noexcept { return entries_; }

  // Appends the live fields as HTTP/1 field lines ("name: value\r\n" each, in order).
  void appendWire(std::string& out) const;

  // Incremental building, used by the parser: append name pieces, then value pieces.
  void appendNamePiece(std::string_view piece);
  void appendValuePiece(std::string_view piece);
  // Finishes the entry being built. Returns its Wk class.
  Wk finishEntry();
  // Bytes held by names, values and their separators (0: nothing added since clear()).
  size_t byteSize() const noexcept { return buf_.size(); }

 private:
  static constexpr uint16_t kNoSlot = 0xffff;
  void indexEntry(size_t i) noexcept;
  void reindex() noexcept;

  std::string buf_;
  std::vector<Entry> entries_;
  std::array<uint16_t, static_cast<size_t>(Wk::kCount)> slot_ = initialSlots();
  size_t live_ = 0;
  // Parser building state: offset where the current name / value started.
  uint32_t building_name_off_ = 0;
  uint32_t building_name_len_ = 0;
  uint32_t building_value_off_ = 0;
  bool building_value_ = false;

  static constexpr std::array<uint16_t, static_cast<size_t>(Wk::kCount)> initialSlots() {
    std::array<uint16_t, static_cast<size_t>(Wk::kCount)> a{};
    for (auto& s : a) {
      s = kNoSlot;
    }
    return a;
  }
};

}  // namespace remora::common
