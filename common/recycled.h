#pragma once
// Memory blocks kept per thread for the next object of the same size, so that an object made
// per request (a stream, a try, a timer handle) costs no malloc once the thread is warm.
// Objects are still constructed and destroyed as usual: only their memory is reused.
//
//   BlockCache<N>: take() a block of N bytes, give() it back (at most kKeep kept per thread,
//                  the rest go back to the heap).
//   Recycled<T>:   a base class whose operator new / delete use BlockCache<sizeof(T)>.
//                  class ActiveStream final : public common::Recycled<ActiveStream>, ... {};
//
// Under AddressSanitizer nothing is kept (every block goes back to the heap), so a use after
// free is still caught.

#include <cstddef>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define REMORA_RECYCLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REMORA_RECYCLE 0
#endif
#endif
#ifndef REMORA_RECYCLE
#define REMORA_RECYCLE 1
#endif

namespace remora::common {

template <size_t kSize, size_t kKeep = 256>
class BlockCache {
 public:
  static void* take() {
#if REMORA_RECYCLE
    std::vector<void*>& list = blocks().free;
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      return p;
    }
#endif
    return ::operator new(kSize);
  }

  static void give(void* p) noexcept {
#if REMORA_RECYCLE
    Blocks& b = blocks();
    if (!b.gone && b.free.size() < kKeep) {
      b.free.push_back(p);
      return;
    }
#endif
    ::operator delete(p);
  }

 private:
  struct Blocks {
    std::vector<void*> free;
    bool gone = false;  // the thread is exiting: nothing more is kept
    Blocks() { free.reserve(kKeep); }
    ~Blocks() {
      gone = true;
      for (void* p : free) {
        ::operator delete(p);
      }
      free.clear();
    }
  };
  static Blocks& blocks() {
    thread_local Blocks b;
    return b;
  }
};

template <typename T, size_t kKeep = 256>
class Recycled {
 public:
  static void* operator new(size_t size) {
    return size == sizeof(T) ? BlockCache<sizeof(T), kKeep>::take() : ::operator new(size);
  }
  static void operator delete(void* p, size_t size) noexcept {
    if (size == sizeof(T)) {
      BlockCache<sizeof(T), kKeep>::give(p);
    } else {
      ::operator delete(p);
    }
  }
};

}  // namespace remora::common
