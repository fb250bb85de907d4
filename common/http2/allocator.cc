#include "common/http2/allocator.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/recycled.h"

namespace remora::http2 {

namespace {

// Every block starts with this header (16 bytes, so the caller's part keeps malloc's
// alignment): the size class, or kFromMalloc and the size asked for.
struct alignas(16) BlockHeader {
  uint32_t size_class;
  uint32_t unused;
  size_t size;  // capacity of the caller's part
};
static_assert(sizeof(BlockHeader) == 16);

constexpr uint32_t kFromMalloc = 0xffffffff;
constexpr size_t kClassBytes[] = {64, 128, 256, 512, kLargestRecycled};
constexpr uint32_t kClasses = sizeof(kClassBytes) / sizeof(kClassBytes[0]);
static_assert(kClasses == 5, "takeBlock and giveBlock have a case per class");
constexpr size_t kKeepPerClass = 256;

template <uint32_t kClass>
using Cache = common::BlockCache<sizeof(BlockHeader) + kClassBytes[kClass], kKeepPerClass>;

void* takeBlock(uint32_t c) {
  switch (c) {
    case 0:
      return Cache<0>::take();
    case 1:
      return Cache<1>::take();
    case 2:
      return Cache<2>::take();
    case 3:
      return Cache<3>::take();
    default:
      return Cache<4>::take();
  }
}

void giveBlock(uint32_t c, void* p) noexcept {
  switch (c) {
    case 0:
      return Cache<0>::give(p);
    case 1:
      return Cache<1>::give(p);
    case 2:
      return Cache<2>::give(p);
    case 3:
      return Cache<3>::give(p);
    default:
      return Cache<4>::give(p);
  }
}

BlockHeader* headerOf(void* ptr) noexcept {
  return reinterpret_cast<BlockHeader*>(static_cast<char*>(ptr) - sizeof(BlockHeader));
}

void* allocate(size_t size, void*) {
  BlockHeader* h;
  if (size <= kLargestRecycled) {
    uint32_t c = 0;
    while (kClassBytes[c] < size) {
      ++c;
    }
    try {
      h = static_cast<BlockHeader*>(takeBlock(c));
    } catch (...) {
      return nullptr;  // (nghttp2 answers NGHTTP2_ERR_NOMEM)
    }
    h->size_class = c;
    h->size = kClassBytes[c];
  } else {
    h = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
    if (h == nullptr) {
      return nullptr;
    }
    h->size_class = kFromMalloc;
    h->size = size;
  }
  return h + 1;
}

void release(void* ptr, void*) {
  if (ptr == nullptr) {
    return;
  }
  BlockHeader* h = headerOf(ptr);
  if (h->size_class == kFromMalloc) {
    std::free(h);
  } else {
    giveBlock(h->size_class, h);
  }
}

void* allocateZeroed(size_t n, size_t size, void* user) {
  if (size != 0 && n > SIZE_MAX / size) {
    return nullptr;
  }
  void* p = allocate(n * size, user);
  if (p != nullptr) {
    std::memset(p, 0, n * size);
  }
  return p;
}

void* reallocate(void* ptr, size_t size, void* user) {
  if (ptr == nullptr) {
    return allocate(size, user);
  }
  if (size == 0) {
    release(ptr, user);
    return nullptr;
  }
  BlockHeader* h = headerOf(ptr);
  if (size <= h->size) {
    return ptr;
  }
  void* grown = allocate(size, user);
  if (grown == nullptr) {
    return nullptr;  // (the old block stays the caller's, as with realloc)
  }
  std::memcpy(grown, ptr, h->size);
  release(ptr, user);
  return grown;
}

}  // namespace

nghttp2_mem* recyclingAllocator() noexcept {
  static nghttp2_mem mem{nullptr, allocate, release, allocateZeroed, reallocate};
  return &mem;
}

}  // namespace remora::http2
