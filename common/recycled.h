#pragma once
// Memory blocks kept per thread for the next object of the same size, so that an object made
// per request (a stream, a try, a timer handle) costs no malloc once the thread is warm.
// Objects are still constructed and destroyed as usual: only their memory is reused.
//
//   BlockCache<N>: take() a block of N bytes, give() it back (at most kKeep kept per thread,
//                  the rest go back to the heap).
//   Recycled<T>:   a base class whose operator new / delete use BlockCache<sizeof(T)>.
//                  class ActiveStream final : public common::Recycled<ActiveStream>, ... {};
//   SpareList<T>:  the storage of growable buffers (std::string, std::vector): an object that
//                  goes idle give()s its buffers, the next one to fill take()s them, so an idle
//                  keep-alive connection holds none and a busy thread still allocates none.
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

template <typename T, size_t kKeep = 256>
class SpareList {
 public:
  // Buffers larger than this go back to the heap: one outsized message (a hostile head just
  // under its limit) must not stay held by the thread after it is gone.
  static constexpr size_t kKeepBytesUpTo = 16 * 1024;

  // Leaves `v` empty and without storage; keeps that storage when the thread has room and it
  // is no larger than kKeepBytesUpTo.
  static void give(T& v) noexcept {
    if (v.capacity() <= T().capacity()) {
      return;  // nothing allocated (e.g. a short string in place)
    }
#if REMORA_RECYCLE
    List& l = list();
    if (!l.gone && l.items.size() < kKeep &&
        v.capacity() * sizeof(typename T::value_type) <= kKeepBytesUpTo) {
      l.items.push_back(std::move(v));
      v.clear();  // (moved-from: valid, unspecified; in practice already empty)
      return;
    }
#endif
    T().swap(v);
  }

  // An empty `v` without storage takes a kept one (unchanged when there is none).
  static void take(T& v) noexcept {
#if REMORA_RECYCLE
    if (v.capacity() > T().capacity()) {
      return;
    }
    List& l = list();
    if (!l.items.empty()) {
      v.swap(l.items.back());
      l.items.pop_back();
      v.clear();
    }
#else
    (void)v;
#endif
  }

 private:
  struct List {
    std::vector<T> items;
    bool gone = false;  // the thread is exiting: nothing more is kept
    List() { items.reserve(kKeep); }
    ~List() { gone = true; }
  };
  static List& list() {
    thread_local List l;
    return l;
  }
};

}  // namespace remora::common
