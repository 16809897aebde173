// The heap glibc has handed out and not had back, for tests that bound what
// a structure holds. Sanitizers bring their own allocator, which mallinfo2
// does not see: such tests skip there (scripts/sanitize.sh sets
// HFM_SANITIZER).
#pragma once

#include <malloc.h>

#include <cstdint>
#include <cstdlib>

namespace hfm::testing {

// Blocks from the heap and big ones mapped alone.
inline uint64_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// False where HeapInUse() means nothing (under a sanitizer's allocator).
inline bool HeapIsMeasurable() { return std::getenv("HFM_SANITIZER") == nullptr; }

}  // namespace hfm::testing
