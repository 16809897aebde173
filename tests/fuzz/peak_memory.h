// Peak heap tracking for a fuzz target: include this header in exactly one
// translation unit of a fuzz binary (it replaces the global operator new and
// delete), then bracket the code under test with PeakMemory::Start() and
// PeakMemory::PeakSinceStart(). Only allocations through operator new count
// (std::string, std::vector, nlohmann::json all use it); each is counted at
// its real block size (malloc_usable_size), so allocator rounding is included.
//
// Thread safety: the counters are atomics; a fuzz target runs one input at a
// time.
#pragma once

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace hfm_fuzz {

class PeakMemory {
 public:
  // Makes the bytes held now the baseline of the next PeakSinceStart().
  static void Start() {
    const size_t now = current_.load(std::memory_order_relaxed);
    baseline_.store(now, std::memory_order_relaxed);
    peak_.store(now, std::memory_order_relaxed);
  }
  // The most bytes held at once above the baseline since Start().
  static size_t PeakSinceStart() {
    return peak_.load(std::memory_order_relaxed) - baseline_.load(std::memory_order_relaxed);
  }

  static void* Allocate(size_t size) {
    void* p = std::malloc(size == 0 ? 1 : size);
    if (p == nullptr) throw std::bad_alloc();
    const size_t now = current_.fetch_add(malloc_usable_size(p), std::memory_order_relaxed) + malloc_usable_size(p);
    size_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return p;
  }
  static void Free(void* p) {
    if (p == nullptr) return;
    current_.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
    std::free(p);
  }

 private:
  static inline std::atomic<size_t> current_{0};
  static inline std::atomic<size_t> baseline_{0};
  static inline std::atomic<size_t> peak_{0};
};

}  // namespace hfm_fuzz

void* operator new(size_t size) { return hfm_fuzz::PeakMemory::Allocate(size); }
void* operator new[](size_t size) { return hfm_fuzz::PeakMemory::Allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return hfm_fuzz::PeakMemory::Allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p) noexcept { hfm_fuzz::PeakMemory::Free(p); }
void operator delete[](void* p) noexcept { hfm_fuzz::PeakMemory::Free(p); }
void operator delete(void* p, size_t) noexcept { hfm_fuzz::PeakMemory::Free(p); }
void operator delete[](void* p, size_t) noexcept { hfm_fuzz::PeakMemory::Free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { hfm_fuzz::PeakMemory::Free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { hfm_fuzz::PeakMemory::Free(p); }
