#pragma once
// The allocator every nghttp2 session gets (nghttp2_session_*_new3). nghttp2 allocates and
// frees a dozen small blocks per stream (the stream, its outbound items, the copied header
// list, received header buffers); with many streams in flight glibc's per-thread cache (seven
// blocks a size) runs dry and each of those goes through the arena's slow path. Here blocks up
// to kLargestRecycled bytes come from per-thread lists by size class (common/recycled.h's
// BlockCache: bounded, handed back to the heap at thread exit, nothing kept under ASan); larger
// ones go to malloc. Any thread may free what another allocated.

#include <nghttp2/nghttp2.h>

#include <cstddef>

namespace remora::http2 {

inline constexpr size_t kLargestRecycled = 1024;

// The allocator (a static table; its mem_user_data is unused).
nghttp2_mem* recyclingAllocator() noexcept;

}  // namespace remora::http2
