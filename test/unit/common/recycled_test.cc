// The per-thread memory kept for reuse (common/recycled.h) and the nghttp2 allocator built on
// it: what is kept, what goes back to the heap, and that reuse never loses or mixes up bytes.
// Under ASan nothing is kept (REMORA_RECYCLE is 0), and the expectations say so.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/http2/allocator.h"
#include "common/recycled.h"

namespace remora::common {
namespace {

TEST(SpareList, AGivenBufferGoesToTheNextTakerEmptyWithItsCapacity) {
  std::string a(1000, 'x');
  const char* storage = a.data();
  SpareList<std::string>::give(a);
  EXPECT_TRUE(a.empty());
  std::string b;
  SpareList<std::string>::take(b);
  EXPECT_TRUE(b.empty());
#if REMORA_RECYCLE
  EXPECT_EQ(b.data(), storage);
  EXPECT_GE(b.capacity(), 1000u);
#else
  (void)storage;
  EXPECT_LT(b.capacity(), 1000u);
#endif
}

TEST(SpareList, AnOutsizedBufferGoesBackToTheHeap) {
  std::string big(SpareList<std::string>::kKeepBytesUpTo + 1, 'x');
  SpareList<std::string>::give(big);
  EXPECT_EQ(big.capacity(), std::string().capacity());
  std::string next;
  SpareList<std::string>::take(next);
  EXPECT_LE(next.capacity(), SpareList<std::string>::kKeepBytesUpTo);
}

TEST(SpareList, ABufferWithStorageIsNotReplaced) {
  std::string spare(100, 's');
  SpareList<std::string>::give(spare);
  std::string own(500, 'o');
  const char* storage = own.data();
  SpareList<std::string>::take(own);
  EXPECT_EQ(own.data(), storage);
  EXPECT_EQ(own, std::string(500, 'o'));
  std::string drain;
  SpareList<std::string>::take(drain);  // (leaves the list as other tests expect it)
}

TEST(Http2Allocator, BlocksOfEverySizeHoldTheirBytesThroughReuse) {
  nghttp2_mem* mem = http2::recyclingAllocator();
  std::vector<void*> blocks;
  for (size_t size : {1u, 63u, 64u, 65u, 500u, 1024u, 1025u, 70000u}) {
    auto* p = static_cast<unsigned char*>(mem->malloc(size, mem->mem_user_data));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
    std::memset(p, static_cast<int>(size & 0xff), size);
    blocks.push_back(p);
  }
  size_t i = 0;
  for (size_t size : {1u, 63u, 64u, 65u, 500u, 1024u, 1025u, 70000u}) {
    auto* p = static_cast<unsigned char*>(blocks[i++]);
    EXPECT_EQ(p[0], size & 0xff);
    EXPECT_EQ(p[size - 1], size & 0xff);
    mem->free(p, mem->mem_user_data);
  }
  // A freed block comes back zeroed from calloc.
  for (int round = 0; round < 2; ++round) {
    auto* z = static_cast<unsigned char*>(mem->calloc(10, 50, mem->mem_user_data));
    ASSERT_NE(z, nullptr);
    for (size_t k = 0; k < 500; ++k) {
      ASSERT_EQ(z[k], 0) << k;
    }
    std::memset(z, 0xab, 500);
    mem->free(z, mem->mem_user_data);
  }
  EXPECT_EQ(mem->calloc(SIZE_MAX / 2, 4, mem->mem_user_data), nullptr);  // overflow
  mem->free(nullptr, mem->mem_user_data);
}

TEST(Http2Allocator, ReallocKeepsTheBytesAcrossClassesAndIntoTheHeap) {
  nghttp2_mem* mem = http2::recyclingAllocator();
  auto* p = static_cast<char*>(mem->realloc(nullptr, 40, mem->mem_user_data));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "0123456789012345678901234567890123456789", 40);
  EXPECT_EQ(mem->realloc(p, 60, mem->mem_user_data), p);  // still fits its 64-byte class
  for (size_t size : {200u, 1024u, 5000u, 100000u}) {
    p = static_cast<char*>(mem->realloc(p, size, mem->mem_user_data));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(std::string(p, 40), "0123456789012345678901234567890123456789") << size;
  }
  EXPECT_EQ(mem->realloc(p, 0, mem->mem_user_data), nullptr);  // frees it
}

}  // namespace
}  // namespace remora::common
